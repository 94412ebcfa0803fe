"""A small denoising diffusion model for points: the noise predictor, the training loss, the
:class:`~course_lib.training.Task`, and ancestral sampling (Ho et al. 2020, arXiv:2006.11239).

The network :math:`\\varepsilon_\\theta(x_t, t)` predicts the noise that was added to a point.
Training draws, for each point :math:`x_0` of a batch, a step :math:`t \\sim U\\{1..T\\}` and
:math:`\\varepsilon \\sim \\mathcal N(0, I)`, forms
:math:`x_t = \\sqrt{\\bar\\alpha_t}x_0 + \\sqrt{1-\\bar\\alpha_t}\\varepsilon` and minimises
Ho et al.'s simplified loss (their eq. 14, Algorithm 1)

.. math:: L_\\text{simple} = \\lVert \\varepsilon - \\varepsilon_\\theta(x_t, t) \\rVert^2 .

Sampling (their Algorithm 2) starts from :math:`x_T \\sim \\mathcal N(0, I)` and takes ``T``
steps back, :math:`x_{t-1} = \\mu_\\theta(x_t, t) + \\sigma_t z`, with no noise at the last
step: ``T`` network evaluations per sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from course_lib.diffusion.schedule import NoiseSchedule, mean_from_eps
from course_lib.runtime.validation import check_array, check_config, check_int, check_widths
from course_lib.training import Objective, Task


@dataclass(frozen=True)
class DiffusionConfig:
    """The model, as data.

    Attributes:
        schedule: the :class:`NoiseSchedule` (``T`` and the betas).
        data_dim: ``d``, the size of one point.
        hidden: widths of the noise predictor's hidden layers (SiLU activations).
        time_dim: size of the sinusoidal embedding of ``t`` (even, >= 2).
    """

    schedule: NoiseSchedule = field(default_factory=NoiseSchedule)
    data_dim: int = 2
    hidden: tuple[int, ...] = (128, 128, 128)
    time_dim: int = 32

    def __post_init__(self) -> None:
        if not isinstance(self.schedule, NoiseSchedule):
            raise TypeError(
                "DiffusionConfig.schedule must be a NoiseSchedule, got "
                f"{type(self.schedule).__name__}"
            )
        check_int("DiffusionConfig.data_dim", self.data_dim, minimum=1)
        object.__setattr__(self, "hidden", check_widths("DiffusionConfig.hidden", self.hidden))
        check_int("DiffusionConfig.time_dim", self.time_dim, minimum=2)
        if self.time_dim % 2:
            raise ValueError(f"DiffusionConfig.time_dim must be even, got {self.time_dim}")


def timestep_embedding(t: tf.Tensor, dim: int) -> tf.Tensor:
    """The Transformer's sinusoidal embedding of the step ``t`` (Ho et al. use it for ``t``).

    ``t`` ``(B,)`` ints -> ``(B, dim)``: ``[sin(t w_i), cos(t w_i)]`` with
    ``w_i = 10000^(-i / (dim/2))``, ``i = 0..dim/2 - 1``.
    """
    half = dim // 2
    freqs = tf.exp(-math.log(10_000.0) * tf.range(half, dtype=tf.float32) / half)  # (dim/2,)
    angles = tf.cast(t, tf.float32)[:, None] * freqs[None, :]  # (B, dim/2)
    return tf.concat([tf.sin(angles), tf.cos(angles)], axis=-1)


def build_noise_predictor(cfg: DiffusionConfig) -> keras.Model:
    """``[x_t (B, d), embedding of t (B, time_dim)] -> eps (B, d)``: an MLP on the two, joined."""
    x = keras.Input(shape=(cfg.data_dim,), name="x_t")
    emb = keras.Input(shape=(cfg.time_dim,), name="t_embedding")
    h = keras.layers.Concatenate()([x, emb])  # (B, d + time_dim)
    for width in cfg.hidden:
        h = keras.layers.Dense(width, activation="silu")(h)
    eps = keras.layers.Dense(cfg.data_dim, name="eps")(h)  # (B, d), linear
    return keras.Model([x, emb], eps, name="noise_predictor")


class DDPM(keras.Model):
    """The noise predictor, the schedule as constants, and a tracked ``SeedGenerator``.

    ``DDPM(cfg)(x_t, t)`` is :math:`\\varepsilon_\\theta(x_t, t)`.
    """

    def __init__(self, cfg: DiffusionConfig | None = None, seed: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.cfg = check_config("cfg", cfg, DiffusionConfig)
        self.network = build_noise_predictor(self.cfg)
        seed = check_int("seed", seed)
        self.seed_generator = keras.random.SeedGenerator(seed, name="ddpm_seed")
        # (T + 1,) float32: sqrt(alpha_bar_t) and sqrt(1 - alpha_bar_t), indexed by t
        ab = self.cfg.schedule.alpha_bars
        self._sqrt_ab = tf.constant(np.sqrt(ab), tf.float32)
        self._sqrt_one_minus_ab = tf.constant(np.sqrt(1.0 - ab), tf.float32)
        self._predict = tf.function(self._predict_py, reduce_retracing=True)

    def call(self, x_t: tf.Tensor, t: tf.Tensor, training: bool = False) -> tf.Tensor:
        """:math:`\\varepsilon_\\theta(x_t, t)`: ``x_t (B, d)``, ``t (B,)`` ints -> ``(B, d)``."""
        emb = timestep_embedding(t, self.cfg.time_dim)
        return self.network([x_t, emb], training=training)

    def _predict_py(self, x_t: tf.Tensor, t: tf.Tensor) -> tf.Tensor:
        return self(x_t, t, training=False)

    def predict_eps(self, x_t, t) -> np.ndarray:
        """:math:`\\varepsilon_\\theta(x_t, t)` as float64 NumPy ``(B, d)``, inference mode.

        ``x_t`` ``(B, d)``; ``t`` an int or ``(B,)`` ints in ``1..T``. The signature the
        sampler and the bound expect of an ``eps_fn``.
        """
        x_t = check_array("x_t", x_t, shape=(None, self.cfg.data_dim), kind="number", finite=True)
        t = np.broadcast_to(check_array("t", t, ndim=(0, 1), kind="int"), (x_t.shape[0],))
        out = self._predict(tf.constant(x_t, tf.float32), tf.constant(t, tf.int32))
        return out.numpy().astype(np.float64)

    def loss_fn(self, batch, training: bool) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        """Per-example :math:`L_\\text{simple}` ``(B,)`` (summed over the ``d`` coordinates)
        and the step ``t`` drawn for each example as a metric. ``batch`` is ``x0`` or ``(x0, ...)``.
        """
        x0 = batch[0] if isinstance(batch, (tuple, list)) else batch
        x0 = tf.cast(x0, tf.float32)  # (B, d)
        n = tf.shape(x0)[0]
        steps = self.cfg.schedule.num_steps
        t = keras.random.randint(tf.stack([n]), 1, steps + 1, seed=self.seed_generator)  # (B,)
        eps = keras.random.normal(tf.shape(x0), seed=self.seed_generator)  # (B, d)
        x_t = (
            tf.gather(self._sqrt_ab, t)[:, None] * x0
            + tf.gather(self._sqrt_one_minus_ab, t)[:, None] * eps
        )
        residual = eps - self(x_t, t, training=training)  # (B, d)
        return tf.reduce_sum(tf.square(residual), axis=-1), {"t": tf.cast(t, tf.float32)}

    def generate(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` points by ancestral sampling, ``(n, d)`` float64 (``T`` network calls)."""
        return ancestral_sample(self.predict_eps, self.cfg.schedule, n, self.cfg.data_dim, seed)


def make_task(ddpm: DDPM, optimizer: keras.optimizers.Optimizer) -> Task:
    """One objective, ``"loss"`` = :math:`L_\\text{simple}`, for the course's Trainer.

    The model is built first (one call on a dummy batch), so its variables exist.
    """
    if not isinstance(ddpm, DDPM):
        raise TypeError(f"ddpm must be a course_lib.diffusion.DDPM, got {type(ddpm).__name__}")
    ddpm(tf.zeros((1, ddpm.cfg.data_dim)), tf.ones((1,), tf.int32))
    return Task(
        objectives=[Objective("loss", ddpm.loss_fn, ddpm.network, optimizer)],
        models={"ddpm": ddpm},
        trackables={"seed_generator_state": ddpm.seed_generator.state},
    )


def ancestral_sample(
    eps_fn, schedule: NoiseSchedule, n: int, data_dim: int, seed: int = 0
) -> np.ndarray:
    """Ho et al.'s Algorithm 2 with :math:`\\sigma_t^2 = \\beta_t`, ``(n, data_dim)``.

    :math:`x_T \\sim \\mathcal N(0, I)`; for ``t = T..1``:
    :math:`x_{t-1} = \\mu_\\theta(x_t, t) + \\sigma_t z`, :math:`z \\sim \\mathcal N(0, I)`
    (``z = 0`` at ``t = 1``: the sample is the last mean). ``eps_fn(x_t, t)`` takes
    ``(n, d)`` points and an int step and returns ``(n, d)``; NumPy noise from ``seed``.
    """
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule, got {type(schedule).__name__}")
    if not callable(eps_fn):
        raise TypeError("eps_fn must be callable as eps_fn(x_t (n, d), t)")
    n = check_int("n", n, minimum=1)
    data_dim = check_int("data_dim", data_dim, minimum=1)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    sigmas = np.sqrt(schedule.betas)  # (T + 1,)
    x = rng.standard_normal((n, data_dim))  # x_T
    for t in range(schedule.num_steps, 0, -1):
        mean = mean_from_eps(schedule, x, t, eps_fn(x, t))
        x = mean + sigmas[t] * rng.standard_normal(x.shape) if t > 1 else mean
    return x
