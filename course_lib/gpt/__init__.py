"""A decoder-only Transformer (GPT), small enough to train on a CPU, and how to sample from it.

Modules (read in this order):

* :mod:`~course_lib.gpt.config`   -- :class:`GPTConfig`; the parameter count and
  training FLOPs per token in closed form.
* :mod:`~course_lib.gpt.model`    -- causal self-attention, MLP, block, :class:`GPT`
  (with the prefill / decode-step methods of a key/value cache).
* :mod:`~course_lib.gpt.loss`     -- the next-token loss, :func:`make_task` for the
  course's :class:`~course_lib.training.Trainer` (validation per token, as (sum, count) by
  :func:`token_loss_sum`), nanoGPT's AdamW settings, :func:`evaluate` without a trainer.
* :mod:`~course_lib.gpt.sampling` -- temperature, top-k, top-p, the draw.
* :mod:`~course_lib.gpt.generate` -- :func:`generate` with or without the cache;
  :func:`incremental_logits` to check the cache against the full model;
  :func:`greedy_completions` for many prompts of different lengths in one padded batch.
* :mod:`~course_lib.gpt.attention_maps` -- :func:`attention_maps`, the attention
  probabilities of every layer and head; :func:`attention_trace` adds values and outputs.
* :mod:`~course_lib.gpt.distillation` -- soft-target distillation (Hinton et al. 2015): the
  loss and a :class:`~course_lib.training.Task` that trains a student on a frozen teacher.

Training and sampling the baby GPT (random ``x`` here; windows of a text in practice)::

    model = GPT(GPTConfig(vocab_size=65, context_length=64))  # inside strategy.scope()
    task = make_task(model, make_optimizer(model, 1e-3))
    # ds: batches (x, y), token ids (B, T) each
    Trainer(task, TrainConfig(steps=2000, jit_compile=True)).fit(ds)
    tokens = generate(model, prompt, max_new_tokens=200, temperature=0.8, top_k=20)
"""

from course_lib.gpt.attention_maps import AttentionTrace, attention_maps, attention_trace
from course_lib.gpt.config import GPTConfig
from course_lib.gpt.distillation import (
    DistillationConfig,
    distillation_loss,
    distillation_terms,
    make_distillation_task,
    softened_probabilities,
)
from course_lib.gpt.generate import generate, greedy_completions, incremental_logits
from course_lib.gpt.loss import (
    evaluate,
    lm_eval_fn,
    lm_loss_fn,
    make_optimizer,
    make_task,
    next_token_loss,
    token_loss_sum,
    uniform_loss,
    weighted_next_token_loss,
)
from course_lib.gpt.model import GPT, MLP, Block, CausalSelfAttention, causal_mask, check_tokens
from course_lib.gpt.sampling import (
    apply_temperature,
    filter_logits,
    sample_next,
    top_k_filter,
    top_p_filter,
)

__all__ = [
    "GPT",
    "MLP",
    "AttentionTrace",
    "Block",
    "CausalSelfAttention",
    "DistillationConfig",
    "GPTConfig",
    "apply_temperature",
    "attention_maps",
    "attention_trace",
    "causal_mask",
    "check_tokens",
    "distillation_loss",
    "distillation_terms",
    "evaluate",
    "filter_logits",
    "generate",
    "greedy_completions",
    "incremental_logits",
    "lm_eval_fn",
    "lm_loss_fn",
    "make_distillation_task",
    "make_optimizer",
    "make_task",
    "next_token_loss",
    "sample_next",
    "softened_probabilities",
    "token_loss_sum",
    "top_k_filter",
    "top_p_filter",
    "uniform_loss",
    "weighted_next_token_loss",
]
