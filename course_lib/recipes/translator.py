"""Recipe ``translator``: chapter 06 part 2's English-to-Chinese number translator, a small GPT.

The run of ``chapters/06_applications/02_translation.ipynb`` (cells 13-17), per profile:

=========  ===========  =====  ======  ========  ==========
profile    L, H, d      B      steps   peak lr   eval every
=========  ===========  =====  ======  ========  ==========
ci         2, 2, 64     64     300     3e-3      30
student    3, 4, 64     64     1500    3e-3      150
full       4, 4, 128    128    6000    1e-3      600
=========  ===========  =====  ======  ========  ==========

Data: :func:`~course_lib.data.number_translation_pairs` (seed 0: 8,000 training pairs below
10,000, 1,000 held-out, 1,000 out-of-distribution), one line ``english=chinese\\n`` per pair,
characters as tokens (``V = 37``, ``C = 61``), rows of 50 positions
(:func:`~course_lib.data.encode_pairs`: ``x``, ``y`` int32 ``(N, 50)``, weight float32
``(N, 50)``, 1 on the target characters and the newline only). The training rows are shuffled
(seed 0), repeated and batched; AdamW as nanoGPT's (:func:`~course_lib.gpt.make_optimizer`),
a linear warm-up over 5 % of the steps then a cosine to 10 % of the peak. The metric, as the
chapter reports it: the held-out loss per target character (nats) and the held-out exact
match of greedy translations (:func:`~course_lib.gpt.greedy_completions`):

.. math:: \\mathcal{L} = -\\frac{\\sum_i \\ln p_\\theta(t_i \\mid s_i)}{\\sum_i (|t_i| + 1)},
          \\qquad \\text{EM} = \\frac{1}{n}\\sum_i [\\hat t_i = t_i].
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

NAME = "translator"
CACHE_NAME = "number_translator"
EVAL_BATCH = 500  # held-out rows per validation batch (the chapter's .batch(500))


@dataclass(frozen=True)
class TranslatorSizes:
    """The chapter's sizes for one profile.

    Attributes:
        n_layer, n_head, d_model: ``L``, ``H``, ``d`` of the :class:`~course_lib.gpt.GPTConfig`
            (``V`` and ``C = 61`` come from the data).
        batch_size: ``B``, training lines per optimizer step (global).
        steps: optimizer steps; ``eval_every = steps // 10``.
        learning_rate: the peak rate; the warm-up is ``max(1, steps // 20)`` steps.
        final_lr_fraction: the cosine ends at this fraction of the peak.
        data_seed: the seed of the pairs and of the shuffle.
    """

    n_layer: int
    n_head: int
    d_model: int
    batch_size: int
    steps: int
    learning_rate: float
    final_lr_fraction: float = 0.1
    data_seed: int = 0

    @property
    def eval_every(self) -> int:
        """Steps between two held-out evaluations: a tenth of the run."""
        return max(1, self.steps // 10)

    @property
    def warmup_steps(self) -> int:
        """Linear warm-up over 5 % of the steps (at least 1, at most ``steps - 1``)."""
        return min(max(1, self.steps // 20), max(self.steps - 1, 0))

    def model_config(self, vocab_size: int, context_length: int) -> Any:
        """The :class:`~course_lib.gpt.GPTConfig` of these sizes."""
        from course_lib.gpt import GPTConfig

        return GPTConfig(
            vocab_size=vocab_size,
            context_length=context_length,
            n_layer=self.n_layer,
            n_head=self.n_head,
            d_model=self.d_model,
        )

    def with_steps(self, steps: int | None) -> TranslatorSizes:
        """These sizes for a run of ``steps`` steps (warm-up and records follow)."""
        if steps is None:
            return self
        return dataclasses.replace(self, steps=check_int("steps", steps, minimum=1))


def sizes(profile: Profile) -> TranslatorSizes:
    """The chapter's sizes in ``profile`` (cells 13 and 15 of 06/02)."""
    return TranslatorSizes(
        n_layer=profile.pick(ci=2, student=3, full=4),
        n_head=profile.pick(ci=2, student=4, full=4),
        d_model=profile.pick(ci=64, student=64, full=128),
        batch_size=profile.pick(ci=64, student=64, full=128),
        steps=profile.pick(ci=300, student=1_500, full=6_000),
        learning_rate=profile.pick(ci=3e-3, student=3e-3, full=1e-3),
    )


@dataclass(frozen=True)
class NumberData:
    """The chapter's data: pairs, tokenizer and encoded rows.

    Attributes:
        pairs: the :class:`~course_lib.data.TranslationPairs` (train, held_out, ood).
        tokenizer: characters of every line of every split (``V = 37``).
        newline: the id of ``"\\n"``, the end of a translation.
        context_length: ``C``, the longest line of any split (61).
        train_length: positions per training and held-out row (50).
        train, held_out, ood: ``(x, y, w)`` arrays, ``(N, train_length)`` (OOD: ``C - 1``).
    """

    pairs: Any
    tokenizer: Any
    newline: int
    context_length: int
    train_length: int
    train: tuple[np.ndarray, np.ndarray, np.ndarray]
    held_out: tuple[np.ndarray, np.ndarray, np.ndarray]
    ood: tuple[np.ndarray, np.ndarray, np.ndarray]

    @property
    def longest_target(self) -> int:
        """The longest reference target, newline included: greedy decoding's length cap."""
        splits = (self.pairs.train, self.pairs.held_out, self.pairs.ood)
        return max(len(p.chinese) + 1 for split in splits for p in split)


@functools.lru_cache(maxsize=2)
def number_data(seed: int = 0) -> NumberData:
    """The chapter's pairs (``number_translation_pairs(seed)``) and their encoded rows."""
    from course_lib.data import encode_pairs, number_translation_pairs, pair_line
    from course_lib.text.tokenization import CharTokenizer

    pairs = number_translation_pairs(seed=seed)
    splits = (pairs.train, pairs.held_out, pairs.ood)
    tok = CharTokenizer.from_text("".join(pair_line(p) for split in splits for p in split))
    context_length = max(len(pair_line(p)) for split in splits for p in split)
    train_length = max(len(pair_line(p)) for p in pairs.train + pairs.held_out) - 1
    return NumberData(
        pairs=pairs,
        tokenizer=tok,
        newline=int(tok.encode("\n")[0]),
        context_length=context_length,
        train_length=train_length,
        train=encode_pairs(pairs.train, tok, train_length),
        held_out=encode_pairs(pairs.held_out, tok, train_length),
        ood=encode_pairs(pairs.ood, tok, context_length - 1),
    )


def build(
    profile: Profile, *, strategy: Any = None, seed: int = 0, steps: int | None = None
) -> Built:
    """Seed, build the translator GPT, its AdamW and task, the shuffled training rows and the
    held-out rows (the records' validation). ``steps`` overrides the number of steps."""
    import tensorflow as tf

    from course_lib.gpt import GPT, make_optimizer, make_task
    from course_lib.hardware import training_flops_per_token
    from course_lib.training import TrainConfig, warmup_cosine

    seed = check_int("seed", seed, minimum=0)
    s = sizes(profile).with_steps(steps)
    strategy = strategy_or_default(strategy)
    data = number_data(s.data_seed)
    cfg = s.model_config(data.tokenizer.vocab_size, data.context_length)
    set_seed(seed)
    schedule = warmup_cosine(
        s.learning_rate,
        total_steps=s.steps,
        warmup_steps=s.warmup_steps,
        final_fraction=s.final_lr_fraction,
    )
    with strategy.scope():
        model = GPT(cfg)
        optimizer = make_optimizer(model, schedule)
    train_ds = (
        tf.data.Dataset.from_tensor_slices(data.train)
        .shuffle(len(data.train[0]), seed=seed)
        .repeat()
        .batch(s.batch_size, drop_remainder=True)
        .prefetch(tf.data.AUTOTUNE)
    )
    held_ds = tf.data.Dataset.from_tensor_slices(data.held_out).batch(EVAL_BATCH)
    return Built(
        name=NAME,
        profile=profile,
        sizes=s,
        models={"gpt": model},
        task=make_task(model, optimizer),
        train_data=train_ds,
        val_data=held_ds,
        train_config=TrainConfig(
            steps=s.steps,
            eval_every=s.eval_every,
            steps_per_execution=10,
            jit_compile=True,
            progress=progress_for(profile),
        ),
        items_per_batch=s.batch_size * data.train_length,
        unit="tokens",
        training_flops_per_item=float(training_flops_per_token(cfg.shape, data.train_length)),
        metric="loss",
        metric_label="held-out loss",
        metric_unit="nats/char",
        evaluate_fn=evaluate,
        strategy=strategy,
        seed=seed,
        steps=s.steps,
        extras={"data": data, "config": cfg, "schedule": schedule, "tokenizer": data.tokenizer},
    )


def translate(model: Any, data: NumberData, split: Any) -> list[str]:
    """Greedy translations of the English sources of ``split`` (a list of pairs), as strings
    (the chapter's ``translate``)."""
    from course_lib.gpt import greedy_completions

    tok = data.tokenizer
    prompts = [tok.encode(p.english + "=") for p in split]
    outputs = greedy_completions(
        model, prompts, stop_token=data.newline, max_new_tokens=data.longest_target
    )
    return [tok.decode(out) for out in outputs]


def evaluate(built: Built) -> dict[str, float]:
    """``{"loss": held-out nats per target character, "bits_per_token": ...,
    "exact_match": share of the 1,000 held-out pairs translated exactly (greedy)}``."""
    import tensorflow as tf

    from course_lib.gpt import evaluate as gpt_evaluate
    from course_lib.text.metrics import exact_match

    data: NumberData = built.extras["data"]
    model = built.models["gpt"]
    held = tf.data.Dataset.from_tensor_slices(data.held_out).batch(EVAL_BATCH)
    out = gpt_evaluate(model, held)
    hyps = translate(model, data, data.pairs.held_out)
    out["exact_match"] = exact_match(hyps, [p.chinese for p in data.pairs.held_out])
    return out


def cache_key(profile: Profile, *, steps: int | None = None, seed: int = 0) -> Any:
    """The model-cache key of the translator :func:`build` + ``steps`` steps produce."""
    from course_lib.runtime import fingerprint
    from course_lib.training.model_cache import CacheKey

    s = sizes(profile).with_steps(steps)
    data = number_data(s.data_seed)
    cfg = s.model_config(data.tokenizer.vocab_size, data.context_length)
    config = {
        "model": config_dict(cfg),
        "recipe": {**config_dict(s), "warmup_steps": s.warmup_steps},
        "optimizer": "make_optimizer defaults (AdamW, wd 0.1, beta_2 0.99, clipnorm 1)",
        "shuffle_seed": seed,
        "precision": current_precision(),
    }
    return CacheKey(
        name=CACHE_NAME,
        config=config,
        data=fingerprint.digest([fingerprint.array_digest(a) for a in data.train]),
        steps=s.steps,
        seed=seed,
    )


RECIPE = Recipe(
    name=NAME,
    description="chapter 06/02: number translator GPT; metric: held-out loss and exact match",
    sizes=sizes,
    build_fn=build,
    cache_key_fn=cache_key,
)

__all__ = [
    "RECIPE",
    "NumberData",
    "TranslatorSizes",
    "build",
    "cache_key",
    "evaluate",
    "number_data",
    "sizes",
    "translate",
]
