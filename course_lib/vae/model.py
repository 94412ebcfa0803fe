"""A variational autoencoder (Kingma & Welling 2014) for binarised 28x28 images.

The model:

* prior ``p(z) = N(0, I)`` with ``z`` of size ``latent_dim``;
* encoder ``q(z|x) = N(mu(x), diag(exp(log_var(x))))`` (the log-variance head is linear,
  so it is unconstrained and the variance ``exp(log_var)`` is always positive);
* Bernoulli decoder ``p(x|z) = prod_pixels Bernoulli(x; sigmoid(logits(z)))``.

Training maximises the evidence lower bound (ELBO), per example, in nats:

.. math:: \\mathrm{ELBO}(x) = E_{q(z|x)}[\\log p(x|z)] - KL(q(z|x) \\| p(z)) \\le \\log p(x).

The loss handed to :mod:`course_lib.training` is ``-(reconstruction - beta * kl)`` per
example (``beta = 1`` gives the negative ELBO). The held-out evaluation (the tighter
importance-weighted bound of Burda et al. 2016) is in :mod:`course_lib.vae.evaluation`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from course_lib.runtime.validation import (
    check_array,
    check_choice,
    check_config,
    check_int,
    check_real,
    check_widths,
)
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
        check_choice("VAEConfig.kind", self.kind, KINDS)
        max_latent = 50 if self.kind == "mlp" else 256
        check_int("VAEConfig.latent_dim", self.latent_dim, minimum=1, maximum=max_latent)
        object.__setattr__(self, "hidden", check_widths("VAEConfig.hidden", self.hidden))
        check_real("VAEConfig.beta", self.beta, minimum=0.0)
        if not isinstance(self.input_shape, (tuple, list)) or len(self.input_shape) != 3:
            raise ValueError(f"VAEConfig.input_shape must be (H, W, C), got {self.input_shape!r}")
        for axis, size in zip("HWC", self.input_shape, strict=True):
            check_int(f"VAEConfig.input_shape {axis}", size, minimum=1)
        shape = tuple(int(size) for size in self.input_shape)
        object.__setattr__(self, "input_shape", shape)
        if self.kind == "conv" and (shape[0] % 4 or shape[1] % 4):
            raise ValueError(
                f"kind 'conv' halves H and W twice: they must be divisible by 4, got {shape}"
            )


# --------------------------------------------------------------------------- networks
def build_encoder(cfg: VAEConfig) -> keras.Model:
    """``x (B, H, W, C) -> [mu (B, latent_dim), log_var (B, latent_dim)]`` of ``q(z|x)``."""
    x = keras.Input(shape=cfg.input_shape, name="x")
    if cfg.kind == "mlp":
        # (B, H*W*C)
        h = keras.layers.Flatten()(x)
        for width in cfg.hidden:
            h = keras.layers.Dense(width, activation="relu")(h)
    else:
        # The layout of TensorFlow's CVAE tutorial: (B, 13, 13, 32), (B, 6, 6, 64), (B, 2304).
        h = keras.layers.Conv2D(32, 3, strides=2, activation="relu")(x)
        h = keras.layers.Conv2D(64, 3, strides=2, activation="relu")(h)
        h = keras.layers.Flatten()(h)
    # (B, 2 * latent_dim), linear: log_var may take any real value. Computed in float32 under a
    # mixed-precision policy too (Keras's guide: outputs that feed the loss stay float32), so
    # mu, log_var, eps and the ELBO are float32 whatever the body computes in.
    h = keras.layers.Dense(2 * cfg.latent_dim, name="mu_log_var", dtype="float32")(h)
    # (B, latent_dim) each
    mu, log_var = keras.ops.split(h, 2, axis=-1)
    return keras.Model(x, [mu, log_var], name=f"{cfg.kind}_encoder")


def build_decoder(cfg: VAEConfig) -> keras.Model:
    """``z (B, latent_dim) -> logits (B, H, W, C)`` of the Bernoulli ``p(x|z)``."""
    height, width, channels = cfg.input_shape
    z = keras.Input(shape=(cfg.latent_dim,), name="z")
    if cfg.kind == "mlp":
        h = z
        for units in reversed(cfg.hidden):
            h = keras.layers.Dense(units, activation="relu")(h)
        # (B, H*W*C), float32 under mixed precision too (the logits feed the loss)
        h = keras.layers.Dense(height * width * channels, dtype="float32")(h)
        logits = keras.layers.Reshape(cfg.input_shape, name="logits", dtype="float32")(h)
    else:
        h = keras.layers.Dense((height // 4) * (width // 4) * 32, activation="relu")(z)
        # (B, H/4, W/4, 32)
        h = keras.layers.Reshape((height // 4, width // 4, 32))(h)
        # (B, H/2, W/2, 64)
        h = keras.layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu")(h)
        # (B, H, W, 32)
        h = keras.layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu")(h)
        # (B, H, W, C), float32 under mixed precision too (the logits feed the loss)
        logits = keras.layers.Conv2DTranspose(
            channels, 3, padding="same", name="logits", dtype="float32"
        )(h)
    return keras.Model(z, logits, name=f"{cfg.kind}_decoder")


# --------------------------------------------------------------------------- the ELBO's terms
def gaussian_kl(mu: tf.Tensor, log_var: tf.Tensor) -> tf.Tensor:
    """Analytic ``KL(N(mu, diag exp(log_var)) || N(0, I))`` per example, shape ``(B,)``, nats:

    .. math:: KL = -\\tfrac12 \\sum_j (1 + \\log\\sigma_j^2 - \\mu_j^2 - \\sigma_j^2).
    """
    return -0.5 * tf.reduce_sum(1.0 + log_var - tf.square(mu) - tf.exp(log_var), axis=-1)


def reparameterize(mu: tf.Tensor, log_var: tf.Tensor, eps: tf.Tensor) -> tf.Tensor:
    """``z = mu + exp(log_var / 2) * eps`` with ``eps ~ N(0, I)``.

    A sample of ``q(z|x)`` that is differentiable in ``mu`` and ``log_var``. Shapes
    broadcast, e.g. ``(B, latent_dim)``.
    """
    return mu + tf.exp(0.5 * log_var) * eps


def bernoulli_log_likelihood(x: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """``log p(x|z) = sum_pixels [x log sigmoid(l) + (1 - x) log(1 - sigmoid(l))]``, ``(B,)``.

    Computed stably as ``-sigmoid_cross_entropy_with_logits`` summed over all non-batch axes.
    """
    per_pixel = -tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.cast(x, logits.dtype), logits=logits
    )
    per_example = tf.reshape(per_pixel, [tf.shape(per_pixel)[0], -1])
    return tf.reduce_sum(per_example, axis=1)


def gaussian_log_density(z: tf.Tensor, mu: tf.Tensor, log_var: tf.Tensor) -> tf.Tensor:
    """``log N(z; mu, diag exp(log_var))``, summed over the last axis:

    .. math:: -\\tfrac12 \\sum_j \\big[\\log 2\\pi + \\log\\sigma_j^2
              + (z_j - \\mu_j)^2 / \\sigma_j^2\\big].
    """
    squared = tf.square(z - mu) * tf.exp(-log_var)
    return -0.5 * tf.reduce_sum(_LOG_2PI + log_var + squared, axis=-1)


def check_images(x, input_shape: tuple[int, int, int] = (28, 28, 1), name: str = "x") -> None:
    """Raise a clear error unless ``x`` is a float batch ``(B, *input_shape)`` in [0, 1].

    Shape and dtype are checked whenever they are static; values only for eager/NumPy input
    (NaN is refused with the out-of-range values).
    """
    shape = tuple(x.shape if hasattr(x, "shape") else np.shape(x))
    if len(shape) != 4 or tuple(shape[1:]) != tuple(input_shape):
        hint = " (add a batch axis: x[None])" if tuple(shape) == tuple(input_shape) else ""
        expected = ", ".join(map(str, input_shape))
        raise ValueError(f"{name} must have shape (B, {expected}), got {shape}{hint}")
    dtype = tf.as_dtype(x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype)
    if not dtype.is_floating:
        raise TypeError(
            f"{name} must be float in [0, 1], got dtype {dtype.name} (divide uint8 by 255)"
        )
    eager = tf.is_tensor(x) and tf.executing_eagerly() and hasattr(x, "numpy")
    if isinstance(x, np.ndarray) or eager:
        values = np.asarray(x)
        # ``(values >= 0) & (values <= 1)`` is False for NaN, so NaN is refused too.
        if values.size and not ((values >= 0) & (values <= 1)).all():
            n_nan = int(np.isnan(values).sum())
            if n_nan:
                found = f"{n_nan} NaN value(s)"
            else:
                found = f"range [{values.min():.3g}, {values.max():.3g}]"
            raise ValueError(f"{name} must lie in [0, 1] (Bernoulli targets), got {found}")


# --------------------------------------------------------------------------- the model
class VAE(keras.Model):
    """Encoder, decoder and a tracked ``SeedGenerator`` (checkpointed with the weights).

    Create it inside ``strategy.scope()`` when training under a distribution strategy.
    """

    def __init__(self, cfg: VAEConfig | None = None, seed: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.cfg = check_config("cfg", cfg, VAEConfig)
        self.encoder = build_encoder(self.cfg)
        self.decoder = build_decoder(self.cfg)
        seed = check_int("seed", seed)
        self.seed_generator = keras.random.SeedGenerator(seed, name="vae_seed")

    def encode(self, x: tf.Tensor, training: bool = False) -> tuple[tf.Tensor, tf.Tensor]:
        """``x (B, 28, 28, 1) -> (mu, log_var)``, each ``(B, latent_dim)``."""
        check_images(x, self.cfg.input_shape)
        mu, log_var = self.encoder(x, training=training)
        return mu, log_var

    def decode(self, z: tf.Tensor, training: bool = False) -> tf.Tensor:
        """``z (B, latent_dim) -> logits (B, 28, 28, 1)`` of ``p(x|z)``."""
        shape = tuple(z.shape if hasattr(z, "shape") else np.shape(z))
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
        """Loss ``-(reconstruction - beta * kl)`` ``(B,)`` and the ELBO terms as metrics.

        For :class:`course_lib.training.Objective`. ``batch`` is ``x`` or ``(x, labels)``.
        """
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        terms = self.elbo_terms(x, training)
        loss = -(terms["reconstruction"] - self.cfg.beta * terms["kl"])
        return loss, {
            "elbo": terms["elbo"],
            "reconstruction": terms["reconstruction"],
            "kl": terms["kl"],
        }

    def sample(self, n: int, seed: int | None = None) -> tf.Tensor:
        """``n`` images from the model: ``z ~ N(0, I)``, returns ``sigmoid(logits)``.

        Pixel probabilities ``(n, 28, 28, 1)``. ``seed=None`` uses the model's SeedGenerator.
        """
        n = check_int("n", n, minimum=1)
        if seed is None:
            seed = self.seed_generator
        else:
            seed = check_int("seed", seed)
        z = keras.random.normal((n, self.cfg.latent_dim), seed=seed)  # (n, latent_dim)
        return tf.sigmoid(self.decode(z))

    def reconstruct(self, x: tf.Tensor) -> tf.Tensor:
        """Probabilities ``sigmoid(logits(mu(x)))`` ``(B, 28, 28, 1)``, decoding the mean of q."""
        mu, _ = self.encode(x)
        return tf.sigmoid(self.decode(mu))

    def _one_mean(self, x: tf.Tensor, name: str) -> tf.Tensor:
        """``mu(x)`` ``(1, latent_dim)`` of one image given as ``(H, W, C)`` or ``(1, H, W, C)``."""
        if tuple(np.shape(x)) == tuple(self.cfg.input_shape):
            x = x[None]
        if len(np.shape(x)) != 4 or np.shape(x)[0] != 1:
            raise ValueError(
                f"{name} must be one image {self.cfg.input_shape} or (1, ...), got {np.shape(x)}"
            )
        check_images(x, self.cfg.input_shape, name)
        return self.encoder(x, training=False)[0]

    def interpolate(self, x_a: tf.Tensor, x_b: tf.Tensor, steps: int = 8) -> tf.Tensor:
        """Decode ``z_t = (1 - t) mu(x_a) + t mu(x_b)`` for ``t`` in ``linspace(0, 1, steps)``.

        Returns probabilities ``(steps, 28, 28, 1)``.
        """
        steps = check_int("steps", steps, minimum=2)
        mu_a = self._one_mean(x_a, "x_a")
        mu_b = self._one_mean(x_b, "x_b")
        t = tf.linspace(0.0, 1.0, steps)[:, None]  # (steps, 1)
        return tf.sigmoid(self.decode((1.0 - t) * mu_a + t * mu_b))

    def traverse(self, x: tf.Tensor, dim: int, values) -> tf.Tensor:
        """Decode ``mu(x)`` with coordinate ``dim`` set to each of ``values``.

        Returns probabilities ``(len(values), 28, 28, 1)``.
        """
        dim = check_int("dim", dim, minimum=0, maximum=self.cfg.latent_dim - 1)
        values = check_array(
            "values", values, ndim=(0, 1), kind="number", finite=True, nonempty=True
        )
        values = tf.reshape(tf.convert_to_tensor(values, tf.float32), [-1])  # (V,)
        mu = self._one_mean(x, "x")  # (1, latent_dim)
        z = tf.tile(mu, [tf.shape(values)[0], 1])  # (V, latent_dim)
        mask = tf.one_hot(dim, self.cfg.latent_dim)  # (latent_dim,)
        z = z * (1.0 - mask) + values[:, None] * mask
        return tf.sigmoid(self.decode(z))


def make_task(vae: VAE, optimizer: keras.optimizers.Optimizer) -> Task:
    """One objective, ``"loss"`` = ``-(reconstruction - beta kl)``, for the course's Trainer.

    The SeedGenerator's state is checkpointed too, so a resumed run draws the same noise.
    """
    if not isinstance(vae, VAE):
        raise TypeError(f"vae must be a course_lib.vae.VAE, got {type(vae).__name__}")
    return Task(
        objectives=[Objective("loss", vae.loss_fn, vae, optimizer)],
        models={"vae": vae},
        trackables={"seed_generator_state": vae.seed_generator.state},
    )
