"""Evaluating a trained VAE on held-out images: the ELBO and the importance-weighted bound.

The ELBO is a lower bound on ``log p(x)``; Burda et al. (2016, "Importance Weighted
Autoencoders", arXiv:1509.00519) give a family of tighter ones,

.. math:: \\mathcal{L}_k(x) = E_{z_1..z_k \\sim q(z|x)}\\Big[\\log \\frac1k \\sum_{i=1}^k
          \\frac{p(x|z_i)\\,p(z_i)}{q(z_i|x)}\\Big], \\qquad
          \\mathrm{ELBO}(x) = \\mathcal{L}_1(x) \\le \\mathcal{L}_k(x) \\le \\log p(x),

which is how papers report a VAE's held-out log-likelihood (with ``k = 5000``).

* :func:`iwae_log_likelihood` -- ``L_k`` per image for one batch, in bounded memory;
* :func:`held_out_bounds` -- the ELBO (averaged over several one-sample estimates) and
  ``L_k`` for every image of a held-out set, batch by batch.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from course_lib.runtime.progress import progress
from course_lib.runtime.validation import check_int
from course_lib.vae.model import (
    VAE,
    bernoulli_log_likelihood,
    check_images,
    gaussian_log_density,
    reparameterize,
)

MAX_SAMPLES = 5000


def _check_vae(vae: object) -> None:
    if not isinstance(vae, VAE):
        raise TypeError(f"vae must be a course_lib.vae.VAE, got {type(vae).__name__}")


def iwae_log_likelihood(
    vae: VAE, x: tf.Tensor, k: int = 5000, chunk: int = 100, seed: int = 0
) -> tf.Tensor:
    """Importance-weighted estimate ``L_k`` of ``log p(x)`` per example, ``(B,)``, nats.

    .. math:: \\log p(x) \\approx \\log \\frac1k \\sum_{i=1}^k
              \\frac{p(x|z_i)\\,p(z_i)}{q(z_i|x)}, \\qquad z_i \\sim q(z|x).

    A lower bound in expectation that tightens as ``k`` grows; ``k = 1`` is an unbiased
    one-sample ELBO estimate. Samples are decoded ``chunk`` at a time and combined with a
    running logsumexp, so memory is ``O(chunk * B)`` images for any ``k`` (up to 5,000).
    The noise for sample ``i`` is ``stateless_normal(seed=[seed, i])``, so the result does
    not depend on ``chunk`` (calling it batch by batch, give each batch its own ``seed``).

    The number depends on how ``x`` was binarised: Burda et al. (2016) draw a new
    binarisation ``x ~ Bernoulli(intensity)`` every time an image is used
    (:func:`course_lib.data.binarize_dynamic`); the README of their code
    (github.com/yburda/iwae) reports test log-likelihoods about 2 nats lower for the same
    models trained on one fixed binarisation. Compare only models evaluated on identically
    binarised data.

    Args:
        vae: the model.
        x: images ``(B, 28, 28, 1)``, float in [0, 1].
        k: importance samples per image, 1..5000.
        chunk: samples decoded at once, 1..5000.
        seed: an int; the same seed gives the same samples.
    """
    _check_vae(vae)
    k = check_int("k", k, minimum=1, maximum=MAX_SAMPLES)
    chunk = check_int("chunk", chunk, minimum=1, maximum=MAX_SAMPLES)
    seed = check_int("seed", seed)
    x = tf.convert_to_tensor(x)
    mu, log_var = vae.encode(x)  # (B, latent_dim)
    batch = tf.shape(mu)[0]
    # The running logsumexp of log w over the samples seen so far, (B,).
    total = tf.fill([batch], -np.inf)
    for start in range(0, k, chunk):
        c = min(chunk, k - start)
        eps = tf.stack(
            [
                tf.random.stateless_normal(tf.shape(mu), seed=[seed, i], dtype=mu.dtype)
                for i in range(start, start + c)
            ]
        )  # (c, B, latent_dim)
        z = reparameterize(mu, log_var, eps)  # (c, B, latent_dim)
        logits = vae.decode(tf.reshape(z, [-1, vae.cfg.latent_dim]))  # (c*B, 28, 28, 1)
        # (c*B, 28, 28, 1), sample-major like z
        x_rep = tf.tile(x, [c, 1, 1, 1])
        log_px_z = tf.reshape(bernoulli_log_likelihood(x_rep, logits), [c, batch])  # (c, B)
        log_pz = gaussian_log_density(z, 0.0, 0.0)  # (c, B)
        log_qz = gaussian_log_density(z, mu, log_var)  # (c, B)
        log_w = log_px_z + log_pz - log_qz  # (c, B)
        both = tf.stack([total, tf.reduce_logsumexp(log_w, axis=0)])  # (2, B)
        total = tf.reduce_logsumexp(both, axis=0)
    return total - math.log(k)


def held_out_bounds(
    vae: VAE,
    x,
    k: int,
    *,
    batch_size: int = 100,
    elbo_samples: int = 10,
    chunk: int = 100,
    desc: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-image ELBO and IWAE bound ``L_k`` of held-out images, both ``(N,)`` float, in nats.

    The images are processed ``batch_size`` at a time, so memory stays
    ``O(min(chunk, k) * batch_size)`` decoded images whatever ``N`` and ``k`` are. For each
    batch:

    * ``elbo`` is the mean of ``elbo_samples`` one-sample estimates (:meth:`VAE.elbo_terms`,
      drawn from the model's SeedGenerator), so the comparison of the two bounds is not
      drowned in the noise of a single sample;
    * ``iwae`` is :func:`iwae_log_likelihood` with ``k`` samples and ``seed`` = the batch's
      index (0, 1, ...), so the result is reproducible and the batches draw different noise.

    In expectation ``elbo <= iwae <= log p(x)`` per image.

    Args:
        vae: the trained model.
        x: held-out images ``(N, 28, 28, 1)``, float in [0, 1], ``N >= 1``.
        k: importance samples per image for ``L_k`` (1..5000).
        batch_size: images per batch (>= 1).
        elbo_samples: one-sample ELBO estimates averaged per image (>= 1).
        chunk: samples decoded at once inside :func:`iwae_log_likelihood` (capped at ``k``).
        desc: with a label, a progress bar over the images (count, rate, time left) on
            stdout, silent in the ``ci`` profile (:func:`course_lib.runtime.progress.progress`).

    Returns:
        ``(elbo, iwae)``, two float arrays of shape ``(N,)``.
    """
    _check_vae(vae)
    k = check_int("k", k, minimum=1, maximum=MAX_SAMPLES)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    elbo_samples = check_int("elbo_samples", elbo_samples, minimum=1)
    chunk = check_int("chunk", chunk, minimum=1, maximum=MAX_SAMPLES)
    check_images(x, vae.cfg.input_shape)
    x = np.asarray(x)
    if len(x) == 0:
        raise ValueError(f"x is empty (shape {x.shape}): it needs at least one image")
    elbo, iwae = [], []
    bar = progress(total=len(x), desc=desc, unit="images") if desc else None
    try:
        for index, first in enumerate(range(0, len(x), batch_size)):
            x_batch = tf.constant(x[first : first + batch_size])  # (B, 28, 28, 1)
            estimates = [vae.elbo_terms(x_batch)["elbo"].numpy() for _ in range(elbo_samples)]
            elbo.append(np.mean(estimates, axis=0))
            bound = iwae_log_likelihood(vae, x_batch, k=k, chunk=min(k, chunk), seed=index)
            iwae.append(bound.numpy())
            if bar is not None:
                bar.update(len(x_batch))
    finally:
        if bar is not None:
            bar.close()
    return np.concatenate(elbo), np.concatenate(iwae)
