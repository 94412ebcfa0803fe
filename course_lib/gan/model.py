"""The :class:`GAN` model, its two-objective :class:`~course_lib.training.Task`, and a
callback that keeps generated samples from fixed noise after every epoch.

One training step of :class:`course_lib.training.Trainer` on a batch ``x`` runs, in order:

1. ``d_loss``: draw ``z``, compute ``G(z)`` (treated as a constant), update ``D`` only;
2. ``g_loss``: draw a fresh ``z``, update ``G`` only through the just-updated ``D``.

Each objective's optimizer sees only its own network's trainable variables, so ``d_loss``
never moves ``G``'s weights and ``g_loss`` never moves ``D``'s. Both run the networks in
training mode, so the generator's batch-norm *running statistics* (non-trainable, not
touched by any optimizer) are refreshed in both objectives.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from course_lib.gan.config import GANConfig
from course_lib.gan.losses import (
    critic_loss,
    discriminator_loss,
    gradient_penalty,
    minimax_generator_loss,
    non_saturating_generator_loss,
    wasserstein_generator_loss,
)
from course_lib.gan.networks import build_discriminator, build_generator
from course_lib.runtime.validation import check_config, check_int
from course_lib.training import Objective, Task, Trainer
from course_lib.training.history import Record

GENERATOR_LOSSES = {
    "non_saturating": non_saturating_generator_loss,
    "minimax": minimax_generator_loss,
    "wgan_gp": wasserstein_generator_loss,
}


class GAN(keras.Model):
    """Generator, discriminator and a tracked ``SeedGenerator`` for ``z`` (and the gradient
    penalty's ``eps``), checkpointed with the weights so a resumed run draws the same noise.

    Create it inside ``strategy.scope()`` when training under a distribution strategy.
    ``GAN(cfg)(z)`` is ``G(z)``.
    """

    def __init__(self, cfg: GANConfig | None = None, seed: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.cfg = check_config("cfg", cfg, GANConfig)
        self.generator = build_generator(self.cfg)
        self.discriminator = build_discriminator(self.cfg)
        seed = check_int("seed", seed)
        self.seed_generator = keras.random.SeedGenerator(seed, name="gan_seed")

    def sample_z(self, n, seed: int | None = None) -> tf.Tensor:
        """``z ~ N(0, I)``, ``(n, latent_dim)``.

        ``n`` is a positive int or a scalar int tensor (the batch size inside a step).
        ``seed=None`` uses (and advances) the model's SeedGenerator.
        """
        if not tf.is_tensor(n):
            n = check_int("n", n, minimum=1)
        if seed is None:
            seed = self.seed_generator
        else:
            seed = check_int("seed", seed)
        return keras.random.normal(tf.stack([n, self.cfg.latent_dim]), seed=seed)

    def call(self, z: tf.Tensor, training: bool = False) -> tf.Tensor:
        """``G(z)``: ``z (B, latent_dim) -> x (B, *data_shape)``."""
        return self.generator(z, training=training)

    def generate(self, n: int, seed: int | None = None) -> tf.Tensor:
        """``n`` samples ``G(z)``, ``z ~ N(0, I)``, in inference mode, ``(n, *data_shape)``.

        In the data's scale (``[-1, 1]`` for ``dcgan``). ``seed=None`` uses the model's
        SeedGenerator.
        """
        n = check_int("n", n, minimum=1)
        return self.generator(self.sample_z(n, seed), training=False)

    def _scores(self, x: tf.Tensor, training: bool) -> tf.Tensor:
        """The discriminator's logits (or critic scores) as float32 ``(B,)``."""
        logits = self.discriminator(x, training=training)  # (B, 1)
        return tf.reshape(tf.cast(logits, tf.float32), [-1])

    def d_loss_fn(self, batch, training: bool) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        """Per-example discriminator (or critic) loss ``(B,)`` and metrics, for an Objective.

        ``batch`` is ``x`` or ``(x, labels)``; ``B`` new ``z`` are drawn. Cross-entropy
        losses report ``d_real = D(x)`` and ``d_fake = D(G(z))``; ``wgan_gp`` reports the
        critic's scores ``critic_real = f(x)``, ``critic_fake = f(G(z))`` and the
        ``gradient_penalty``, and its loss is ``f(G(z)) - f(x) + gp_weight * penalty``.
        """
        # (B, *data_shape)
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        n = tf.shape(x)[0]
        # (B, *data_shape); the D step must not move G.
        x_fake = tf.stop_gradient(self.generator(self.sample_z(n), training=training))
        # (B,) each
        real = self._scores(x, training)
        fake = self._scores(x_fake, training)
        if self.cfg.loss != "wgan_gp":
            return discriminator_loss(real, fake), {
                "d_real": tf.sigmoid(real),
                "d_fake": tf.sigmoid(fake),
            }
        eps = keras.random.uniform(tf.shape(x)[:1], seed=self.seed_generator)  # (B,)
        penalty = gradient_penalty(
            lambda t: self.discriminator(t, training=training), x, x_fake, eps
        )
        loss = critic_loss(real, fake) + self.cfg.gp_weight * penalty
        return loss, {"critic_real": real, "critic_fake": fake, "gradient_penalty": penalty}

    def g_loss_fn(self, batch, training: bool) -> tf.Tensor:
        """Per-example generator loss ``(B,)`` on ``B`` new ``z`` (``B`` = the batch's size).

        ``-log D(G(z))``, ``log(1 - D(G(z)))`` or ``-f(G(z))`` as ``cfg.loss`` says.
        """
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        # (B, *data_shape)
        x_fake = self.generator(self.sample_z(tf.shape(x)[0]), training=training)
        return GENERATOR_LOSSES[self.cfg.loss](self._scores(x_fake, training))


def make_task(
    gan: GAN, d_optimizer: keras.optimizers.Optimizer, g_optimizer: keras.optimizers.Optimizer
) -> Task:
    """The GAN as a :class:`~course_lib.training.Task` for the course's Trainer.

    Two objectives, in order ``["d_loss", "g_loss"]`` (D's update, then G's, on every batch),
    models ``{"generator", "discriminator"}``, and the SeedGenerator's state as a trackable.
    """
    if not isinstance(gan, GAN):
        raise TypeError(f"gan must be a course_lib.gan.GAN, got {type(gan).__name__}")
    if d_optimizer is g_optimizer:
        raise ValueError(
            "D and G need two separate optimizer objects (each keeps its own moments)."
        )
    return Task(
        objectives=[
            Objective("d_loss", gan.d_loss_fn, gan.discriminator, d_optimizer),
            Objective("g_loss", gan.g_loss_fn, gan.generator, g_optimizer),
        ],
        models={"generator": gan.generator, "discriminator": gan.discriminator},
        trackables={"seed_generator_state": gan.seed_generator.state},
    )


class FixedNoiseGrid:
    """A :class:`~course_lib.training.Trainer` callback: ``G(z_fixed)`` at every record.

    The same ``n`` latent vectors (``z``, ``(n, latent_dim)``, drawn once from ``seed``) are
    decoded in inference mode each time the loop writes a record (every ``eval_every``
    steps), so successive snapshots show how one set of samples evolves. ``snapshots`` is a
    list of ``(step, samples (n, *data_shape))``. Use: ``trainer.fit(ds, callbacks=[grid])``.
    """

    def __init__(self, gan: GAN, n: int = 16, seed: int = 0) -> None:
        if not isinstance(gan, GAN):
            raise TypeError(f"gan must be a course_lib.gan.GAN, got {type(gan).__name__}")
        n = check_int("n", n, minimum=1)
        self.gan = gan
        # (n, latent_dim), drawn once
        self.z = np.asarray(gan.sample_z(n, seed=seed))
        self.snapshots: list[tuple[int, np.ndarray]] = []

    def samples(self) -> np.ndarray:
        """``G(z_fixed)`` now, ``(n, *data_shape)``."""
        return np.asarray(self.gan.generator(self.z, training=False))

    def __call__(self, trainer: Trainer, record: Record) -> None:
        self.snapshots.append((record.step, self.samples()))
