"""Tests of course_lib.gan: the losses against hand computations, the gradient penalty,
the networks' shapes, which weights each objective moves, and a seeded toy run that must
cover the ring of Gaussians through the course's Trainer."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib.data import make_dataset, ring_mode_centers, ring_of_gaussians
from course_lib.gan import (
    GAN,
    FixedNoiseGrid,
    GANConfig,
    critic_loss,
    discriminator_loss,
    from_tanh_range,
    gradient_penalty,
    make_task,
    minimax_generator_loss,
    non_saturating_generator_loss,
    ring_mode_coverage,
    ring_modes_occupied,
    to_tanh_range,
    train_ring_gan,
    wasserstein_generator_loss,
)
from course_lib.training import Task, TrainConfig, Trainer

LOGITS_REAL = np.array([-3.0, -0.5, 0.0, 2.0, 7.0])
LOGITS_FAKE = np.array([4.0, 1.0, 0.0, -1.5, -6.0])
SMALL_DCGAN = GANConfig(kind="dcgan", filters=(8, 16), kernel_size=3, latent_dim=16)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits))


def adam(lr: float, steps: int | None = None, beta_1: float = 0.5, beta_2: float = 0.999):
    rate = lr if steps is None else keras.optimizers.schedules.CosineDecay(lr, steps)
    return keras.optimizers.Adam(rate, beta_1=beta_1, beta_2=beta_2)


def ring_ds(batch_size: int = 256, seed: int = 0) -> tf.data.Dataset:
    x, _ = ring_of_gaussians(10_000, seed=seed)
    return make_dataset(x, batch_size=batch_size, seed=seed, repeat=True, drop_remainder=True)


# --------------------------------------------------------------------------- losses
def test_discriminator_loss_equals_minus_log_d_real_minus_log_one_minus_d_fake():
    expected = -(np.log(sigmoid(LOGITS_REAL)) + np.log(1.0 - sigmoid(LOGITS_FAKE)))
    got = discriminator_loss(
        tf.constant(LOGITS_REAL[:, None]), tf.constant(LOGITS_FAKE[:, None])
    ).numpy()
    assert got.shape == (5,)
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_generator_losses_equal_log_one_minus_d_and_minus_log_d():
    d_fake = sigmoid(LOGITS_FAKE)
    logits = tf.constant(LOGITS_FAKE)
    np.testing.assert_allclose(
        minimax_generator_loss(logits).numpy(), np.log(1.0 - d_fake), rtol=1e-5
    )
    np.testing.assert_allclose(
        non_saturating_generator_loss(logits).numpy(), -np.log(d_fake), rtol=1e-5
    )


def test_wasserstein_losses_are_score_differences():
    np.testing.assert_allclose(
        critic_loss(tf.constant(LOGITS_REAL), tf.constant(LOGITS_FAKE)).numpy(),
        LOGITS_FAKE - LOGITS_REAL,
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        wasserstein_generator_loss(tf.constant(LOGITS_FAKE)).numpy(), -LOGITS_FAKE, rtol=1e-6
    )


def test_cross_entropy_losses_stay_finite_for_logits_whose_sigmoid_rounds_to_0_or_1():
    extreme = tf.constant([-200.0, 200.0])
    for value in (
        discriminator_loss(extreme, -extreme),
        minimax_generator_loss(extreme),
        non_saturating_generator_loss(extreme),
    ):
        assert np.isfinite(value.numpy()).all()
    np.testing.assert_allclose(
        non_saturating_generator_loss(extreme).numpy(), [200.0, 0.0], atol=1e-5
    )


def test_when_d_rejects_fakes_minimax_gradient_vanishes_but_non_saturating_stays_near_minus_one():
    # d loss / d logit: minimax -D(G(z)), non-saturating -(1 - D(G(z)))
    # (theory: chapters/errata.md, E3).
    logits = tf.constant([-10.0, -5.0, 0.0, 5.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(logits)
        mm, ns = minimax_generator_loss(logits), non_saturating_generator_loss(logits)
    g_mm, g_ns = tape.gradient(mm, logits).numpy(), tape.gradient(ns, logits).numpy()
    d = sigmoid(logits.numpy())
    np.testing.assert_allclose(g_mm, -d, rtol=1e-5)
    np.testing.assert_allclose(g_ns, -(1.0 - d), rtol=1e-5)
    assert abs(g_mm[0]) < 1e-4 and abs(g_ns[0]) > 0.9999  # D(G(z)) = 4.5e-5: saturated vs not
    assert np.all(g_mm < 0) and np.all(g_ns < 0)  # both push the fake logit up


# --------------------------------------------------------------------------- gradient penalty
@pytest.mark.parametrize("norm", [1.0, 0.5, 3.0])
def test_gradient_penalty_of_linear_critic_is_norm_of_w_minus_one_squared(norm):
    rng = np.random.default_rng(0)
    w = rng.normal(size=(6,)).astype("float32")
    w *= norm / np.linalg.norm(w)
    x_real, x_fake = (
        rng.normal(size=(4, 6)).astype("float32"),
        rng.normal(size=(4, 6)).astype("float32"),
    )
    penalty = gradient_penalty(
        lambda x: tf.linalg.matvec(x, w), x_real, x_fake, tf.constant([0.0, 0.3, 0.7, 1.0])
    )
    assert penalty.shape == (4,)
    np.testing.assert_allclose(penalty.numpy(), np.full(4, (norm - 1.0) ** 2), atol=1e-5)


def test_gradient_penalty_is_evaluated_at_eps_x_real_plus_one_minus_eps_x_fake_per_example():
    # f(x) = |x|^2 / 2 has gradient x, so the penalty is (|x_hat| - 1)^2 with x_hat per example.
    x_real = np.array([[2.0, 0.0], [0.0, 4.0], [1.0, 1.0]], np.float32)
    x_fake = np.array([[0.0, 0.0], [0.0, -2.0], [3.0, 3.0]], np.float32)
    eps = np.array([0.5, 0.25, 1.0], np.float32)
    x_hat = eps[:, None] * x_real + (1 - eps[:, None]) * x_fake
    penalty = gradient_penalty(lambda x: 0.5 * tf.reduce_sum(x**2, axis=1), x_real, x_fake, eps)
    np.testing.assert_allclose(
        penalty.numpy(), (np.linalg.norm(x_hat, axis=1) - 1.0) ** 2, rtol=1e-5
    )


# --------------------------------------------------------------------------- networks and config
def test_mlp_networks_map_latent_to_2d_points_and_points_to_one_logit():
    gan = GAN(GANConfig())
    assert (gan.cfg.latent_dim, gan.cfg.data_shape, gan.cfg.dropout) == (8, (2,), 0.0)
    x = gan(tf.zeros((3, 8)))
    assert tuple(x.shape) == (3, 2)
    assert tuple(gan.discriminator(x).shape) == (3, 1)


def test_dcgan_generator_makes_28x28x1_images_in_tanh_range_and_discriminator_one_logit():
    cfg = GANConfig(kind="dcgan")
    assert (cfg.latent_dim, cfg.data_shape, cfg.dropout) == (64, (28, 28, 1), 0.3)
    gan = GAN(cfg)
    x = gan.generate(4, seed=1).numpy()
    assert x.shape == (4, 28, 28, 1) and x.min() >= -1.0 and x.max() <= 1.0
    assert tuple(gan.discriminator(x).shape) == (4, 1)
    shapes = [
        tuple(layer.output.shape)
        for layer in gan.generator.layers
        if "conv2d_transpose" in layer.name
    ]
    assert shapes == [(None, 14, 14, 64), (None, 28, 28, 1)]
    np.testing.assert_allclose(
        from_tanh_range(to_tanh_range(np.array([0.0, 0.25, 1.0]))), [0.0, 0.25, 1.0]
    )


@pytest.mark.parametrize("kind", ["mlp", "dcgan"])
def test_a_wgan_gp_critic_has_no_dropout_so_the_penalty_sees_the_function_that_scores(kind):
    # Gulrajani et al. 2017's critic is deterministic (no dropout, no batch norm). With the DCGAN
    # default dropout 0.3 the penalty would be taken through random masks: in training mode two
    # evaluations of the same critic loss on the same draws of z and eps would differ.
    cfg = (
        dataclasses.replace(SMALL_DCGAN, loss="wgan_gp", dropout=None)
        if kind == "dcgan"
        else GANConfig(loss="wgan_gp")
    )
    assert cfg.dropout == 0.0
    assert (
        GANConfig(kind=kind).dropout == {"mlp": 0.0, "dcgan": 0.3}[kind]
    )  # cross-entropy D keeps its default
    keras.utils.set_random_seed(0)
    gan = GAN(cfg, seed=0)
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in gan.discriminator.layers)
    x = np.random.default_rng(0).uniform(-1, 1, size=(8, *cfg.data_shape)).astype("float32")
    state = gan.seed_generator.state.numpy()
    first = gan.d_loss_fn(x, True)
    gan.seed_generator.state.assign(state)  # the same z and eps again
    second = gan.d_loss_fn(x, True)
    np.testing.assert_array_equal(
        first[1]["gradient_penalty"].numpy(), second[1]["gradient_penalty"].numpy()
    )
    np.testing.assert_array_equal(first[0].numpy(), second[0].numpy())
    with pytest.raises(ValueError, match="deterministic critic"):
        GANConfig(kind=kind, loss="wgan_gp", dropout=0.3)


@pytest.mark.parametrize(
    "field, value, listed", [("kind", "vae", "dcgan"), ("loss", "hinge", "wgan_gp")]
)
def test_unknown_kind_or_loss_raises_value_error_listing_the_valid_values(field, value, listed):
    with pytest.raises(ValueError, match=listed):
        GANConfig(**{field: value})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"latent_dim": 0},
        {"hidden": ()},
        {"dropout": 1.0},
        {"gp_weight": -1.0},
        {"kind": "dcgan", "data_shape": (30, 30, 1)},
        {"kind": "mlp", "data_shape": (28, 28, 1)},
        {"filters": (64,)},
        {"kernel_size": 0},
    ],
)
def test_invalid_config_values_raise_value_error(kwargs):
    with pytest.raises(ValueError):
        GANConfig(**kwargs)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"latent_dim": 2.5}, TypeError, "GANConfig.latent_dim must be an integer"),
        ({"latent_dim": True}, TypeError, "GANConfig.latent_dim must be an integer, got the bool"),
        ({"hidden": (64, -1)}, ValueError, r"GANConfig.hidden\[1\] must be an integer >= 1"),
        ({"hidden": 128}, TypeError, "GANConfig.hidden must be a tuple"),
        ({"filters": (64,)}, ValueError, "GANConfig.filters must have 2 items"),
        ({"dropout": float("nan")}, ValueError, "GANConfig.dropout must be a finite number"),
        ({"dropout": -0.1}, ValueError, "GANConfig.dropout must be >= 0"),
        ({"leaky_slope": 1.0}, ValueError, "GANConfig.leaky_slope must be < 1"),
        ({"gp_weight": "10"}, TypeError, "GANConfig.gp_weight must be a real number"),
        ({"kernel_size": 0}, ValueError, "GANConfig.kernel_size must be an integer >= 1"),
    ],
)
def test_invalid_config_values_name_the_field_and_what_it_needs(kwargs, error, match):
    with pytest.raises(error, match=match):
        GANConfig(**kwargs)


# --------------------------------------------------------------------------- objectives
def _critic_bias(gan: GAN, variable) -> bool:
    """Whether ``variable`` is the output bias of a Wasserstein critic."""
    return gan.cfg.loss == "wgan_gp" and variable is gan.discriminator.get_layer("logit").bias


@pytest.mark.parametrize("loss", ["non_saturating", "minimax", "wgan_gp"])
@pytest.mark.parametrize("cfg", [GANConfig(), SMALL_DCGAN], ids=["mlp", "dcgan"])
def test_each_objective_has_a_nonzero_gradient_for_every_weight_of_its_own_network_only(cfg, loss):
    keras.utils.set_random_seed(0)
    gan = GAN(
        dataclasses.replace(cfg, loss=loss, dropout=None)
    )  # None: the loss's default (0 for a critic)
    x = np.random.default_rng(0).uniform(-1, 1, size=(8, *gan.cfg.data_shape)).astype("float32")
    g_vars, d_vars = gan.generator.trainable_variables, gan.discriminator.trainable_variables
    for fn, own, other in ((gan.d_loss_fn, d_vars, g_vars), (gan.g_loss_fn, g_vars, d_vars)):
        with tf.GradientTape() as tape:
            out = fn((x, np.zeros(8)), True)
            per_example = out[0] if isinstance(out, tuple) else out
            mean = tf.reduce_mean(per_example)
        assert per_example.shape == (8,)
        grads = tape.gradient(mean, own + other)
        for v, g in zip(own, grads[: len(own)], strict=True):
            assert g is not None, v.path
            # f(G(z)) - f(x) and the penalty do not change when a constant is added to f:
            # the critic's output bias gets an exactly zero gradient (and never moves).
            assert np.any(g.numpy() != 0) != _critic_bias(gan, v), v.path
        if fn == gan.d_loss_fn:  # G(z) is a constant in D's objective
            assert all(g is None for g in grads[len(own) :])


@pytest.mark.parametrize("loss", ["non_saturating", "minimax", "wgan_gp"])
def test_loss_fns_apply_the_configured_loss_to_d_of_x_and_d_of_g_of_z_for_the_drawn_z(loss):
    gan = GAN(GANConfig(loss=loss, gp_weight=10.0))
    x = np.random.default_rng(0).normal(size=(6, 2)).astype("float32")

    def f(t):
        return gan.discriminator(t).numpy()[:, 0].astype(np.float64)

    state = gan.seed_generator.state.numpy()
    d_loss, metrics = gan.d_loss_fn(x, False)
    g_loss = gan.g_loss_fn(x, False)
    gan.seed_generator.state.assign(state)  # replay the same draws: z, [eps], then z again
    x_fake = gan(gan.sample_z(6)).numpy()
    if loss == "wgan_gp":
        eps = keras.random.uniform((6,), seed=gan.seed_generator)
        penalty = gradient_penalty(gan.discriminator, x, x_fake, eps).numpy()
        expected_d = f(x_fake) - f(x) + 10.0 * penalty
        np.testing.assert_allclose(metrics["gradient_penalty"].numpy(), penalty, rtol=1e-5)
    else:
        expected_d = -np.log(sigmoid(f(x))) - np.log(1.0 - sigmoid(f(x_fake)))
        np.testing.assert_allclose(metrics["d_real"].numpy(), sigmoid(f(x)), rtol=1e-5)
    np.testing.assert_allclose(d_loss.numpy(), expected_d, rtol=1e-4, atol=1e-5)
    scores = f(gan(gan.sample_z(6)).numpy())
    expected_g = {
        "non_saturating": -np.log(sigmoid(scores)),
        "minimax": np.log(1.0 - sigmoid(scores)),
        "wgan_gp": -scores,
    }[loss]
    np.testing.assert_allclose(g_loss.numpy(), expected_g, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    "cfg", [GANConfig(loss="wgan_gp"), SMALL_DCGAN], ids=["mlp-wgan_gp", "dcgan"]
)
def test_training_one_objective_through_the_trainer_never_moves_the_other_networks_weights(cfg):
    gan = GAN(cfg)
    x = np.random.default_rng(0).uniform(-1, 1, size=(64, *cfg.data_shape)).astype("float32")
    ds = make_dataset(x, batch_size=16, repeat=True)
    full = make_task(gan, adam(1e-3), adam(1e-3))
    for objective, moved, fixed in (
        (full.objectives[0], gan.discriminator, gan.generator),
        (full.objectives[1], gan.generator, gan.discriminator),
    ):
        before = {
            "moved": [v.numpy() for v in moved.trainable_variables],
            "fixed": [v.numpy() for v in fixed.trainable_variables],
        }
        task = Task(
            [objective], models={"generator": gan.generator, "discriminator": gan.discriminator}
        )
        config = TrainConfig(steps=3, steps_per_execution=3, progress="none")
        Trainer(task, config).fit(ds)
        assert all(
            np.array_equal(b, v.numpy())
            for b, v in zip(before["fixed"], fixed.trainable_variables, strict=True)
        )
        assert all(
            np.array_equal(b, v.numpy()) == _critic_bias(gan, v)
            for b, v in zip(before["moved"], moved.trainable_variables, strict=True)
        )


def test_make_task_runs_d_then_g_and_checkpoints_both_networks_and_the_seed_state():
    gan = GAN(GANConfig())
    task = make_task(gan, adam(1e-3), adam(1e-3))
    assert [o.name for o in task.objectives] == ["d_loss", "g_loss"]
    assert (
        task.objectives[0].variables is gan.discriminator
        and task.objectives[1].variables is gan.generator
    )
    assert set(task.models) == {"generator", "discriminator"}
    assert task.trackables["seed_generator_state"] is gan.seed_generator.state
    with pytest.raises(ValueError, match="two separate optimizer"):
        make_task(gan, task.objectives[0].optimizer, task.objectives[0].optimizer)


def test_a_run_resumed_from_its_checkpoint_ends_with_the_same_weights_as_an_uninterrupted_run(
    tmp_path,
):
    def weights_after(steps_per_fit: list[int], run_dir) -> list[np.ndarray]:
        # The shuffle order depends on the global seed too.
        keras.utils.set_random_seed(0)
        ds = ring_ds(32)
        # A new GAN and Trainer per fit, as in a new process, with other initial weights and
        # another noise seed: the checkpoint must restore both.
        for i, steps in enumerate(steps_per_fit):
            keras.utils.set_random_seed(i)
            gan = GAN(GANConfig(loss="wgan_gp"), seed=i)
            config = TrainConfig(
                steps=steps,
                eval_every=5,
                steps_per_execution=5,
                progress="none",
                checkpoint_dir=run_dir,
            )
            Trainer(make_task(gan, adam(1e-3), adam(1e-3)), config).fit(ds)
        return [v.numpy() for v in gan.generator.weights + gan.discriminator.weights]

    straight = weights_after([10], tmp_path / "straight")
    # The second fit restores step 5 and continues to step 10.
    resumed = weights_after([5, 10], tmp_path / "resumed")
    for a, b in zip(straight, resumed, strict=True):
        np.testing.assert_array_equal(a, b)


def test_wgan_gp_trains_under_xla_with_finite_losses():
    gan = GAN(GANConfig(loss="wgan_gp"))
    trainer = Trainer(
        make_task(gan, adam(1e-3), adam(1e-3)),
        TrainConfig(steps=5, steps_per_execution=5, jit_compile=True, progress="none"),
    )
    history = trainer.fit(ring_ds(64))
    assert history.stop_reason == "completed"
    assert all(np.isfinite(v) for v in history.records[-1].train.values())


def test_generate_is_reproducible_with_a_seed_and_fresh_without_one():
    gan = GAN(GANConfig())
    np.testing.assert_array_equal(gan.generate(5, seed=3).numpy(), gan.generate(5, seed=3).numpy())
    assert not np.array_equal(gan.generate(5).numpy(), gan.generate(5).numpy())
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        gan.generate(0)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda gan: gan.generate(True), TypeError, "n must be an integer, got the bool"),
        (lambda gan: gan.generate(2.0), TypeError, "n must be an integer"),
        (lambda gan: gan.generate(3, seed="a"), TypeError, "seed must be an integer"),
        (lambda gan: gan.sample_z(-1), ValueError, "n must be an integer >= 1"),
        (lambda gan: FixedNoiseGrid(gan, n=0), ValueError, "n must be an integer >= 1"),
        (lambda gan: FixedNoiseGrid("gan"), TypeError, "gan must be a course_lib.gan.GAN"),
        (lambda gan: make_task(None, adam(1e-3), adam(1e-3)), TypeError, "gan must be"),
        (lambda gan: GAN(GANConfig(), seed=1.5), TypeError, "seed must be an integer"),
        (lambda gan: GAN({"kind": "mlp"}), TypeError, "cfg must be a GANConfig"),
    ],
)
def test_bad_arguments_to_the_model_raise_clear_errors_naming_them(call, error, match):
    gan = GAN(GANConfig())
    with pytest.raises(error, match=match):
        call(gan)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: to_tanh_range(np.full((2, 28, 28, 1), 255, np.uint8)), TypeError, "float"),
        (lambda: to_tanh_range(np.full((2, 4), 255.0)), ValueError, r"\[0, 1\]"),
        (lambda: to_tanh_range(np.full((2, 4), np.nan)), ValueError, "NaN"),
        (lambda: from_tanh_range(np.array([np.nan])), ValueError, "NaN"),
        (lambda: from_tanh_range(np.array(["a"])), TypeError, "number"),
    ],
)
def test_tanh_range_maps_refuse_grey_values_and_nan(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_fixed_noise_grid_records_one_snapshot_per_record_from_the_same_z():
    gan = GAN(GANConfig())
    grid = FixedNoiseGrid(gan, n=16, seed=7)
    z = grid.z.copy()
    trainer = Trainer(
        make_task(gan, adam(1e-3), adam(1e-3)),
        TrainConfig(steps=60, eval_every=20, steps_per_execution=20, progress="none"),
    )
    trainer.fit(ring_ds(64), callbacks=[grid])
    assert [step for step, _ in grid.snapshots] == [20, 40, 60]
    assert all(s.shape == (16, 2) for _, s in grid.snapshots)
    np.testing.assert_array_equal(grid.z, z)
    np.testing.assert_array_equal(grid.snapshots[-1][1], gan.generator(z, training=False).numpy())
    assert not np.array_equal(grid.snapshots[0][1], grid.snapshots[-1][1])  # G changed, z did not
    grid(trainer, trainer.history.records[-1])
    np.testing.assert_array_equal(grid.snapshots[-1][1], grid.snapshots[-2][1])


# --------------------------------------------------------------------------- ring evaluation
def test_ring_mode_coverage_scores_real_data_all_modes_and_about_99_percent_high_quality():
    x, _ = ring_of_gaussians(4000, std=0.02, seed=1)
    modes, quality = ring_mode_coverage(x, ring_mode_centers(8, 2.0), std=0.02)
    assert modes == 8 and 0.98 < quality < 0.995  # 1 - exp(-9/2) = 0.989


def test_ring_mode_coverage_counts_a_collapsed_generator_as_one_mode_and_off_mode_points_as_bad():
    centers = ring_mode_centers(8, 2.0)
    assert ring_mode_coverage(np.repeat(centers[:1], 100, axis=0), centers, std=0.02) == (1, 1.0)
    midpoints = (centers + np.roll(centers, 1, axis=0)) / 2
    assert ring_mode_coverage(np.repeat(midpoints, 10, axis=0), centers, std=0.02) == (0, 0.0)
    # 80 points: a mode needs ceil(0.1 * 80 / 8) = 1 point; 800 points: 10, so 9 do not count.
    few = np.concatenate([np.repeat(centers[:1], 791, axis=0), np.repeat(centers[1:2], 9, axis=0)])
    assert ring_mode_coverage(few, centers, std=0.02)[0] == 1


def test_ring_modes_occupied_counts_nearest_centres_with_half_their_fair_share():
    centers = ring_mode_centers(8, 2.0)
    # Far from every centre but nearest to modes 0 and 1, 50 points each: 2 of 8 occupied.
    blurry = np.concatenate(
        [np.repeat(1.5 * centers[:1], 50, 0), np.repeat(0.5 * centers[1:2], 50, 0)]
    )
    assert ring_modes_occupied(blurry, centers) == 2
    # 80 points, 10 per mode except mode 7 with 3 (< 0.5 * 80 / 8 = 5) and mode 6 with 17.
    counts = [10, 10, 10, 10, 10, 10, 17, 3]
    points = np.concatenate([np.repeat(centers[k : k + 1], c, 0) for k, c in enumerate(counts)])
    assert ring_modes_occupied(points, centers) == 7
    assert ring_modes_occupied(points, centers, min_share=0.25) == 8
    assert ring_modes_occupied(points, centers, min_share=0.0) == 8


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda c: ring_modes_occupied(np.zeros((0, 2)), c), ValueError, "samples is empty"),
        (lambda c: ring_modes_occupied(np.zeros((5, 3)), c), ValueError, "same d"),
        (lambda c: ring_modes_occupied(np.full((5, 2), np.nan), c), ValueError, "NaN"),
        (lambda c: ring_modes_occupied(np.zeros((5, 2)), c, 1.5), ValueError, "min_share"),
        (lambda c: ring_mode_coverage(np.zeros(5), c, 0.02), ValueError, "samples must have 2"),
        (lambda c: ring_mode_coverage(np.zeros((5, 2)), c, 0.0), ValueError, "std must be > 0"),
        (lambda c: ring_mode_coverage(np.zeros((5, 2)), c[:0], 0.02), ValueError, "centers is"),
        (lambda c: ring_mode_coverage(np.zeros((5, 2)), c, 0.02, 3, 2), ValueError, "min_fr"),
    ],
)
def test_ring_metrics_reject_bad_input_naming_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call(ring_mode_centers(8, 2.0))


# --------------------------------------------------------------------------- toy training
# Chosen by a sweep over seeds 0..7 when the module was written (the sweep script is not in the
# repository; the seed-0 runs below are what CI checks): cosine decay of the learning
# rate to 0 lets the samples settle on the modes at the end of the run.
TOY_SETTINGS = {
    "non_saturating": {"steps": 3000, "learning_rate": 2e-3, "beta_1": 0.5},
    "minimax": {"steps": 3000, "learning_rate": 2e-3, "beta_1": 0.5},
    "wgan_gp": {
        "steps": 6000,
        "learning_rate": 2e-3,
        "d_learning_rate": 4e-3,
        "beta_1": 0.0,
        "beta_2": 0.9,
    },
}


@pytest.mark.parametrize("loss", list(TOY_SETTINGS))
def test_seeded_toy_gan_covers_at_least_6_of_8_ring_modes_after_a_short_cpu_run(loss):
    settings = TOY_SETTINGS[loss]
    run = train_ring_gan(loss=loss, cosine_decay=True, every=settings["steps"], **settings)
    assert run.history.stop_reason == "completed"
    assert run.history.steps() == [settings["steps"]]
    modes, quality = ring_mode_coverage(
        run.gan.generate(2500, seed=123).numpy(), ring_mode_centers(8, 2.0), std=0.02
    )
    print(f"{loss}: {modes} modes, high-quality fraction {quality:.3f}")
    assert modes >= 6 and quality > 0.3, (modes, quality)


def test_train_ring_gan_equals_the_same_run_built_by_hand(capsys):
    # The recipe of chapter 05's "remedy 1", shortened to 20 steps (a snapshot every 10): long
    # enough that a different recipe ends far apart, short enough that the GAN's chaotic
    # dynamics do not amplify float round-off (after 100 steps one run in the full suite
    # once ended more than 1e-5 apart).
    run = train_ring_gan(
        steps=20, learning_rate=2e-3, beta_1=0.5, cosine_decay=True, every=10, progress="bar"
    )
    assert "20/20" in capsys.readouterr().out  # the Trainer's bar, asked for explicitly
    assert [step for step, _ in run.snapshots] == [10, 20]
    assert all(samples.shape == (1000, 2) for _, samples in run.snapshots)
    assert run.seconds > 0

    keras.utils.set_random_seed(0)
    x, _ = ring_of_gaussians(10_000, seed=0)
    ds = make_dataset(x, batch_size=256, seed=0, repeat=True, drop_remainder=True)
    gan = GAN(GANConfig(kind="mlp", hidden=(128, 128), latent_dim=8), seed=0)
    optimizers = [adam(2e-3, steps=20, beta_1=0.5) for _ in range(2)]
    config = TrainConfig(steps=20, steps_per_execution=10, progress="none")
    Trainer(make_task(gan, *optimizers), config).fit(ds)
    by_hand = gan.generate(1000, seed=123).numpy()

    np.testing.assert_allclose(run.snapshots[-1][1], by_hand, rtol=1e-5, atol=1e-5)
    # the comparison can fail: ten steps earlier the same run's samples are clearly elsewhere
    # (a third training run with another beta_1 showed the same and cost 10-30 s of CI)
    assert np.abs(run.snapshots[0][1] - by_hand).max() > 1e-3


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"loss": "hinge"}, ValueError, "loss must be one of"),
        ({"steps": 0}, ValueError, "steps must be an integer >= 1"),
        ({"steps": 100, "every": 200}, ValueError, "every must be an integer >= 1 and <= 100"),
        ({"learning_rate": 0.0}, ValueError, "learning_rate must be > 0"),
        ({"beta_1": 1.5}, ValueError, "beta_1 must be >= 0.0 and <= 1.0"),
        ({"x": np.zeros((10, 3), np.float32)}, ValueError, r"x must have shape \(any, 2\)"),
        ({"x": np.zeros((0, 2), np.float32)}, ValueError, "x is empty"),
    ],
)
def test_train_ring_gan_rejects_bad_arguments_before_training(kwargs, error, match):
    with pytest.raises(error, match=match):
        train_ring_gan(**kwargs)
