"""Training a GPT: the next-token loss, the :class:`~course_lib.training.Task`, an evaluation.

A batch is ``(x, y)``, int token ids ``(B, T)`` each, with ``y`` the sequence ``x`` shifted
one position left (``y[:, t] = x[:, t + 1]`` within the source text). The loss of one
sequence is the mean cross-entropy of the next token over its ``T`` positions, in nats:

.. math:: \\ell = -\\frac1T \\sum_{t=0}^{T-1} \\log p_\\theta(y_t \\mid x_0, \\dots, x_t),
          \\qquad \\text{bits per token} = \\ell / \\ln 2.

A model that knows nothing scores ``ln V`` nats (uniform over the ``V`` tokens).
"""

from __future__ import annotations

import math
from typing import Iterable

import keras
import numpy as np
import tensorflow as tf

from course_lib.training import Objective, Task
from course_lib.transformer.model import GPT, check_tokens

LN_2 = math.log(2.0)


def next_token_loss(logits: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
    """Mean over positions of ``-log softmax(logits)[y]``: logits ``(B, T, V)``, y ``(B, T)`` -> ``(B,)`` nats."""
    per_token = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=tf.cast(logits, tf.float32))  # (B, T)
    return tf.reduce_mean(per_token, axis=1)  # (B,)


def _split(model: GPT, batch) -> tuple[tf.Tensor, tf.Tensor]:
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise ValueError("A language-model batch is (x, y): token ids (B, T) each, y = x shifted by one")
    x, y = batch
    check_tokens(x, model.cfg, "x")
    check_tokens(y, model.cfg, "y")
    if x.shape[1] is not None and y.shape[1] is not None and tuple(x.shape) != tuple(y.shape):
        raise ValueError(f"x and y must have the same shape (B, T), got {tuple(x.shape)} and {tuple(y.shape)}")
    return x, y


def lm_loss_fn(model: GPT):
    """``loss_fn(batch, training) -> (loss (B,), {"bits_per_token": (B,)})`` for an
    :class:`~course_lib.training.Objective`: the mean next-token cross-entropy of each
    sequence, in nats, and the same in bits."""

    def loss_fn(batch, training: bool):
        x, y = _split(model, batch)
        loss = next_token_loss(model(x, training=training), y)  # (B,)
        return loss, {"bits_per_token": loss / LN_2}

    return loss_fn


def make_task(model: GPT, optimizer: keras.optimizers.Optimizer) -> Task:
    """One objective ``"loss"`` (mean next-token cross-entropy, nats; metric ``bits_per_token``)
    for :class:`course_lib.training.Trainer`; validation reports the same two, without dropout."""
    return Task(objectives=[Objective("loss", lm_loss_fn(model), model, optimizer)], models={"gpt": model})


def make_optimizer(model: GPT, learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1e-3,
                   weight_decay: float = 0.1, beta_2: float = 0.99,
                   global_clipnorm: float | None = 1.0) -> keras.optimizers.AdamW:
    """AdamW configured as nanoGPT trains its baby GPT: ``beta_1 = 0.9``, ``beta_2 = 0.99``,
    the gradient rescaled to global norm ``<= 1``, and weight decay only on the matrices
    (Dense kernels and embeddings); biases and LayerNorm parameters (1-D) are not decayed.
    Create it inside ``strategy.scope()``, like the model."""
    optimizer = keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay, beta_1=0.9, beta_2=beta_2,
                                       global_clipnorm=global_clipnorm)
    optimizer.exclude_from_weight_decay(var_list=[v for v in model.trainable_variables if len(v.shape) < 2])
    return optimizer


def evaluate(model: GPT, batches: Iterable) -> dict[str, float]:
    """Mean ``loss`` (nats) and ``bits_per_token`` over all sequences of ``batches`` (a
    ``tf.data.Dataset`` or any iterable of ``(x, y)``), in inference mode: the numbers
    ``Trainer.evaluate`` reports for the task of :func:`make_task`."""
    loss_fn = lm_loss_fn(model)
    total, n = 0.0, 0
    for batch in batches:
        loss, _ = loss_fn(tuple(tf.convert_to_tensor(b) for b in batch), False)
        total += float(tf.reduce_sum(loss))
        n += int(loss.shape[0])
    if not n:
        raise ValueError("evaluate() got no batches")
    return {"loss": total / n, "bits_per_token": total / n / LN_2}


def uniform_loss(vocab_size: int) -> float:
    """``ln V``: the loss, in nats, of predicting every token with probability ``1 / V``."""
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)) or vocab_size < 1:
        raise ValueError(f"vocab_size must be a positive int, got {vocab_size!r}")
    return math.log(vocab_size)
