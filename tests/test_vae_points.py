"""Tests of course_lib.vae.points: shapes, the ELBO's terms, the decoder's variance floor,
and the importance-weighted bound against log p(x) integrated on a grid over z."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib.data import make_dataset
from course_lib.training import TrainConfig, Trainer
from course_lib.vae import PointVAE, PointVAEConfig, gaussian_log_density, point_iwae_nll
from course_lib.vae.points import make_task


def small_vae(seed: int = 0) -> PointVAE:
    keras.utils.set_random_seed(seed)
    return PointVAE(PointVAEConfig(hidden=(16,), min_log_var=-3.0), seed=seed)


def grid_nll(vae: PointVAE, x: np.ndarray) -> np.ndarray:
    """-log p(x) = -log integral p(x|z) p(z) dz on a fine 2-D grid over z (midpoint rule)."""
    h = 0.04
    axis = np.arange(-6.0, 6.0, h) + h / 2
    z = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2).astype(np.float32)
    mean, log_var = (t.numpy().astype(np.float64) for t in vae.decoder(z))
    out = []
    for point in x:
        log_lik = -0.5 * np.sum(
            np.log(2 * np.pi) + log_var + (point - mean) ** 2 / np.exp(log_var), 1
        )
        log_prior = -0.5 * np.sum(np.log(2 * np.pi) + z.astype(np.float64) ** 2, axis=1)
        a = log_lik + log_prior
        out.append(-(a.max() + np.log(np.exp(a - a.max()).sum()) + 2 * np.log(h)))
    return np.array(out)


def test_elbo_terms_shapes_and_identity():
    vae = small_vae()
    x = np.random.default_rng(0).normal(size=(7, 2)).astype(np.float32)
    terms = vae.elbo_terms(x)
    for name in ("elbo", "reconstruction", "kl"):
        assert terms[name].shape == (7,)
    np.testing.assert_allclose(terms["elbo"], terms["reconstruction"] - terms["kl"], rtol=1e-6)
    assert np.all(terms["kl"].numpy() >= 0)
    loss, metrics = vae.loss_fn(tf.constant(x), training=False)
    assert loss.shape == (7,) and set(metrics) == {"reconstruction", "kl"}


def test_decoder_log_variance_stays_above_the_floor():
    vae = small_vae()
    z = np.random.default_rng(1).normal(0, 30, size=(500, 2)).astype(np.float32)
    _, log_var = vae.decoder(z)
    assert np.all(log_var.numpy() >= -3.0)  # float32 softplus can round to the floor


def test_iwae_bound_is_above_the_true_nll_and_tightens_with_k():
    vae = small_vae()
    x = np.random.default_rng(2).normal(size=(20, 2)).astype(np.float32)
    true = grid_nll(vae, x)
    k1 = np.mean([point_iwae_nll(vae, x, k=1, seed=s).mean() for s in range(50)])
    k500 = point_iwae_nll(vae, x, k=500, seed=0)
    assert k1 > k500.mean() > true.mean() - 0.05
    assert k500.mean() - true.mean() < k1 - true.mean()


def test_iwae_does_not_depend_on_the_chunk_and_refuses_bad_input():
    vae = small_vae()
    x = np.random.default_rng(3).normal(size=(4, 2)).astype(np.float32)
    np.testing.assert_allclose(
        point_iwae_nll(vae, x, k=30, chunk=7), point_iwae_nll(vae, x, k=30, chunk=30), rtol=1e-5
    )
    with pytest.raises(ValueError):
        point_iwae_nll(vae, np.zeros((3, 3)), k=2)
    with pytest.raises(TypeError):
        point_iwae_nll("vae", x)
    with pytest.raises(ValueError):
        PointVAEConfig(hidden=())


def test_generate_includes_the_decoder_noise():
    vae = small_vae()
    x = vae.generate(4000, seed=0)
    assert x.shape == (4000, 2) and np.all(np.isfinite(x))
    # the decoder's means alone have less spread than the samples (the noise adds variance)
    z = tf.random.stateless_normal((4000, 2), seed=[0, 0])
    mean, _ = vae.decoder(z)
    assert np.all(x.var(axis=0) > mean.numpy().var(axis=0))


def test_training_on_a_gaussian_approaches_its_nll():
    vae = small_vae()
    x = np.random.default_rng(4).normal(0.0, 0.5, size=(4096, 2)).astype(np.float32)
    ds = make_dataset(x, batch_size=256, repeat=True, drop_remainder=True)
    Trainer(
        make_task(vae, keras.optimizers.Adam(3e-3)), TrainConfig(steps=400, progress="none")
    ).fit(ds)
    true = math.log(2 * math.pi * 0.25) + 1.0  # d/2 log(2 pi e s^2), d = 2
    bound = point_iwae_nll(vae, x[:500], k=50).mean()
    assert true - 0.1 < bound < true + 0.3, (bound, true)
    assert gaussian_log_density is not None
