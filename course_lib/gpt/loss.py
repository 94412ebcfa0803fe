"""Training a GPT: the next-token loss, the :class:`~course_lib.training.Task`, an evaluation.

A batch is ``(x, y)``, int token ids ``(B, T)`` each, with ``y`` the sequence ``x`` shifted
one position left (``y[:, t] = x[:, t + 1]`` within the source text). The loss of one
sequence is the mean cross-entropy of the next token over its ``T`` positions, in nats:

.. math:: \\ell = -\\frac1T \\sum_{t=0}^{T-1} \\log p_\\theta(y_t \\mid x_0, \\dots, x_t),
          \\qquad \\text{bits per token} = \\ell / \\ln 2.

A model that knows nothing scores ``ln V`` nats (uniform over the ``V`` tokens).

Training minimises the mean over the batch of these per-sequence losses. Validation instead
reports the mean per scored *token* over the whole split: :func:`token_loss_sum` returns a
batch's ``(sum of token losses, number of scored tokens)``, the training loop sums both over
batches and replicas and divides once, so a sequence with more scored tokens weighs more.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import keras
import tensorflow as tf

from course_lib.gpt.model import GPT, check_tokens
from course_lib.runtime.validation import check_int
from course_lib.training import Objective, Task

LN_2 = math.log(2.0)


def next_token_loss(logits: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
    """Mean over positions of ``-log softmax(logits)[y]``.

    ``logits`` ``(B, T, V)``, ``y`` ``(B, T)`` int -> ``(B,)`` nats."""
    # (B, T)
    per_token = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=y, logits=tf.cast(logits, tf.float32)
    )
    return tf.reduce_mean(per_token, axis=1)  # (B,)


def weighted_next_token_loss(logits: tf.Tensor, y: tf.Tensor, weight: tf.Tensor) -> tf.Tensor:
    """Weighted mean over positions, ``sum_t w_t CE_t / sum_t w_t``: ``(B,)`` nats, 0 for a
    row whose weights are all zero.

    ``weight`` ``(B, T)``: 1 where a position's next token is scored, 0 where it is not (the
    source part of a translation pair, padding after the end of a text)."""
    # (B, T)
    per_token = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=y, logits=tf.cast(logits, tf.float32)
    )
    weight = tf.cast(weight, tf.float32)
    # (B,)
    return tf.math.divide_no_nan(
        tf.reduce_sum(per_token * weight, axis=1), tf.reduce_sum(weight, axis=1)
    )


def _split(model: GPT, batch) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor | None]:
    if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
        raise ValueError(
            "A language-model batch is (x, y) or (x, y, weight): token ids (B, T), y = x shifted "
            "by one, and optionally a weight (B, T) saying which positions are scored"
        )
    x, y = batch[0], batch[1]
    weight = batch[2] if len(batch) == 3 else None
    check_tokens(x, model.cfg, "x")
    check_tokens(y, model.cfg, "y")
    for name, t in (("y", y), ("weight", weight)):
        if (
            t is not None
            and x.shape[1] is not None
            and t.shape[1] is not None
            and tuple(x.shape) != tuple(t.shape)
        ):
            raise ValueError(
                f"x and {name} must have the same shape (B, T), "
                f"got {tuple(x.shape)} and {tuple(t.shape)}"
            )
    return x, y, weight


def lm_loss_fn(model: GPT):
    """``loss_fn(batch, training) -> (loss (B,), {"bits_per_token": (B,)})`` for an
    :class:`~course_lib.training.Objective`: the mean next-token cross-entropy of each
    sequence, in nats, and the same in bits. A batch ``(x, y, weight)`` scores only the
    positions with weight 1 (:func:`weighted_next_token_loss`)."""

    # plain TensorFlow, no Python control flow on tensors: nothing for AutoGraph to convert
    @tf.autograph.experimental.do_not_convert
    def loss_fn(batch, training: bool):
        x, y, weight = _split(model, batch)
        logits = model(x, training=training)  # (B, T, V)
        if weight is None:
            loss = next_token_loss(logits, y)
        else:
            loss = weighted_next_token_loss(logits, y, weight)
        # (B,)
        return loss, {"bits_per_token": loss / LN_2}

    return loss_fn


def token_loss_sum(model: GPT, batch) -> tuple[tf.Tensor, tf.Tensor]:
    """``(sum_t w_t CE_t, sum_t w_t)`` over every position of a batch, in inference mode.

    ``CE_t = -log softmax(logits_t)[y_t]`` in nats, ``w_t`` the weight of position ``t``
    (1 everywhere for a batch ``(x, y)``). Two float32 scalars: summed over batches (and
    replicas), their ratio is the exact mean cross-entropy per scored token, whatever the
    number of scored positions in each sequence."""
    x, y, weight = _split(model, batch)
    # (B, T)
    per_token = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=y, logits=tf.cast(model(x, training=False), tf.float32)
    )
    if weight is None:
        weight = tf.ones_like(per_token)
    weight = tf.cast(weight, tf.float32)
    return tf.reduce_sum(per_token * weight), tf.reduce_sum(weight)


def lm_eval_fn(model: GPT):
    """``eval_fn(batch) -> {"loss": (sum, count), "bits_per_token": (sum, count)}`` for a
    :class:`~course_lib.training.Task`: :func:`token_loss_sum`, so ``Trainer.evaluate``
    reports the mean per scored token (nats, and bits)."""

    @tf.autograph.experimental.do_not_convert
    def eval_fn(batch):
        total, count = token_loss_sum(model, batch)
        return {"loss": (total, count), "bits_per_token": (total / LN_2, count)}

    return eval_fn


def make_task(model: GPT, optimizer: keras.optimizers.Optimizer) -> Task:
    """One objective ``"loss"`` (the mean next-token cross-entropy of each sequence, nats;
    metric ``bits_per_token``) for :class:`course_lib.training.Trainer`. Validation reports
    ``loss`` and ``bits_per_token`` per scored *token* over the whole validation set
    (:func:`lm_eval_fn`), without dropout."""
    return Task(
        objectives=[Objective("loss", lm_loss_fn(model), model, optimizer)],
        models={"gpt": model},
        eval_fn=lm_eval_fn(model),
    )


def make_optimizer(
    model: GPT,
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1e-3,
    weight_decay: float = 0.1,
    beta_2: float = 0.99,
    global_clipnorm: float | None = 1.0,
) -> keras.optimizers.AdamW:
    """AdamW configured as nanoGPT trains its baby GPT: ``beta_1 = 0.9``, ``beta_2 = 0.99``,
    the gradient rescaled to global norm ``<= 1``, and weight decay only on the matrices
    (Dense kernels and embeddings); biases and LayerNorm parameters (1-D) are not decayed.
    Create it inside ``strategy.scope()``, like the model."""
    optimizer = keras.optimizers.AdamW(
        learning_rate,
        weight_decay=weight_decay,
        beta_1=0.9,
        beta_2=beta_2,
        global_clipnorm=global_clipnorm,
    )
    optimizer.exclude_from_weight_decay(
        var_list=[v for v in model.trainable_variables if len(v.shape) < 2]
    )
    return optimizer


def evaluate(model: GPT, batches: Iterable) -> dict[str, float]:
    """Mean ``loss`` (nats) and ``bits_per_token`` per *scored token* over all of ``batches``
    (a ``tf.data.Dataset`` or any iterable of ``(x, y)`` or ``(x, y, weight)``), in inference
    mode: the sums of :func:`token_loss_sum` over the batches, divided.

    ``Trainer.evaluate`` on a task from :func:`make_task` computes the same numbers (the same
    function, summed by the loop); this one needs no trainer. With
    :func:`course_lib.data.lm_eval_dataset` (padding weighted 0) it is the exact cross-entropy
    of the whole split."""
    total, count = 0.0, 0.0
    for batch in batches:
        batch = tuple(tf.convert_to_tensor(b) for b in batch)
        batch_total, batch_count = token_loss_sum(model, batch)
        total += float(batch_total)
        count += float(batch_count)
    if not count:
        raise ValueError("evaluate() got no batches (or no position with weight > 0)")
    return {"loss": total / count, "bits_per_token": total / count / LN_2}


def uniform_loss(vocab_size: int) -> float:
    """``ln V``: the loss, in nats, of predicting every token with probability ``1 / V``."""
    return math.log(check_int("vocab_size", vocab_size, minimum=1))
