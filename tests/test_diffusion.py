"""Tests of course_lib.diffusion: the schedule, the closed-form forward process against its
step-by-step recursion, the posterior against Bayes' rule, the bound against the exact
negative log-likelihood of a Gaussian, sampling, and training through the Trainer."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib.data import make_dataset
from course_lib.diffusion import (
    DDPM,
    DiffusionConfig,
    NoiseSchedule,
    ancestral_sample,
    make_task,
    mean_from_eps,
    posterior_moments,
    prior_term,
    q_moments,
    q_sample,
    timestep_embedding,
    variational_bound,
)
from course_lib.training import TrainConfig, Trainer

S = 0.5  # std of the Gaussian data whose exact noise predictor is known


def exact_eps_fn(schedule: NoiseSchedule, s: float = S):
    """E[eps | x_t] for x_0 ~ N(0, s^2 I): sqrt(1 - ab) x_t / (ab s^2 + 1 - ab)."""
    ab = schedule.alpha_bars

    def eps_fn(x_t, t):
        a = np.broadcast_to(ab[np.asarray(t)], (len(x_t),))[:, None]
        return np.sqrt(1.0 - a) * x_t / (a * s * s + 1.0 - a)

    return eps_fn


def gaussian_nll(x, s: float = S) -> np.ndarray:
    d = x.shape[1]
    return 0.5 * d * math.log(2 * math.pi * s * s) + np.sum(x**2, axis=1) / (2 * s * s)


def test_alpha_bar_starts_at_one_and_decreases_strictly():
    schedule = NoiseSchedule(100, 1e-4, 0.2)
    ab = schedule.alpha_bars
    assert ab.shape == (101,)
    assert ab[0] == 1.0
    assert np.all(np.diff(ab) < 0)
    assert ab[-1] < 1e-3
    np.testing.assert_allclose(ab[1:], np.cumprod(1.0 - np.linspace(1e-4, 0.2, 100)))


def test_posterior_variance_is_zero_at_step_one_and_below_beta():
    schedule = NoiseSchedule(50, 1e-3, 0.3)
    var = schedule.posterior_variances
    assert var[1] == 0.0
    assert np.all(var[2:] > 0) and np.all(var[2:] < schedule.betas[2:])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_steps": 0},
        {"beta_start": 0.0},
        {"beta_start": 0.1, "beta_end": 0.05},
        {"beta_end": 1.0},
    ],
)
def test_schedule_refuses_bad_values(kwargs):
    with pytest.raises(ValueError):
        NoiseSchedule(**kwargs)


def test_closed_form_moments_match_the_step_by_step_recursion():
    schedule = NoiseSchedule(30, 1e-3, 0.2)
    rng = np.random.default_rng(0)
    x0 = np.array([[1.5, -0.5]])
    n = 200_000
    x = np.repeat(x0, n, axis=0)
    betas = schedule.betas
    for t in range(1, 31):
        x = np.sqrt(1 - betas[t]) * x + np.sqrt(betas[t]) * rng.standard_normal(x.shape)
        if t in (1, 10, 30):
            mean, var = q_moments(schedule, x0, t)
            se = np.sqrt(var[0, 0] / n)
            assert np.all(np.abs(x.mean(axis=0) - mean[0]) < 5 * se)
            np.testing.assert_allclose(x.var(axis=0), var[0, 0], rtol=0.02)


def test_q_sample_is_mean_plus_std_times_noise():
    schedule = NoiseSchedule(10)
    x0 = np.ones((3, 2))
    eps = np.arange(6.0).reshape(3, 2)
    mean, var = q_moments(schedule, x0, 4)
    np.testing.assert_allclose(q_sample(schedule, x0, 4, eps), mean + np.sqrt(var) * eps)


def test_posterior_matches_bayes_rule():
    schedule = NoiseSchedule(20, 1e-3, 0.3)
    ab, betas = schedule.alpha_bars, schedule.betas
    x0 = np.array([[0.7, -1.2]])
    x_t = np.array([[0.1, 0.4]])
    for t in (2, 7, 20):
        # q(x_{t-1}|x_0) q(x_t|x_{t-1}): precisions add, means weighted by precision
        prec = 1.0 / (1.0 - ab[t - 1]) + (1.0 - betas[t]) / betas[t]
        mean = (
            np.sqrt(ab[t - 1]) * x0 / (1.0 - ab[t - 1]) + np.sqrt(1 - betas[t]) * x_t / betas[t]
        ) / prec
        got_mean, got_var = posterior_moments(schedule, x0, x_t, t)
        np.testing.assert_allclose(got_mean, mean, rtol=1e-10)
        np.testing.assert_allclose(got_var[0, 0], 1.0 / prec, rtol=1e-10)


def test_mean_from_the_true_noise_is_the_posterior_mean():
    schedule = NoiseSchedule(40, 1e-4, 0.2)
    rng = np.random.default_rng(1)
    x0 = rng.standard_normal((5, 2))
    eps = rng.standard_normal((5, 2))
    t = np.array([2, 5, 10, 20, 40])
    x_t = (
        np.sqrt(schedule.alpha_bars[t])[:, None] * x0
        + np.sqrt(1 - schedule.alpha_bars[t])[:, None] * eps
    )
    np.testing.assert_allclose(
        mean_from_eps(schedule, x_t, t, eps), posterior_moments(schedule, x0, x_t, t)[0], rtol=1e-9
    )


def test_t_out_of_range_and_bad_shapes_raise():
    schedule = NoiseSchedule(10)
    with pytest.raises(ValueError, match="t must lie"):
        q_moments(schedule, np.zeros((2, 2)), 11)
    with pytest.raises(ValueError, match="t must lie"):
        q_moments(schedule, np.zeros((2, 2)), 0)
    with pytest.raises(ValueError):
        q_moments(schedule, np.zeros(2), 3)
    with pytest.raises(TypeError):
        q_moments("schedule", np.zeros((2, 2)), 3)


def test_prior_term_is_the_gaussian_kl():
    schedule = NoiseSchedule(5, 0.01, 0.2)  # few steps: alpha_bar_T is far from 0
    x0 = np.array([[1.0, 2.0]])
    ab = schedule.alpha_bars[-1]
    m, v = np.sqrt(ab) * x0[0], 1 - ab
    kl = sum(0.5 * (v + mj**2 - 1 - math.log(v)) for mj in m)
    np.testing.assert_allclose(prior_term(schedule, x0), [kl])


def test_bound_is_above_and_close_to_the_true_nll_with_the_exact_predictor():
    schedule = NoiseSchedule(100, 1e-4, 0.2)
    x0 = np.random.default_rng(2).normal(0.0, S, size=(2000, 2))
    out = variational_bound(exact_eps_fn(schedule), schedule, x0, seed=3)
    gap = out["total"] - gaussian_nll(x0)
    se = gap.std(ddof=1) / math.sqrt(len(gap))
    assert gap.mean() > -4 * se, (gap.mean(), se)
    assert gap.mean() < 0.1 + 4 * se, (gap.mean(), se)
    np.testing.assert_allclose(out["total"], out["prior"] + out["diffusion"] + out["decoder"])
    assert math.isclose(out["mean"], out["total"].mean())


def test_a_bad_predictor_gets_a_much_worse_bound():
    schedule = NoiseSchedule(50, 1e-4, 0.3)
    x0 = np.random.default_rng(4).normal(0.0, S, size=(500, 2))
    good = variational_bound(exact_eps_fn(schedule), schedule, x0)["mean"]
    bad = variational_bound(lambda x, t: np.zeros_like(x), schedule, x0)["mean"]
    assert bad > good + 5.0


def test_ancestral_sampling_with_the_exact_predictor_recovers_the_data_std():
    schedule = NoiseSchedule(100, 1e-4, 0.2)
    x = ancestral_sample(exact_eps_fn(schedule), schedule, 20_000, 2, seed=5)
    assert x.shape == (20_000, 2)
    np.testing.assert_allclose(x.std(axis=0), S, rtol=0.03)
    assert np.all(np.abs(x.mean(axis=0)) < 0.02)


def test_timestep_embedding_shape_and_values():
    emb = timestep_embedding(tf.constant([0, 3]), 8).numpy()
    assert emb.shape == (2, 8)
    np.testing.assert_allclose(emb[0], [0, 0, 0, 0, 1, 1, 1, 1], atol=1e-7)
    np.testing.assert_allclose(emb[1, 0], math.sin(3.0), rtol=1e-6)


def test_config_refuses_an_odd_time_dim_and_a_bad_schedule():
    with pytest.raises(ValueError):
        DiffusionConfig(time_dim=7)
    with pytest.raises(TypeError):
        DiffusionConfig(schedule=(10, 0.1, 0.2))


def test_ddpm_trains_through_the_trainer_and_its_loss_falls():
    keras.utils.set_random_seed(0)
    cfg = DiffusionConfig(schedule=NoiseSchedule(50, 1e-4, 0.3), hidden=(64, 64), time_dim=16)
    ddpm = DDPM(cfg, seed=0)
    x = np.random.default_rng(6).normal(0.0, S, size=(2048, 2)).astype(np.float32)
    loss, metrics = ddpm.loss_fn(tf.constant(x[:16]), training=False)
    assert loss.shape == (16,) and metrics["t"].shape == (16,)
    ds = make_dataset(x, batch_size=256, repeat=True, drop_remainder=True)
    task = make_task(ddpm, keras.optimizers.Adam(3e-3))
    history = Trainer(task, TrainConfig(steps=300, eval_every=100, progress="none")).fit(ds)
    losses = [r.train["loss"] for r in history.records]
    # the loss starts near d = 2 (predicting 0) and the optimum is below it
    assert losses[-1] < losses[0] and losses[-1] < 1.9
    samples = ddpm.generate(500, seed=1)
    assert samples.shape == (500, 2) and np.all(np.isfinite(samples))
    assert ddpm.predict_eps(x[:4], 3).shape == (4, 2)
