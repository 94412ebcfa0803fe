"""An autoregressive model of 2-D points over a grid of bins: :math:`p(x_1)\\,p(x_2 \\mid x_1)`.

The same factorisation a language model uses for a sentence (the chain rule, one coordinate
after the other), on the smallest example that has one: a point ``x = (x_1, x_2)`` in a
square ``[low, high]^2``. Each coordinate is cut into ``K`` equal bins of width
:math:`\\Delta = (\\text{high} - \\text{low}) / K`, so a point becomes two "tokens"
``(b_1, b_2)``, and the model is

.. math:: P(b_1, b_2) = P(b_1)\\, P(b_2 \\mid b_1),

with :math:`P(b_1)` a softmax over ``K`` free logits and :math:`P(b_2 \\mid b_1)` a softmax
over ``K`` logits that an MLP computes from the centre of bin :math:`b_1`. Inside a bin the
density is flat, so the model has an exact density for a continuous point,

.. math:: p(x) = \\frac{P(b_1(x), b_2(x))}{\\Delta^2}, \\qquad
          -\\log p(x) = -\\log P(b_1) - \\log P(b_2 \\mid b_1) + \\log \\Delta^2,

in nats per point, directly comparable with a VAE's or a diffusion model's bound on the same
density. A point outside the square has density 0 (its negative log-density is infinite).
Sampling draws :math:`b_1`, then :math:`b_2` given :math:`b_1` (two sequential draws), then a
point uniformly inside the chosen cell.

Training minimises :math:`-\\log p(x)` per point through :class:`course_lib.training.Trainer`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from course_lib.runtime.validation import (
    check_array,
    check_config,
    check_int,
    check_real,
    check_widths,
)
from course_lib.training import Objective, Task


@dataclass(frozen=True)
class GridARConfig:
    """The grid and the network, as data.

    Attributes:
        bins: ``K``, bins per coordinate (2..1024).
        low, high: the square ``[low, high]^2`` the bins cover (``low < high``).
        hidden: widths of the MLP that maps the centre of bin ``b_1`` to the ``K`` logits of
            ``P(b_2 | b_1)`` (ReLU activations).
    """

    bins: int = 48
    low: float = -3.5
    high: float = 3.5
    hidden: tuple[int, ...] = (128, 128)

    def __post_init__(self) -> None:
        check_int("GridARConfig.bins", self.bins, minimum=2, maximum=1024)
        low = check_real("GridARConfig.low", self.low)
        check_real("GridARConfig.high", self.high, minimum=low, strict=True)
        object.__setattr__(self, "hidden", check_widths("GridARConfig.hidden", self.hidden))

    @property
    def width(self) -> float:
        """:math:`\\Delta`, the width of one bin."""
        return (self.high - self.low) / self.bins

    @property
    def centers(self) -> np.ndarray:
        """The ``K`` bin centres of one coordinate, float64 ``(K,)``."""
        return self.low + (np.arange(self.bins) + 0.5) * self.width


def bin_index(x, cfg: GridARConfig) -> np.ndarray:
    """The bins ``(b_1, b_2)`` of points ``x`` ``(B, 2)``: int64 ``(B, 2)`` in ``0..K-1``.

    A point on the upper edge ``high`` goes to the last bin. Raises ``ValueError`` for a point
    outside the square (the model gives it no probability).
    """
    x = check_array("x", x, shape=(None, 2), kind="number", finite=True, dtype=np.float64)
    if x.size and (x.min() < cfg.low or x.max() > cfg.high):
        raise ValueError(
            f"points must lie in [{cfg.low}, {cfg.high}]^2, got values in "
            f"[{x.min():.3g}, {x.max():.3g}]: widen GridARConfig.low/high"
        )
    b = np.floor((x - cfg.low) / cfg.width).astype(np.int64)
    return np.minimum(b, cfg.bins - 1)


class GridAutoregressive(keras.Model):
    """:math:`P(b_1)` (``K`` free logits) and the MLP of :math:`P(b_2 \\mid b_1)`.

    ``model(b1)`` returns the logits of :math:`P(b_2 \\mid b_1)`, ``(B, K)``.
    """

    def __init__(self, cfg: GridARConfig | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.cfg = check_config("cfg", cfg, GridARConfig)
        k = self.cfg.bins
        self.first_logits = self.add_weight(
            shape=(k,), initializer="zeros", name="first_logits", trainable=True
        )
        inputs = keras.Input(shape=(1,), name="b1_center")
        h = inputs
        for width in self.cfg.hidden:
            h = keras.layers.Dense(width, activation="relu")(h)
        logits = keras.layers.Dense(k, name="second_logits")(h)
        self.conditional = keras.Model(inputs, logits, name="p_b2_given_b1")
        # centres rescaled to [-1, 1], the network's input
        scaled = (self.cfg.centers - self.cfg.low) / (self.cfg.high - self.cfg.low) * 2.0 - 1.0
        self._scaled_centers = tf.constant(scaled, tf.float32)  # (K,)
        self._log_cell = 2.0 * math.log(self.cfg.width)

    def call(self, b1: tf.Tensor, training: bool = False) -> tf.Tensor:
        """Logits of :math:`P(b_2 \\mid b_1)`: ``b1 (B,)`` ints -> ``(B, K)``."""
        centers = tf.gather(self._scaled_centers, b1)[:, None]  # (B, 1)
        return self.conditional(centers, training=training)

    def log_prob_bins(self, b: tf.Tensor, training: bool = False) -> tf.Tensor:
        """:math:`\\log P(b_1) + \\log P(b_2 \\mid b_1)`: ``b (B, 2)`` ints -> ``(B,)`` nats."""
        b = tf.cast(b, tf.int32)
        log_p1 = tf.nn.log_softmax(self.first_logits)  # (K,)
        log_p2 = tf.nn.log_softmax(self(b[:, 0], training=training))  # (B, K)
        first = tf.gather(log_p1, b[:, 0])  # (B,)
        second = tf.gather(log_p2, b[:, 1], batch_dims=1)  # (B,)
        return first + second

    def loss_fn(self, batch, training: bool) -> tf.Tensor:
        """``-log p(x)`` per point ``(B,)`` nats, for an Objective; ``batch`` is bins ``(B, 2)``
        (use :func:`bin_index` on the points first, as :func:`make_task`'s docstring shows)."""
        b = batch[0] if isinstance(batch, (tuple, list)) else batch
        return -self.log_prob_bins(b, training) + self._log_cell

    def probability_table(self) -> np.ndarray:
        """:math:`P(b_1, b_2)` for every cell, float64 ``(K, K)`` (rows ``b_1``); sums to 1."""
        k = self.cfg.bins
        first = self.first_logits.numpy().astype(np.float64)  # (K,)
        p1 = np.exp(first - first.max())
        p1 /= p1.sum()
        logits = self(tf.range(k)).numpy().astype(np.float64)  # (K, K)
        logits -= logits.max(axis=1, keepdims=True)
        p2 = np.exp(logits)
        p2 /= p2.sum(axis=1, keepdims=True)
        return p1[:, None] * p2  # float64 softmaxes: the table sums to 1 to rounding

    def log_density(self, x) -> np.ndarray:
        """:math:`\\log p(x)` of continuous points ``(B, 2)``: float64 ``(B,)`` nats;
        ``-inf`` outside the square."""
        x = check_array("x", x, shape=(None, 2), kind="number", finite=True, dtype=np.float64)
        cfg = self.cfg
        inside = np.all((x >= cfg.low) & (x <= cfg.high), axis=1)
        out = np.full(len(x), -np.inf)
        if inside.any():
            b = bin_index(x[inside], cfg)
            out[inside] = self.log_prob_bins(tf.constant(b)).numpy() - self._log_cell
        return out

    def nll(self, x) -> float:
        """Mean :math:`-\\log p(x)` over points ``(B, 2)``, nats per point (exact)."""
        return float(-np.mean(self.log_density(x)))

    def generate(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` points: ``b_1 ~ P(b_1)``, ``b_2 ~ P(b_2 | b_1)``, then uniform in the cell.

        float64 ``(n, 2)``; NumPy randomness from ``seed``.
        """
        n = check_int("n", n, minimum=1)
        rng = np.random.default_rng(check_int("seed", seed, minimum=0))
        table = self.probability_table()  # (K, K)
        k = self.cfg.bins
        p1 = table.sum(axis=1)
        b1 = rng.choice(k, size=n, p=p1 / p1.sum())
        # P(b2 | b1) row by row: inverse-CDF draws
        cond = table[b1] / table[b1].sum(axis=1, keepdims=True)  # (n, K)
        u = rng.random((n, 1))
        b2 = np.minimum((np.cumsum(cond, axis=1) < u).sum(axis=1), k - 1)
        cells = np.stack([b1, b2], axis=1).astype(np.float64)  # (n, 2)
        return self.cfg.low + (cells + rng.random((n, 2))) * self.cfg.width


def make_task(model: GridAutoregressive, optimizer: keras.optimizers.Optimizer) -> Task:
    """One objective, ``"loss"`` = ``-log p(x)`` in nats per point, for the course's Trainer.

    The dataset must yield the *bins* of the points, ``bin_index(x, model.cfg)`` ``(B, 2)``::

        ds = make_dataset(bin_index(x, cfg), batch_size=256, repeat=True)
    """
    if not isinstance(model, GridAutoregressive):
        raise TypeError(f"model must be a GridAutoregressive, got {type(model).__name__}")
    model(tf.zeros((1,), tf.int32))  # build
    return Task(
        objectives=[Objective("loss", model.loss_fn, model, optimizer)],
        models={"grid_ar": model},
    )
