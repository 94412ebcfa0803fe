"""Tests of course_lib.vae: the ELBO's terms, gradients, training, and the IWAE bound."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib.data import binarize_static, load_mnist, make_dataset, to_float
from course_lib.training import TrainConfig, Trainer
from course_lib.vae import (
    VAE,
    VAEConfig,
    bernoulli_log_likelihood,
    build_decoder,
    build_encoder,
    gaussian_kl,
    held_out_bounds,
    iwae_log_likelihood,
    make_task,
    reparameterize,
)


def numpy_kl(mu: np.ndarray, log_var: np.ndarray) -> np.ndarray:
    var = np.exp(log_var.astype(np.float64))
    return 0.5 * np.sum(var + mu.astype(np.float64) ** 2 - 1.0 - log_var, axis=-1)


# --------------------------------------------------------------------------- the math
def test_gaussian_kl_equals_independent_numpy_formula():
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(5, 4)).astype("float32")
    log_var = rng.normal(size=(5, 4)).astype("float32")
    kl = gaussian_kl(tf.constant(mu), tf.constant(log_var)).numpy()
    assert kl.shape == (5,)
    np.testing.assert_allclose(kl, numpy_kl(mu, log_var), rtol=1e-5, atol=1e-5)


def test_gaussian_kl_agrees_with_monte_carlo_estimate_within_5_standard_errors():
    # KL(q || p) = E_q[log q(z) - log p(z)]; 400,000 samples, tolerance 5 standard errors.
    rng = np.random.default_rng(1)
    mu = np.array([0.5, -1.0, 0.2])
    log_var = np.array([-0.5, 0.3, 0.0])
    sigma = np.exp(0.5 * log_var)
    z = mu + sigma * rng.normal(size=(400_000, 3))
    log_q = np.sum(-0.5 * (np.log(2 * np.pi) + log_var + (z - mu) ** 2 / sigma**2), axis=1)
    log_p = np.sum(-0.5 * (np.log(2 * np.pi) + z**2), axis=1)
    diff = log_q - log_p
    mc, se = diff.mean(), diff.std() / np.sqrt(diff.size)
    kl = float(
        gaussian_kl(tf.constant(mu[None], tf.float32), tf.constant(log_var[None], tf.float32))[0]
    )
    assert abs(kl - mc) < 5 * se, (kl, mc, se)


def test_gaussian_kl_is_exactly_zero_for_the_standard_normal():
    zeros = tf.zeros((3, 7))
    assert np.array_equal(gaussian_kl(zeros, zeros).numpy(), np.zeros(3, np.float32))


def test_gaussian_kl_is_positive_away_from_the_prior():
    assert np.all(gaussian_kl(tf.ones((2, 3)), tf.fill((2, 3), -1.0)).numpy() > 0)


def test_bernoulli_log_likelihood_equals_direct_formula_on_safe_values():
    rng = np.random.default_rng(2)
    x = rng.random((4, 28, 28, 1)).astype("float32")  # also non-binary x in [0, 1]
    logits = rng.uniform(-4, 4, size=(4, 28, 28, 1)).astype("float32")
    p = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    direct = np.sum(x * np.log(p) + (1 - x) * np.log(1 - p), axis=(1, 2, 3))
    got = bernoulli_log_likelihood(tf.constant(x), tf.constant(logits)).numpy()
    assert got.shape == (4,)
    np.testing.assert_allclose(got, direct, rtol=1e-5)


def test_bernoulli_log_likelihood_is_finite_for_extreme_logits():
    x = tf.constant([[1.0, 0.0]])
    assert np.isfinite(bernoulli_log_likelihood(x, tf.constant([[-200.0, 200.0]])).numpy()).all()


def test_reparameterize_gives_gradients_to_mu_and_log_var():
    mu = tf.Variable([[0.3, -0.2]])
    log_var = tf.Variable([[0.4, -1.0]])
    eps = tf.constant([[1.5, -0.5]])
    with tf.GradientTape() as tape:
        z = reparameterize(mu, log_var, eps)
        total = tf.reduce_sum(z)
    d_mu, d_log_var = tape.gradient(total, [mu, log_var])
    np.testing.assert_allclose(
        z.numpy(), mu.numpy() + np.exp(0.5 * log_var.numpy()) * eps.numpy(), rtol=1e-6
    )
    np.testing.assert_allclose(d_mu.numpy(), np.ones((1, 2)), rtol=1e-6)  # dz/dmu = 1
    np.testing.assert_allclose(
        d_log_var.numpy(), 0.5 * np.exp(0.5 * log_var.numpy()) * eps.numpy(), rtol=1e-6
    )


# --------------------------------------------------------------------------- the model
@pytest.mark.parametrize("kind", ["mlp", "conv"])
def test_gradients_of_loss_fn_reach_every_encoder_and_decoder_weight(kind):
    vae = VAE(VAEConfig(kind=kind, latent_dim=3, hidden=(32,)))
    x = np.random.default_rng(0).integers(0, 2, size=(4, 28, 28, 1)).astype("float32")
    with tf.GradientTape() as tape:
        loss, metrics = vae.loss_fn(x, True)
        mean = tf.reduce_mean(loss)
    weights = vae.encoder.trainable_variables + vae.decoder.trainable_variables
    assert len(weights) == len(vae.trainable_variables)
    grads = tape.gradient(mean, weights)
    for w, g in zip(weights, grads, strict=True):
        assert g is not None and float(tf.reduce_sum(tf.abs(g))) > 0, w.path
    assert loss.shape == (4,) and set(metrics) == {"elbo", "reconstruction", "kl"}


def test_loss_fn_is_minus_reconstruction_plus_beta_times_kl():
    vae = VAE(VAEConfig(latent_dim=2, hidden=(16,), beta=3.0), seed=5)
    x = np.random.default_rng(0).integers(0, 2, size=(3, 28, 28, 1)).astype("float32")
    loss, m = vae.loss_fn((x, np.zeros(3)), False)  # (x, labels) batches are accepted
    np.testing.assert_allclose(
        loss.numpy(), -(m["reconstruction"] - 3.0 * m["kl"]).numpy(), rtol=1e-6
    )


def test_conv_variant_output_shapes():
    cfg = VAEConfig(kind="conv", latent_dim=8)
    encoder, decoder = build_encoder(cfg), build_decoder(cfg)
    mu, log_var = encoder(tf.zeros((5, 28, 28, 1)))
    assert mu.shape == (5, 8) and log_var.shape == (5, 8)
    assert decoder(tf.zeros((5, 8))).shape == (5, 28, 28, 1)
    vae = VAE(cfg)
    assert vae.sample(3, seed=0).shape == (3, 28, 28, 1)
    x = np.full((2, 28, 28, 1), 0.5, np.float32)
    assert vae.reconstruct(x).shape == (2, 28, 28, 1)
    assert vae.interpolate(x[0], x[1], steps=4).shape == (4, 28, 28, 1)
    assert vae.traverse(x[:1], dim=7, values=[-2.0, 0.0, 2.0]).shape == (3, 28, 28, 1)


def test_sample_returns_probabilities_and_is_reproducible_with_a_seed():
    vae = VAE(VAEConfig(hidden=(16,)))
    a, b = vae.sample(4, seed=3).numpy(), vae.sample(4, seed=3).numpy()
    assert np.array_equal(a, b) and a.min() >= 0 and a.max() <= 1


# --------------------------------------------------------------------------- clear errors
def test_wrong_input_shape_raises_value_error_naming_the_expected_shape():
    vae = VAE(VAEConfig(hidden=(16,)))
    with pytest.raises(ValueError, match=r"\(B, 28, 28, 1\)"):
        vae.elbo_terms(np.zeros((2, 28, 28), np.float32))
    with pytest.raises(ValueError, match="batch axis"):
        vae.encode(np.zeros((28, 28, 1), np.float32))
    with pytest.raises(ValueError, match=r"z must have shape"):
        vae.decode(tf.zeros((2, 5)))


def test_integer_input_raises_type_error_and_out_of_range_input_raises_value_error():
    vae = VAE(VAEConfig(hidden=(16,)))
    with pytest.raises(TypeError, match="float"):
        vae.loss_fn(np.zeros((2, 28, 28, 1), np.uint8), False)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        vae.loss_fn(np.full((2, 28, 28, 1), 255.0, np.float32), False)


def test_invalid_config_raises_value_error_listing_valid_values():
    with pytest.raises(ValueError, match=r"mlp.*conv"):
        VAEConfig(kind="resnet")
    for bad in (0, 51):
        with pytest.raises(ValueError, match="latent_dim must be an integer >= 1 and <= 50"):
            VAEConfig(latent_dim=bad)
    for bad in (2.5, True):
        with pytest.raises(TypeError, match="latent_dim must be an integer"):
            VAEConfig(latent_dim=bad)
    with pytest.raises(ValueError, match="beta must be >= 0"):
        VAEConfig(beta=-1.0)
    with pytest.raises(ValueError, match="beta must be a finite number"):
        VAEConfig(beta=float("nan"))
    with pytest.raises(ValueError, match=r"hidden\[1\] must be an integer >= 1"):
        VAEConfig(hidden=(16, 0))
    with pytest.raises(ValueError, match="hidden is empty"):
        VAEConfig(hidden=())
    with pytest.raises(ValueError, match=r"input_shape must be \(H, W, C\)"):
        VAEConfig(input_shape=(28, 28))
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        iwae_log_likelihood(VAE(VAEConfig(hidden=(16,))), np.zeros((1, 28, 28, 1), np.float32), k=0)


IMAGE = np.zeros((28, 28, 1), np.float32)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda vae: vae.sample(0), ValueError, "n must be an integer >= 1"),
        (lambda vae: vae.sample(True), TypeError, "n must be an integer, got the bool"),
        (lambda vae: vae.sample(3, seed=1.5), TypeError, "seed must be an integer"),
        (lambda vae: vae.interpolate(IMAGE, IMAGE, steps=1), ValueError, "steps must be"),
        (lambda vae: vae.interpolate(IMAGE[None], IMAGE, 4.0), TypeError, "steps must be"),
        (lambda vae: vae.interpolate(IMAGE[None, 0], IMAGE, 4), ValueError, "x_a must be one"),
        (lambda vae: vae.traverse(IMAGE, 2, [0.0]), ValueError, "dim must be an integer"),
        (lambda vae: vae.traverse(IMAGE, 0, []), ValueError, "values is empty"),
        (lambda vae: vae.traverse(IMAGE, 0, [np.nan]), ValueError, "values has 1 NaN"),
        (
            lambda vae: vae.encode(np.full((1, 28, 28, 1), np.nan, np.float32)),
            ValueError,
            "784 NaN",
        ),
        (lambda vae: vae.decode(np.zeros((3,), np.float32)), ValueError, "z must have shape"),
        (lambda vae: make_task("vae", keras.optimizers.Adam()), TypeError, "vae must be"),
    ],
)
def test_bad_arguments_to_the_model_raise_clear_errors_naming_them(call, error, match):
    vae = VAE(VAEConfig(latent_dim=2, hidden=(16,)))
    with pytest.raises(error, match=match):
        call(vae)


# --------------------------------------------------------------------------- training and IWAE
@pytest.fixture(scope="module")
def trained():
    """An MLP VAE overfit on 64 statically binarised MNIST digits via the course Trainer."""
    keras.utils.set_random_seed(0)
    x = binarize_static(to_float(load_mnist().x_train[:64]))  # (64, 28, 28, 1), 0/1 float32
    vae = VAE(VAEConfig(latent_dim=8, hidden=(256, 128)), seed=0)
    before = -float(tf.reduce_mean(vae.elbo_terms(x)["elbo"]))
    data = make_dataset(x, batch_size=64, seed=0, repeat=True)
    trainer = Trainer(
        make_task(vae, keras.optimizers.Adam(2e-3)),
        TrainConfig(steps=300, eval_every=100, steps_per_execution=50, progress="none"),
    )
    history = trainer.fit(data)
    after = -float(tf.reduce_mean(vae.elbo_terms(x)["elbo"]))
    return vae, x, before, after, history


def test_training_on_64_digits_lowers_negative_elbo_by_more_than_half(trained):
    _vae, _x, before, after, history = trained
    assert history.stop_reason == "completed"
    assert before > 400  # untrained: about 784 log 2 = 543 nats
    assert after < 0.5 * before, (before, after)
    assert history.steps() == [100, 200, 300]
    losses = [r.train["loss"] for r in history.records]
    assert losses[-1] < losses[0]


def test_elbo_equals_iwae_with_k_1_in_expectation(trained):
    # Both are unbiased estimates of the ELBO; compare means over 64 examples x 20 draws.
    vae, x, *_ = trained
    elbo = np.mean([vae.elbo_terms(x)["elbo"].numpy().mean() for _ in range(20)])
    iwae1 = np.mean([iwae_log_likelihood(vae, x, k=1, seed=s).numpy().mean() for s in range(20)])
    assert abs(elbo - iwae1) < 1.0, (elbo, iwae1)  # nats; MC std of each mean is ~0.2


def test_iwae_is_non_decreasing_in_k(trained):
    vae, x, *_ = trained
    means = [float(iwae_log_likelihood(vae, x, k=k, seed=1).numpy().mean()) for k in (1, 10, 100)]
    tol = 0.5  # nats, Monte Carlo slack on the mean over 64 examples
    assert means[0] <= means[1] + tol and means[1] <= means[2] + tol, means
    assert means[2] > means[0]  # and the bound actually tightens


def test_chunked_iwae_equals_unchunked_iwae_for_the_same_seed(trained):
    vae, x, *_ = trained
    whole = iwae_log_likelihood(vae, x[:8], k=30, chunk=30, seed=7).numpy()
    chunked = iwae_log_likelihood(vae, x[:8], k=30, chunk=7, seed=7).numpy()
    np.testing.assert_allclose(chunked, whole, rtol=1e-5, atol=1e-4)
    other_seed = iwae_log_likelihood(vae, x[:8], k=30, chunk=30, seed=8).numpy()
    assert not np.allclose(other_seed, whole)  # the seed matters, so the equality is not vacuous


def test_held_out_bounds_equal_iwae_batch_by_batch_and_lie_below_it_on_average(
    trained, capsys, monkeypatch
):
    vae, x, *_ = trained
    x = x[:40]
    monkeypatch.setenv("COURSE_PROFILE", "student")  # where bars are drawn
    elbo, iwae = held_out_bounds(vae, x, k=20, batch_size=16, elbo_samples=5, chunk=7, desc="L_k")
    out = capsys.readouterr().out
    assert "L_k" in out and "40/40" in out, out
    assert elbo.shape == iwae.shape == (40,)
    assert np.isfinite(elbo).all() and np.isfinite(iwae).all()
    # The IWAE part is iwae_log_likelihood on each batch with seed = the batch's index.
    by_batch = [
        iwae_log_likelihood(vae, x[first : first + 16], k=20, chunk=20, seed=index).numpy()
        for index, first in enumerate(range(0, 40, 16))
    ]
    np.testing.assert_allclose(iwae, np.concatenate(by_batch), rtol=1e-5, atol=1e-4)
    # ELBO <= L_20 in expectation: the mean over 40 images, with Monte Carlo slack.
    assert elbo.mean() <= iwae.mean() + 0.5, (elbo.mean(), iwae.mean())


def test_held_out_bounds_elbo_is_a_mean_of_one_sample_elbo_estimates(trained):
    vae, x, *_ = trained
    many = np.mean([vae.elbo_terms(x[:8])["elbo"].numpy() for _ in range(200)], axis=0)
    elbo, _ = held_out_bounds(vae, x[:8], k=1, elbo_samples=200)
    # Two means of 200 one-sample estimates of the same ELBO: close per image.
    np.testing.assert_allclose(elbo, many, atol=1.5)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"x": np.zeros((0, 28, 28, 1), np.float32)}, ValueError, "x is empty"),
        ({"x": np.zeros((4, 28, 28), np.float32)}, ValueError, r"\(B, 28, 28, 1\)"),
        ({"x": np.zeros((4, 28, 28, 1), np.uint8)}, TypeError, "float"),
        ({"k": 0}, ValueError, "k must be an integer >= 1"),
        ({"k": 6000}, ValueError, "k must be an integer >= 1 and <= 5000"),
        ({"batch_size": 0}, ValueError, "batch_size must be an integer >= 1"),
        ({"elbo_samples": 2.0}, TypeError, "elbo_samples must be an integer"),
        ({"vae": "model"}, TypeError, "vae must be a course_lib.vae.VAE"),
    ],
)
def test_held_out_bounds_rejects_bad_arguments_naming_them(kwargs, error, match):
    args = {
        "vae": VAE(VAEConfig(latent_dim=2, hidden=(16,))),
        "x": np.zeros((4, 28, 28, 1), np.float32),
        "k": 5,
    }
    args.update(kwargs)
    with pytest.raises(error, match=match):
        held_out_bounds(args.pop("vae"), args.pop("x"), **args)


def test_make_task_checkpoints_weights_and_seed_state_so_a_new_trainer_resumes_exactly(tmp_path):
    x = binarize_static(to_float(load_mnist().x_train[:32]))
    cfg = TrainConfig(steps=5, progress="none", checkpoint_dir=tmp_path)
    first = VAE(VAEConfig(latent_dim=2, hidden=(16,)), seed=0)
    Trainer(make_task(first, keras.optimizers.Adam(1e-3)), cfg).fit(
        make_dataset(x, batch_size=16, repeat=True)
    )
    second = VAE(VAEConfig(latent_dim=2, hidden=(16,)), seed=99)
    Trainer(make_task(second, keras.optimizers.Adam(1e-3)), cfg).fit(
        make_dataset(x, batch_size=16, repeat=True)
    )
    assert np.array_equal(second.seed_generator.state.numpy(), first.seed_generator.state.numpy())
    for a, b in zip(first.trainable_variables, second.trainable_variables, strict=True):
        assert np.array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("kind", ["mlp", "conv"])
def test_the_vae_trains_under_mixed_bfloat16_with_float32_outputs(kind):
    """Under a mixed policy the body computes in bfloat16 but mu, log_var and the logits that
    feed the ELBO are float32 (a bfloat16 mu times a float32 eps raised a TypeError before)."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        vae = VAE(VAEConfig(latent_dim=2, kind=kind, hidden=(16,)))
        x = tf.constant(np.random.default_rng(0).random((4, 28, 28, 1)), tf.float32)
        terms = vae.elbo_terms(x)
        mu, log_var = vae.encode(x)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    assert mu.dtype == log_var.dtype == tf.float32
    assert all(t.dtype == tf.float32 and t.shape == (4,) for t in terms.values())
    assert np.all(np.isfinite(terms["elbo"].numpy()))
    assert vae.encoder.layers[1].compute_dtype == "bfloat16"  # the body is in bfloat16
