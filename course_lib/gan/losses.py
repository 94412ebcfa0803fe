"""GAN losses, one value per example ``(B,)``, from the discriminator's logits.

With ``D(x) = sigmoid(l(x))`` the value function of Goodfellow et al. (2014) is

.. math:: \\min_G \\max_D V(D, G) = E_x[\\log D(x)] + E_z[\\log(1 - D(G(z)))].

Every log-probability is computed from the logit ``l`` without forming ``sigmoid(l)``:

.. math:: -\\log \\sigma(l) = \\mathrm{softplus}(-l), \\qquad
          -\\log(1 - \\sigma(l)) = \\mathrm{softplus}(l),

which is finite for any finite ``l`` (``log(sigmoid(-100))`` in float32 is ``-inf``).

The Wasserstein GAN with gradient penalty (Gulrajani et al. 2017) replaces ``D`` by a
critic ``f`` whose raw output (the same logit) is a score, not a probability.
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf


def _per_example(logits: tf.Tensor) -> tf.Tensor:
    """``(B,)`` or ``(B, 1)`` logits -> float32 ``(B,)``."""
    logits = tf.cast(tf.convert_to_tensor(logits), tf.float32)
    return tf.reshape(logits, [-1]) if logits.shape.rank == 2 else logits


def discriminator_loss(real_logits: tf.Tensor, fake_logits: tf.Tensor) -> tf.Tensor:
    """``-[log D(x) + log(1 - D(G(z)))] = softplus(-l_real) + softplus(l_fake)``, ``(B,)``.

    Minimising it maximises ``V`` over ``D`` (the sign of the course's E3 correction).
    """
    return tf.nn.softplus(-_per_example(real_logits)) + tf.nn.softplus(_per_example(fake_logits))


def minimax_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """``log(1 - D(G(z))) = -softplus(l_fake)``, ``(B,)``, minimised by G (saturating).

    Its derivative in the logit is ``-sigmoid(l) = -D(G(z))``: when D confidently rejects the
    fakes (``D(G(z)) -> 0``, early in training) the gradient vanishes.
    """
    return -tf.nn.softplus(_per_example(fake_logits))


def non_saturating_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """``-log D(G(z)) = softplus(-l_fake)``, ``(B,)``, minimised by G.

    Its derivative in the logit is ``-(1 - D(G(z)))``, close to ``-1`` exactly where the
    minimax loss saturates; same fixed point, stronger early gradients (Goodfellow et al. 2014).
    """
    return tf.nn.softplus(-_per_example(fake_logits))


def critic_loss(real_scores: tf.Tensor, fake_scores: tf.Tensor) -> tf.Tensor:
    """Wasserstein critic loss ``f(G(z)) - f(x)``, ``(B,)``.

    Minimising it maximises ``E[f(x)] - E[f(G(z))]``, the critic's estimate of the
    Wasserstein-1 distance.
    """
    return _per_example(fake_scores) - _per_example(real_scores)


def wasserstein_generator_loss(fake_scores: tf.Tensor) -> tf.Tensor:
    """Wasserstein generator loss ``-f(G(z))``, ``(B,)``."""
    return -_per_example(fake_scores)


def gradient_penalty(
    critic: Callable[[tf.Tensor], tf.Tensor], x_real: tf.Tensor, x_fake: tf.Tensor, eps: tf.Tensor
) -> tf.Tensor:
    """The gradient penalty of Gulrajani et al. (2017), ``(||grad_x f(x_hat)||_2 - 1)^2``.

    One value per example, ``(B,)``, at ``x_hat = eps x + (1 - eps) x_fake``.

    ``critic(x) -> (B,)`` or ``(B, 1)`` scores; ``x_real`` and ``x_fake`` ``(B, ...)``; ``eps``
    ``(B,)`` mixing weights (uniform on [0, 1] in Gulrajani et al. 2017), broadcast over the
    other axes. The norm is over all non-batch axes. The critic must treat examples
    independently (no batch norm), or the gradient of example ``i`` mixes in the others.
    The penalty is differentiable in the critic's weights (a gradient of a gradient): call
    it inside the training tape. A tiny ``1e-12`` inside the square root keeps its
    gradient finite where ``grad_x f = 0``.
    """
    x_real = tf.convert_to_tensor(x_real)
    x_fake = tf.cast(x_fake, x_real.dtype)
    rank = x_real.shape.rank
    # (B, 1, ..., 1)
    eps = tf.reshape(tf.cast(eps, x_real.dtype), [-1] + [1] * (rank - 1))
    # (B, ...)
    x_hat = eps * x_real + (1.0 - eps) * x_fake
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        # sum_i f(x_hat_i)
        total = tf.reduce_sum(_per_example(critic(x_hat)))
    # (B, ...): row i is the gradient of f at x_hat_i (the examples are independent).
    grads = tape.gradient(total, x_hat)
    # (B, prod(...))
    grads = tf.reshape(tf.cast(grads, tf.float32), [tf.shape(grads)[0], -1])
    # (B,)
    norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=1) + 1e-12)
    return tf.square(norm - 1.0)
