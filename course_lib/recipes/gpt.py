"""Recipe ``gpt``: chapter 06 part 1's character-level GPT on Shakespeare, metric validation loss.

The run of ``chapters/06_applications/01_text_generation.ipynb`` (its ``MODEL`` and ``RECIPE``
cells), per profile:

=========  ================================  =====  ======  ==========  =======  =========
profile    model (L, H, d, C, dropout)        B      steps   peak lr     warm-up  eval every
=========  ================================  =====  ======  ==========  =======  =========
ci         2, 2, 64, 64, 0.0                  32     300     2e-3        30       50
student    4, 4, 128, 64, 0.0 (nanoGPT baby)  32     1200    2e-3        100      100
full       6, 6, 384, 256, 0.2 (nanoGPT GPU)  64     5000    1e-3        100      250
=========  ================================  =====  ======  ==========  =======  =========

AdamW (``beta_2 = 0.99``, weight decay 0.1 on the matrices, global-norm clipping at 1), a
linear warm-up to the peak then a cosine decay to 10 % of it
(:func:`~course_lib.training.warmup_cosine`), batches of ``B`` random windows of ``C``
characters (:func:`~course_lib.data.lm_dataset`, ``x``, ``y`` int32 ``(B, C)``), XLA-compiled
steps, 10 steps per compiled call. The records validate on the first ``val_chars``
characters of the validation split; the metric is the mean next-character cross-entropy
over the WHOLE validation split (111,539 predicted characters), in nats per character:

.. math:: \\mathcal{L} = -\\frac{1}{M}\\sum_{t=1}^{M} \\ln p_\\theta(c_t \\mid c_{<t}).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from course_lib.recipes.base import (
    Built,
    Recipe,
    config_dict,
    current_precision,
    progress_for,
    strategy_or_default,
)
from course_lib.runtime.profiles import Profile
from course_lib.runtime.seeding import set_seed
from course_lib.runtime.validation import check_int

NAME = "gpt"
CACHE_NAME = "shakespeare_gpt"
EVAL_BATCH = 256  # windows per validation batch (the chapter's lm_eval_dataset(..., 256))


@dataclass(frozen=True)
class GPTSizes:
    """The chapter's ``MODEL`` and ``RECIPE`` for one profile.

    Attributes:
        n_layer, n_head, d_model, context_length, dropout: the :class:`~course_lib.gpt.GPTConfig`
            sizes ``L``, ``H``, ``d``, ``C`` and the dropout rate (``V`` comes from the data).
        batch_size: ``B``, windows of ``C`` characters per optimizer step (global).
        steps: optimizer steps of the run.
        learning_rate: the peak rate, reached after ``warmup_steps``.
        warmup_steps: steps of linear warm-up from 0.
        final_lr_fraction: the cosine ends at this fraction of the peak.
        weight_decay, beta_2, clipnorm: AdamW's decoupled weight decay (matrices only), its
            second-moment decay, and the global-norm clip of the gradient.
        eval_every: steps between two records (training and validation means).
        val_chars: characters of the validation split the records use (``None``: all).
    """

    n_layer: int
    n_head: int
    d_model: int
    context_length: int
    dropout: float
    batch_size: int
    steps: int
    learning_rate: float
    warmup_steps: int
    eval_every: int
    val_chars: int | None
    final_lr_fraction: float = 0.1
    weight_decay: float = 0.1
    beta_2: float = 0.99
    clipnorm: float = 1.0

    def model_config(self, vocab_size: int) -> Any:
        """The :class:`~course_lib.gpt.GPTConfig` of these sizes for ``V = vocab_size``."""
        from course_lib.gpt import GPTConfig

        return GPTConfig(
            vocab_size=vocab_size,
            n_layer=self.n_layer,
            n_head=self.n_head,
            d_model=self.d_model,
            context_length=self.context_length,
            dropout=self.dropout,
        )

    def with_steps(self, steps: int | None) -> GPTSizes:
        """These sizes for a run of ``steps`` steps (``None``: unchanged). The warm-up keeps
        its fraction of the run (``warmup * steps / self.steps``, at most ``steps - 1``), so
        the schedule has the chapter's shape over the new length."""
        if steps is None or steps == self.steps:
            return self
        steps = check_int("steps", steps, minimum=1)
        warmup = min(round(self.warmup_steps * steps / self.steps), steps - 1)
        return dataclasses.replace(self, steps=steps, warmup_steps=warmup)


def sizes(profile: Profile) -> GPTSizes:
    """The chapter's sizes in ``profile`` (cells ``MODEL`` and ``RECIPE`` of 06/01)."""
    return GPTSizes(
        **profile.pick(
            ci=dict(n_layer=2, n_head=2, d_model=64, context_length=64, dropout=0.0),
            student=dict(n_layer=4, n_head=4, d_model=128, context_length=64, dropout=0.0),
            full=dict(n_layer=6, n_head=6, d_model=384, context_length=256, dropout=0.2),
        ),
        batch_size=profile.pick(ci=32, student=32, full=64),
        steps=profile.pick(ci=300, student=1_200, full=5_000),
        learning_rate=profile.pick(ci=2e-3, student=2e-3, full=1e-3),
        warmup_steps=profile.pick(ci=30, student=100, full=100),
        eval_every=profile.pick(ci=50, student=100, full=250),
        val_chars=profile.pick(ci=16_384, student=32_768, full=None),
    )


@functools.lru_cache(maxsize=1)
def shakespeare() -> tuple[Any, np.ndarray, np.ndarray]:
    """``(tokenizer, train_ids, val_ids)``: the chapter's character tokenizer (``V = 77``)
    and the two splits of the corpus as int32 ``(N,)`` ids (read once per process)."""
    from course_lib.data import load_shakespeare
    from course_lib.text.tokenization import CharTokenizer

    corpus = load_shakespeare()
    tok = CharTokenizer.from_text(corpus.text)
    return tok, tok.encode(corpus.train), tok.encode(corpus.val)


def build(
    profile: Profile, *, strategy: Any = None, seed: int = 0, steps: int | None = None
) -> Built:
    """Seed, build the GPT (its weights created under ``strategy``), its AdamW and task, the
    endless training windows and the records' validation windows. See the module docstring
    for the run; ``steps`` overrides the number of steps."""
    from course_lib.data import lm_dataset, lm_eval_dataset
    from course_lib.gpt import GPT, make_optimizer, make_task
    from course_lib.hardware import training_flops_per_token
    from course_lib.training import TrainConfig, warmup_cosine

    seed = check_int("seed", seed, minimum=0)
    s = sizes(profile).with_steps(steps)
    strategy = strategy_or_default(strategy)
    tok, train_ids, val_ids = shakespeare()
    cfg = s.model_config(tok.vocab_size)
    set_seed(seed)
    schedule = warmup_cosine(
        s.learning_rate,
        total_steps=s.steps,
        warmup_steps=s.warmup_steps,
        final_fraction=s.final_lr_fraction,
    )
    with strategy.scope():
        model = GPT(cfg)  # weights created at once (GPT-2 initialisation)
        optimizer = make_optimizer(
            model,
            schedule,
            weight_decay=s.weight_decay,
            beta_2=s.beta_2,
            global_clipnorm=s.clipnorm,
        )
    val_curve_ids = val_ids if s.val_chars is None else val_ids[: s.val_chars]
    return Built(
        name=NAME,
        profile=profile,
        sizes=s,
        models={"gpt": model},
        task=make_task(model, optimizer),
        train_data=lm_dataset(train_ids, cfg.context_length, s.batch_size, seed=seed),
        val_data=lm_eval_dataset(val_curve_ids, cfg.context_length, EVAL_BATCH),
        train_config=TrainConfig(
            steps=s.steps,
            eval_every=s.eval_every,
            steps_per_execution=10,
            jit_compile=True,
            progress=progress_for(profile),
        ),
        items_per_batch=s.batch_size * cfg.context_length,
        unit="tokens",
        training_flops_per_item=float(training_flops_per_token(cfg.shape)),
        metric="loss",
        metric_label="val loss",
        metric_unit="nats/char",
        evaluate_fn=evaluate,
        strategy=strategy,
        seed=seed,
        steps=s.steps,
        extras={"tokenizer": tok, "config": cfg, "schedule": schedule},
    )


def evaluate(built: Built) -> dict[str, float]:
    """The chapter's metric: ``{"loss": nats/char, "bits_per_token": bits/char}``, the mean
    next-character cross-entropy over the whole validation split (``M = 111,539`` targets,
    windows of ``C`` from :func:`~course_lib.data.lm_eval_dataset`, padding weighted 0)."""
    from course_lib.data import lm_eval_dataset
    from course_lib.gpt import evaluate as gpt_evaluate

    _, _, val_ids = shakespeare()
    model = built.models["gpt"]
    return gpt_evaluate(model, lm_eval_dataset(val_ids, model.cfg.context_length, EVAL_BATCH))


def cache_key(profile: Profile, *, steps: int | None = None, seed: int = 0) -> Any:
    """The model-cache key of the weights :func:`build` + ``steps`` steps produce: the model
    config, batch, optimizer and schedule, the precision policy, the checksum of the training
    ids, the steps and the seed (``val_chars`` and ``eval_every`` do not change the weights)."""
    from course_lib.runtime import fingerprint
    from course_lib.training.model_cache import CacheKey

    s = sizes(profile).with_steps(steps)
    tok, train_ids, _ = shakespeare()
    train_only = {k: v for k, v in config_dict(s).items() if k not in ("eval_every", "val_chars")}
    config = {
        "model": config_dict(s.model_config(tok.vocab_size)),
        "recipe": train_only,
        "data_seed": seed,
        "precision": current_precision(),
    }
    return CacheKey(
        name=CACHE_NAME,
        config=config,
        data=fingerprint.array_digest(train_ids),
        steps=s.steps,
        seed=seed,
    )


RECIPE = Recipe(
    name=NAME,
    description="chapter 06/01: character GPT on Shakespeare; metric: validation loss (nats/char)",
    sizes=sizes,
    build_fn=build,
    cache_key_fn=cache_key,
)

__all__ = ["RECIPE", "GPTSizes", "build", "cache_key", "evaluate", "shakespeare", "sizes"]
