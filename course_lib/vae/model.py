"""A variational autoencoder (Kingma & Welling 2014) for binarised 28x28 images.

The model:

* prior ``p(z) = N(0, I)`` with ``z`` of size ``latent_dim``;
* encoder ``q(z|x) = N(mu(x), diag(exp(log_var(x))))`` (the log-variance head is linear,
  so it is unconstrained and the variance ``exp(log_var)`` is always positive);
* Bernoulli decoder ``p(x|z) = prod_pixels Bernoulli(x; sigmoid(logits(z)))``.

Training maximises the evidence lower bound (ELBO), per example, in nats:

.. math:: \\mathrm{ELBO}(x) = E_{q(z|x)}[\\log p(x|z)] - KL(q(z|x) \\| p(z)) \\le \\log p(x).

The loss handed to :mod:`course_lib.training` is ``-(reconstruction - beta * kl)`` per
example (``beta = 1`` gives the negative ELBO). :func:`iwae_log_likelihood` gives the
tighter importance-weighted bound (Burda et al. 2016) used to report ``log p(x)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from course_lib.training import Objective, Task

KINDS = ("mlp", "conv")
_LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class VAEConfig:
    """The architecture, as data.

    Attributes:
        latent_dim: size of ``z`` (1..50 for ``mlp``, 1..256 for ``conv``).
        kind: ``"mlp"`` (Dense layers ``hidden``) or ``"conv"`` (two stride-2 Conv2D 32/64 and
            a mirrored Conv2DTranspose decoder: the layout of TensorFlow's CVAE tutorial).
        hidden: widths of the MLP encoder's hidden layers (the decoder uses them reversed).
        beta: weight of the KL term in the training loss (``beta = 1``: the ELBO).
        input_shape: ``(H, W, C)`` of ``x``; ``conv`` needs ``H`` and ``W`` divisible by 4.
    """

    latent_dim: int = 2
    kind: str = "mlp"
    hidden: tuple[int, ...] = (512, 256)
    beta: float = 1.0
    input_shape: tuple[int, int, int] = (28, 28, 1)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"VAEConfig.kind must be one of {KINDS}, got {self.kind!r}")
        max_latent = 50 if self.kind == "mlp" else 256
        if (
            isinstance(self.latent_dim, bool)
            or not isinstance(self.latent_dim, (int, np.integer))
            or not 1 <= self.latent_dim <= max_latent
        ):
            raise ValueError(
                f"VAEConfig.latent_dim must be an int in 1..{max_latent} for kind "
                f"{self.kind!r}, got {self.latent_dim!r}"
            )
        if not self.hidden or any(
            not isinstance(h, (int, np.integer)) or h < 1 for h in self.hidden
        ):
            raise ValueError(
                f"VAEConfig.hidden must be a non-empty tuple of positive ints, got {self.hidden!r}"
            )
        if not (math.isfinite(float(self.beta)) and self.beta >= 0):
            raise ValueError(f"VAEConfig.beta must be a finite number >= 0, got {self.beta!r}")
        shape = tuple(self.input_shape)
        if len(shape) != 3 or any(not isinstance(s, (int, np.integer)) or s < 1 for s in shape):
            raise ValueError(
                f"VAEConfig.input_shape must be (H, W, C) of positive ints, got {self.input_shape!r}"
            )
        if self.kind == "conv" and (shape[0] % 4 or shape[1] % 4):
            raise ValueError(
                f"kind 'conv' halves H and W twice: they must be divisible by 4, got {shape}"
            )


# --------------------------------------------------------------------------- networks
def build_encoder(cfg: VAEConfig) -> keras.Model:
    """``x (B, H, W, C) -> [mu (B, latent_dim), log_var (B, latent_dim)]`` of ``q(z|x)``."""
    x = keras.Input(shape=cfg.input_shape, name="x")
    if cfg.kind == "mlp":
        h = keras.layers.Flatten()(x)  # (B, H*W*C)
        for width in cfg.hidden:
            h = keras.layers.Dense(width, activation="relu")(h)
    else:
        h = keras.layers.Conv2D(32, 3, strides=2, activation="relu")(
            x
        )  # (B, 13, 13, 32), CVAE tutorial
        h = keras.layers.Conv2D(64, 3, strides=2, activation="relu")(h)  # (B, 6, 6, 64)
        h = keras.layers.Flatten()(h)  # (B, 2304)
    h = keras.layers.Dense(2 * cfg.latent_dim, name="mu_log_var")(h)  # (B, 2*latent_dim), linear
    mu, log_var = keras.ops.split(h, 2, axis=-1)  # (B, latent_dim) each
    return keras.Model(x, [mu, log_var], name=f"{cfg.kind}_encoder")


def build_decoder(cfg: VAEConfig) -> keras.Model:
    """``z (B, latent_dim) -> logits (B, H, W, C)`` of the Bernoulli ``p(x|z)``."""
    height, width, channels = cfg.input_shape
    z = keras.Input(shape=(cfg.latent_dim,), name="z")
    if cfg.kind == "mlp":
        h = z
        for units in reversed(cfg.hidden):
            h = keras.layers.Dense(units, activation="relu")(h)
        h = keras.layers.Dense(height * width * channels)(h)  # (B, H*W*C)
        logits = keras.layers.Reshape(cfg.input_shape, name="logits")(h)
    else:
        h = keras.layers.Dense((height // 4) * (width // 4) * 32, activation="relu")(z)
        h = keras.layers.Reshape((height // 4, width // 4, 32))(h)  # (B, H/4, W/4, 32)
        h = keras.layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu")(
            h
        )  # (B, H/2, W/2, 64)
        h = keras.layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu")(
            h
        )  # (B, H, W, 32)
        logits = keras.layers.Conv2DTranspose(channels, 3, padding="same", name="logits")(
            h
        )  # (B, H, W, C)
    return keras.Model(z, logits, name=f"{cfg.kind}_decoder")


# --------------------------------------------------------------------------- the math
def gaussian_kl(mu: tf.Tensor, log_var: tf.Tensor) -> tf.Tensor:
    """Analytic ``KL(N(mu, diag exp(log_var)) || N(0, I))`` per example, shape ``(B,)``, nats:

    .. math:: KL = -\\tfrac12 \\sum_j (1 + \\log\\sigma_j^2 - \\mu_j^2 - \\sigma_j^2).
    """
    return -0.5 * tf.reduce_sum(1.0 + log_var - tf.square(mu) - tf.exp(log_var), axis=-1)


def reparameterize(mu: tf.Tensor, log_var: tf.Tensor, eps: tf.Tensor) -> tf.Tensor:
    """``z = mu + exp(log_var / 2) * eps`` with ``eps ~ N(0, I)``: a sample of ``q(z|x)``
    that is differentiable in ``mu`` and ``log_var``. Shapes broadcast, e.g. ``(B, latent_dim)``."""
    return mu + tf.exp(0.5 * log_var) * eps


def bernoulli_log_likelihood(x: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """``log p(x|z) = sum_pixels [x log sigmoid(l) + (1 - x) log(1 - sigmoid(l))]``, ``(B,)``.

    Computed stably as ``-sigmoid_cross_entropy_with_logits`` summed over all non-batch axes.
    """
    per_pixel = -tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.cast(x, logits.dtype), logits=logits
    )
    return tf.reduce_sum(tf.reshape(per_pixel, [tf.shape(per_pixel)[0], -1]), axis=1)


def gaussian_log_density(z: tf.Tensor, mu: tf.Tensor, log_var: tf.Tensor) -> tf.Tensor:
    """``log N(z; mu, diag exp(log_var)) = -1/2 sum_j [log 2pi + log_var_j + (z_j - mu_j)^2 / exp(log_var_j)]``,
    summed over the last axis."""
    return -0.5 * tf.reduce_sum(_LOG_2PI + log_var + tf.square(z - mu) * tf.exp(-log_var), axis=-1)


def check_images(x, input_shape: tuple[int, int, int] = (28, 28, 1), name: str = "x") -> None:
    """Raise a clear error unless ``x`` is a float batch ``(B, *input_shape)`` in [0, 1].

    Shape and dtype are checked whenever they are static; values only for eager/NumPy input.
    """
    shape = tuple(x.shape if hasattr(x, "shape") else np.shape(x))
    if len(shape) != 4 or tuple(shape[1:]) != tuple(input_shape):
        raise ValueError(
            f"{name} must have shape (B, {', '.join(map(str, input_shape))}), got {shape}"
            + (" (add a batch axis: x[None])" if tuple(shape) == tuple(input_shape) else "")
        )
    dtype = tf.as_dtype(x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype)
    if not dtype.is_floating:
        raise TypeError(
            f"{name} must be float in [0, 1], got dtype {dtype.name} (divide uint8 by 255)"
        )
    if isinstance(x, np.ndarray) or (
        tf.is_tensor(x) and tf.executing_eagerly() and hasattr(x, "numpy")
    ):
        values = np.asarray(x)
        if values.size and not ((values >= 0) & (values <= 1)).all():  # also rejects NaN
            raise ValueError(
                f"{name} must lie in [0, 1] (Bernoulli targets), got range "
                f"[{np.nanmin(values):.3g}, {np.nanmax(values):.3g}]"
            )


# --------------------------------------------------------------------------- the model
class VAE(keras.Model):
    """Encoder, decoder and a tracked ``SeedGenerator`` (checkpointed with the weights).

    Create it inside ``strategy.scope()`` when training under a distribution strategy.
    """

    def __init__(self, cfg: VAEConfig | None = None, seed: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.cfg = cfg or VAEConfig()
        self.encoder = build_encoder(self.cfg)
        self.decoder = build_decoder(self.cfg)
        self.seed_generator = keras.random.SeedGenerator(seed, name="vae_seed")

    def encode(self, x: tf.Tensor, training: bool = False) -> tuple[tf.Tensor, tf.Tensor]:
        """``x (B, 28, 28, 1) -> (mu, log_var)``, each ``(B, latent_dim)``."""
        check_images(x, self.cfg.input_shape)
        mu, log_var = self.encoder(x, training=training)
        return mu, log_var

    def decode(self, z: tf.Tensor, training: bool = False) -> tf.Tensor:
        """``z (B, latent_dim) -> logits (B, 28, 28, 1)`` of ``p(x|z)``."""
        shape = tuple(z.shape)
        if len(shape) != 2 or shape[1] != self.cfg.latent_dim:
            raise ValueError(f"z must have shape (B, {self.cfg.latent_dim}), got {shape}")
        return self.decoder(z, training=training)

    def call(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        """Logits of ``p(x|z)`` for one ``z ~ q(z|x)``, ``(B, 28, 28, 1)``."""
        mu, log_var = self.encode(x, training)
        eps = keras.random.normal(tf.shape(mu), seed=self.seed_generator)
        return self.decode(reparameterize(mu, log_var, eps), training)

    def elbo_terms(self, x: tf.Tensor, training: bool = False) -> dict[str, tf.Tensor]:
        """One-sample ELBO terms per example, in nats, each ``(B,)``:

        ``reconstruction = log p(x|z)`` with ``z ~ q(z|x)`` (an unbiased estimate of
        ``E_q[log p(x|z)]``), ``kl = KL(q(z|x) || p(z))`` (analytic),
        ``elbo = reconstruction - kl``.
        """
        mu, log_var = self.encode(x, training)  # (B, latent_dim)
        eps = keras.random.normal(tf.shape(mu), seed=self.seed_generator)  # (B, latent_dim)
        z = reparameterize(mu, log_var, eps)  # (B, latent_dim)
        logits = self.decode(z, training)  # (B, 28, 28, 1)
        reconstruction = bernoulli_log_likelihood(x, logits)  # (B,)
        kl = gaussian_kl(mu, log_var)  # (B,)
        return {"elbo": reconstruction - kl, "reconstruction": reconstruction, "kl": kl}

    def loss_fn(self, batch, training: bool) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        """Loss ``-(reconstruction - beta * kl)`` ``(B,)`` and the ELBO terms as metrics, for
        :class:`course_lib.training.Objective`. ``batch`` is ``x`` or ``(x, labels)``."""
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        terms = self.elbo_terms(x, training)
        loss = -(terms["reconstruction"] - self.cfg.beta * terms["kl"])
        return loss, {
            "elbo": terms["elbo"],
            "reconstruction": terms["reconstruction"],
            "kl": terms["kl"],
        }

    def sample(self, n: int, seed: int | None = None) -> tf.Tensor:
        """``n`` images from the model: ``z ~ N(0, I)``, returns ``sigmoid(logits)`` — pixel
        probabilities ``(n, 28, 28, 1)``. ``seed=None`` uses the model's SeedGenerator."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        z = keras.random.normal(
            (int(n), self.cfg.latent_dim), seed=self.seed_generator if seed is None else seed
        )  # (n, latent_dim)
        return tf.sigmoid(self.decode(z))

    def reconstruct(self, x: tf.Tensor) -> tf.Tensor:
        """Probabilities ``sigmoid(logits(mu(x)))`` ``(B, 28, 28, 1)``, decoding the mean of q."""
        mu, _ = self.encode(x)
        return tf.sigmoid(self.decode(mu))

    def _one_mean(self, x: tf.Tensor, name: str) -> tf.Tensor:
        x = x[None] if tuple(np.shape(x)) == tuple(self.cfg.input_shape) else x
        if np.shape(x)[0] != 1:
            raise ValueError(
                f"{name} must be one image {self.cfg.input_shape} or (1, ...), got {np.shape(x)}"
            )
        check_images(x, self.cfg.input_shape, name)
        return self.encoder(x, training=False)[0]  # (1, latent_dim)

    def interpolate(self, x_a: tf.Tensor, x_b: tf.Tensor, steps: int = 8) -> tf.Tensor:
        """Decode ``z_t = (1 - t) mu(x_a) + t mu(x_b)`` for ``t`` in ``linspace(0, 1, steps)``:
        probabilities ``(steps, 28, 28, 1)``."""
        if not isinstance(steps, (int, np.integer)) or steps < 2:
            raise ValueError(f"steps must be an int >= 2, got {steps!r}")
        mu_a, mu_b = self._one_mean(x_a, "x_a"), self._one_mean(x_b, "x_b")
        t = tf.linspace(0.0, 1.0, int(steps))[:, None]  # (steps, 1)
        return tf.sigmoid(self.decode((1.0 - t) * mu_a + t * mu_b))

    def traverse(self, x: tf.Tensor, dim: int, values) -> tf.Tensor:
        """Decode ``mu(x)`` with coordinate ``dim`` set to each of ``values``:
        probabilities ``(len(values), 28, 28, 1)``."""
        if not isinstance(dim, (int, np.integer)) or not 0 <= dim < self.cfg.latent_dim:
            raise ValueError(f"dim must be an int in 0..{self.cfg.latent_dim - 1}, got {dim!r}")
        values = tf.reshape(tf.convert_to_tensor(values, tf.float32), [-1])  # (V,)
        mu = self._one_mean(x, "x")  # (1, latent_dim)
        z = tf.tile(mu, [tf.shape(values)[0], 1])  # (V, latent_dim)
        mask = tf.one_hot(dim, self.cfg.latent_dim)  # (latent_dim,)
        z = z * (1.0 - mask) + values[:, None] * mask
        return tf.sigmoid(self.decode(z))


def make_task(vae: VAE, optimizer: keras.optimizers.Optimizer) -> Task:
    """One objective (``"loss"`` = ``-(reconstruction - beta kl)``) for :class:`course_lib.training.Trainer`;
    the SeedGenerator's state is checkpointed too, so a resumed run draws the same noise."""
    return Task(
        objectives=[Objective("loss", vae.loss_fn, vae, optimizer)],
        models={"vae": vae},
        trackables={"seed_generator_state": vae.seed_generator.state},
    )


# --------------------------------------------------------------------------- evaluation
def iwae_log_likelihood(
    vae: VAE, x: tf.Tensor, k: int = 5000, chunk: int = 100, seed: int = 0
) -> tf.Tensor:
    """Importance-weighted estimate of ``log p(x)`` per example, ``(B,)``, nats (Burda et al. 2016):

    .. math:: \\log p(x) \\approx \\log \\frac1k \\sum_{i=1}^k
              \\frac{p(x|z_i)\\,p(z_i)}{q(z_i|x)}, \\qquad z_i \\sim q(z|x).

    A lower bound in expectation that tightens as ``k`` grows; ``k = 1`` is an unbiased
    one-sample ELBO estimate. Samples are decoded ``chunk`` at a time and combined with a
    running logsumexp, so memory is ``O(chunk * B)`` images for any ``k`` (up to 5,000).
    The noise for sample ``i`` is ``stateless_normal(seed=[seed, i])``, so the result does
    not depend on ``chunk`` (calling it batch by batch, give each batch its own ``seed``).

    The number depends on how ``x`` was binarised: Burda et al. (2016) draw a new binarisation
    ``x ~ Bernoulli(intensity)`` every time an image is used (:func:`course_lib.data.binarize_dynamic`);
    the README of their code (github.com/yburda/iwae) reports test log-likelihoods about 2 nats
    lower for the same models trained on one fixed binarisation. Compare only models evaluated on
    identically binarised data.
    """
    for name, value, top in (("k", k, 5000), ("chunk", chunk, 5000)):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, np.integer))
            or not 1 <= value <= top
        ):
            raise ValueError(f"{name} must be an int in 1..{top}, got {value!r}")
    x = tf.convert_to_tensor(x)
    mu, log_var = vae.encode(x)  # (B, latent_dim)
    batch = tf.shape(mu)[0]
    total = tf.fill([batch], -np.inf)  # running logsumexp of log w over samples, (B,)
    for start in range(0, int(k), int(chunk)):
        c = min(int(chunk), int(k) - start)
        eps = tf.stack(
            [
                tf.random.stateless_normal(tf.shape(mu), seed=[seed, i], dtype=mu.dtype)
                for i in range(start, start + c)
            ]
        )  # (c, B, latent_dim)
        z = reparameterize(mu, log_var, eps)  # (c, B, latent_dim)
        logits = vae.decode(tf.reshape(z, [-1, vae.cfg.latent_dim]))  # (c*B, 28, 28, 1)
        x_rep = tf.tile(x, [c, 1, 1, 1])  # (c*B, 28, 28, 1), sample-major like z
        log_px_z = tf.reshape(bernoulli_log_likelihood(x_rep, logits), [c, batch])  # (c, B)
        log_pz = gaussian_log_density(z, 0.0, 0.0)  # (c, B)
        log_qz = gaussian_log_density(z, mu, log_var)  # (c, B)
        log_w = log_px_z + log_pz - log_qz  # (c, B)
        total = tf.reduce_logsumexp(tf.stack([total, tf.reduce_logsumexp(log_w, axis=0)]), axis=0)
    return total - math.log(k)
