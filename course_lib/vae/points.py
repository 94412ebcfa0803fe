"""A VAE for low-dimensional points, with a Gaussian decoder (Kingma & Welling 2014,
arXiv:1312.6114).

:mod:`course_lib.vae.model` is made for binarised 28x28 images (a Bernoulli decoder). For
continuous points ``x`` in :math:`\\mathbb R^d` the decoder is a Gaussian with a mean and a
variance per coordinate, both computed from ``z``:

.. math:: p(z) = \\mathcal N(0, I),\\quad
          q_\\phi(z \\mid x) = \\mathcal N(\\mu_\\phi(x), \\operatorname{diag}\\sigma_\\phi^2(x)),
          \\quad
          p_\\theta(x \\mid z) = \\mathcal N(m_\\theta(z), \\operatorname{diag} s_\\theta^2(z)).

Training maximises the ELBO per point, in nats, with the library's pieces
(:func:`~course_lib.vae.model.reparameterize`, :func:`~course_lib.vae.model.gaussian_kl`,
:func:`~course_lib.vae.model.gaussian_log_density`):

.. math:: \\mathrm{ELBO}(x) = \\mathbb E_{q}[\\log p_\\theta(x \\mid z)]
          - \\mathrm{KL}(q_\\phi(z \\mid x) \\,\\|\\, p(z)) \\le \\log p_\\theta(x).

The decoder's log-variance is kept above ``min_log_var`` (a softplus floor): a Gaussian
density may grow without limit as its variance shrinks, and the floor keeps training finite.
:func:`point_iwae_nll` gives the tighter importance-weighted bound (Burda et al. 2016,
arXiv:1509.00519) on :math:`-\\log p_\\theta(x)`, in nats per point.
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
from course_lib.vae.model import gaussian_kl, gaussian_log_density, reparameterize


@dataclass(frozen=True)
class PointVAEConfig:
    """The architecture, as data.

    Attributes:
        data_dim: ``d``, the size of one point.
        latent_dim: size of ``z``.
        hidden: widths of the encoder's hidden layers (the decoder uses them reversed), ReLU.
        min_log_var: the floor of the decoder's :math:`\\log s^2` (a real number).
    """

    data_dim: int = 2
    latent_dim: int = 2
    hidden: tuple[int, ...] = (128, 128)
    min_log_var: float = -9.0

    def __post_init__(self) -> None:
        check_int("PointVAEConfig.data_dim", self.data_dim, minimum=1)
        check_int("PointVAEConfig.latent_dim", self.latent_dim, minimum=1, maximum=64)
        object.__setattr__(self, "hidden", check_widths("PointVAEConfig.hidden", self.hidden))
        check_real("PointVAEConfig.min_log_var", self.min_log_var)


def _mlp(inputs: keras.KerasTensor, widths: tuple[int, ...], out: int) -> keras.KerasTensor:
    h = inputs
    for width in widths:
        h = keras.layers.Dense(width, activation="relu")(h)
    return keras.layers.Dense(out)(h)


class PointVAE(keras.Model):
    """Encoder ``x (B, d) -> [mu, log_var] (B, latent_dim)``, decoder
    ``z -> [mean, log_var] (B, d)``, and a tracked ``SeedGenerator``."""

    def __init__(self, cfg: PointVAEConfig | None = None, seed: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.cfg = cfg = check_config("cfg", cfg, PointVAEConfig)
        x = keras.Input(shape=(cfg.data_dim,), name="x")
        mu, log_var = keras.ops.split(_mlp(x, cfg.hidden, 2 * cfg.latent_dim), 2, axis=-1)
        self.encoder = keras.Model(x, [mu, log_var], name="point_encoder")
        z = keras.Input(shape=(cfg.latent_dim,), name="z")
        h = _mlp(z, tuple(reversed(cfg.hidden)), 2 * cfg.data_dim)
        mean, raw = keras.ops.split(h, 2, axis=-1)
        # softplus floor: log s^2 = min_log_var + softplus(raw - min_log_var) > min_log_var
        floor = float(cfg.min_log_var)
        log_var_x = floor + keras.ops.softplus(raw - floor)
        self.decoder = keras.Model(z, [mean, log_var_x], name="point_decoder")
        self.seed_generator = keras.random.SeedGenerator(check_int("seed", seed), name="pvae_seed")

    def _points(self, x) -> tf.Tensor:
        if not tf.is_tensor(x):
            x = check_array("x", x, shape=(None, self.cfg.data_dim), kind="number", finite=True)
        return tf.cast(x, tf.float32)

    def call(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        """The decoder's mean for one ``z ~ q(z|x)``, ``(B, d)``."""
        mu, log_var = self.encoder(self._points(x), training=training)
        eps = keras.random.normal(tf.shape(mu), seed=self.seed_generator)
        return self.decoder(reparameterize(mu, log_var, eps), training=training)[0]

    def elbo_terms(self, x, training: bool = False) -> dict[str, tf.Tensor]:
        """One-sample ELBO terms per point, nats, each ``(B,)``: ``reconstruction`` =
        :math:`\\log p_\\theta(x \\mid z)`, ``kl`` (analytic), ``elbo`` = their difference."""
        x = self._points(x)
        mu, log_var = self.encoder(x, training=training)  # (B, latent_dim)
        eps = keras.random.normal(tf.shape(mu), seed=self.seed_generator)
        mean, log_var_x = self.decoder(reparameterize(mu, log_var, eps), training=training)
        reconstruction = gaussian_log_density(x, mean, log_var_x)  # (B,)
        kl = gaussian_kl(mu, log_var)  # (B,)
        return {"elbo": reconstruction - kl, "reconstruction": reconstruction, "kl": kl}

    def loss_fn(self, batch, training: bool) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        """``-ELBO`` per point ``(B,)`` and the terms as metrics (for an Objective)."""
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        terms = self.elbo_terms(x, training)
        return -terms["elbo"], {"reconstruction": terms["reconstruction"], "kl": terms["kl"]}

    def generate(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` points of the model: ``z ~ N(0, I)``, then ``x ~ p(x|z)`` (the decoder's
        noise included: the model's distribution is the mixture, not the means). ``(n, d)``."""
        n = check_int("n", n, minimum=1)
        seed = check_int("seed", seed, minimum=0)
        z = tf.random.stateless_normal((n, self.cfg.latent_dim), seed=[seed, 0])
        mean, log_var_x = self.decoder(z, training=False)
        noise = tf.random.stateless_normal(tf.shape(mean), seed=[seed, 1])
        return (mean + tf.exp(0.5 * log_var_x) * noise).numpy().astype(np.float64)


def point_iwae_nll(vae: PointVAE, x, k: int = 100, seed: int = 0, chunk: int = 50) -> np.ndarray:
    """The importance-weighted bound :math:`-\\mathcal L_k(x) \\ge -\\log p_\\theta(x)` per
    point, float64 ``(B,)`` nats (in expectation; ``k = 1`` is the negative ELBO).

    .. math:: \\mathcal L_k(x) = \\log \\frac1k \\sum_{i=1}^k
              \\frac{p_\\theta(x \\mid z_i)\\,p(z_i)}{q_\\phi(z_i \\mid x)},
              \\qquad z_i \\sim q_\\phi(z \\mid x).

    ``x`` ``(B, d)``; ``k`` samples per point, drawn ``chunk`` at a time with stateless
    noise ``[seed, i]`` for sample ``i``.
    """
    if not isinstance(vae, PointVAE):
        raise TypeError(f"vae must be a PointVAE, got {type(vae).__name__}")
    x = vae._points(x)
    k = check_int("k", k, minimum=1, maximum=100_000)
    chunk = check_int("chunk", chunk, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    mu, log_var = vae.encoder(x, training=False)  # (B, latent_dim)
    n = tf.shape(mu)[0]
    total = tf.fill([n], -np.inf)  # running logsumexp of log w, (B,)
    for start in range(0, k, chunk):
        c = min(chunk, k - start)
        # (c, B, latent_dim): sample i always uses seed [seed, i], whatever the chunk
        eps = tf.stack(
            [
                tf.random.stateless_normal(tf.shape(mu), seed=[seed, i])
                for i in range(start, start + c)
            ]
        )
        z = reparameterize(mu[None], log_var[None], eps)  # (c, B, latent_dim)
        z_flat = tf.reshape(z, [-1, vae.cfg.latent_dim])  # (c B, latent_dim)
        mean, log_var_x = vae.decoder(z_flat, training=False)  # (c B, d) each
        x_rep = tf.reshape(tf.tile(x[None], [c, 1, 1]), [-1, vae.cfg.data_dim])
        log_lik = tf.reshape(gaussian_log_density(x_rep, mean, log_var_x), [c, -1])  # (c, B)
        log_prior = gaussian_log_density(z, tf.zeros_like(z), tf.zeros_like(z))  # (c, B)
        log_q = gaussian_log_density(z, mu[None], log_var[None])  # (c, B)
        log_w = log_lik + log_prior - log_q
        total = tf.reduce_logsumexp(tf.concat([total[None], log_w], axis=0), axis=0)
    return -(total - math.log(k)).numpy().astype(np.float64)


def make_task(vae: PointVAE, optimizer: keras.optimizers.Optimizer) -> Task:
    """One objective, ``"loss"`` = ``-ELBO`` in nats per point, for the course's Trainer."""
    if not isinstance(vae, PointVAE):
        raise TypeError(f"vae must be a PointVAE, got {type(vae).__name__}")
    vae(tf.zeros((1, vae.cfg.data_dim)))  # build, so the variables exist
    return Task(
        objectives=[Objective("loss", vae.loss_fn, vae, optimizer)],
        models={"point_vae": vae},
        trackables={"seed_generator_state": vae.seed_generator.state},
    )
