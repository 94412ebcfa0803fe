"""course_lib.collapse: EM, sampling, the 1-D chains' closed forms, measurements, the experiment."""

import math

import numpy as np
import pytest

from course_lib.collapse import (
    DATA_MODES,
    CollapseConfig,
    GaussianMixture,
    fit_gmm,
    gaussian_refit_chains,
    gmm_log_density,
    mode_spread,
    modes_occupied,
    run_generations,
    sample_gmm,
    tail_mass,
)
from course_lib.data.toy import ring_mode_centers, ring_of_gaussians

TRUE = GaussianMixture(
    weights=np.array([0.3, 0.7]),
    means=np.array([[-2.0, 0.0], [2.0, 1.0]]),
    covariances=np.array([[[0.5, 0.1], [0.1, 0.3]], [[0.2, 0.0], [0.0, 0.4]]]),
)


def test_log_density_equals_a_direct_formula():
    x = np.array([[0.0, 0.0], [2.0, 1.0], [-1.0, 3.0]])
    expected = np.zeros(len(x))
    for w, mu, cov in zip(TRUE.weights, TRUE.means, TRUE.covariances, strict=True):
        diff = x - mu
        quad = np.einsum("ni,ij,nj->n", diff, np.linalg.inv(cov), diff)
        expected += w * np.exp(-0.5 * quad) / (2 * np.pi * math.sqrt(np.linalg.det(cov)))
    np.testing.assert_allclose(gmm_log_density(TRUE, x), np.log(expected), rtol=1e-12)


def test_sampling_has_the_mixture_moments():
    x, comps = sample_gmm(TRUE, 40_000, np.random.default_rng(0), return_components=True)
    assert x.shape == (40_000, 2) and comps.shape == (40_000,)
    assert np.mean(comps == 1) == pytest.approx(0.7, abs=0.01)
    for k in range(2):
        np.testing.assert_allclose(x[comps == k].mean(axis=0), TRUE.means[k], atol=0.02)
        np.testing.assert_allclose(np.cov(x[comps == k].T), TRUE.covariances[k], atol=0.02)


def test_em_never_decreases_the_likelihood():
    x = sample_gmm(TRUE, 500, np.random.default_rng(1))
    gmm = fit_gmm(x, 3, np.random.default_rng(2), reg_covar=0.0, tol=0.0, max_iter=60)
    steps = np.diff(gmm.log_likelihood)
    assert len(steps) >= 10
    assert np.all(steps >= -1e-10), steps.min()
    # the final entry is the likelihood of the returned parameters
    assert gmm.log_likelihood[-1] == pytest.approx(np.mean(gmm_log_density(gmm, x)), rel=1e-12)


def test_em_recovers_known_parameters():
    x = sample_gmm(TRUE, 4000, np.random.default_rng(3))
    gmm = fit_gmm(x, 2, np.random.default_rng(4), n_init=2)
    order = np.argsort(gmm.means[:, 0])
    np.testing.assert_allclose(gmm.weights[order], TRUE.weights, atol=0.03)
    np.testing.assert_allclose(gmm.means[order], TRUE.means, atol=0.05)
    np.testing.assert_allclose(gmm.covariances[order], TRUE.covariances, atol=0.05)


def test_one_component_is_the_maximum_likelihood_gaussian():
    x = np.random.default_rng(5).normal(3.0, 2.0, size=50)
    gmm = fit_gmm(x, 1, np.random.default_rng(0), reg_covar=0.0)
    assert gmm.means[0, 0] == pytest.approx(x.mean())
    assert gmm.covariances[0, 0, 0] == pytest.approx(x.var())  # ddof = 0: the MLE


def test_gmm_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="NaN"):
        fit_gmm(np.array([[0.0, 1.0], [np.nan, 0.0]]), 1, rng)
    with pytest.raises(ValueError, match="fewer than num_components"):
        fit_gmm(np.zeros((2, 2)), 3, rng)
    with pytest.raises(TypeError, match="Generator"):
        fit_gmm(np.zeros((5, 2)), 1, 0)
    with pytest.raises(ValueError, match="sum to 1"):
        GaussianMixture(np.array([0.5, 0.6]), np.zeros((2, 1)), np.ones((2, 1, 1)))
    with pytest.raises(ValueError, match="shape"):
        GaussianMixture(np.array([1.0]), np.zeros((1, 2)), np.ones((1, 1, 1)))
    with pytest.raises(ValueError, match="shape"):
        gmm_log_density(TRUE, np.zeros((3, 3)))


def test_refit_chains_expected_variance_shrinks_by_n_minus_1_over_n():
    n, k = 5, 6
    _, var = gaussian_refit_chains(n, k, 200_000, np.random.default_rng(0), sigma2=2.0)
    expected = 2.0 * ((n - 1) / n) ** np.arange(k + 1)
    # standard error of the mean of sigma2_k over the chains
    se = var.std(axis=0) / math.sqrt(var.shape[0])
    assert np.all(np.abs(var.mean(axis=0) - expected) < 5 * se + 1e-12)
    _, var_u = gaussian_refit_chains(n, k, 200_000, np.random.default_rng(1), unbiased=True)
    se_u = var_u.std(axis=0) / math.sqrt(var_u.shape[0])
    assert np.all(np.abs(var_u.mean(axis=0) - 1.0) < 5 * se_u + 1e-12)


def test_refit_chains_match_refitting_real_samples():
    """The shortcut through the laws of the statistics equals literally sampling and refitting."""
    n, k, chains = 4, 3, 40_000
    rng = np.random.default_rng(2)
    mu, var = np.zeros(chains), np.ones(chains)
    for _ in range(k):
        x = mu[:, None] + np.sqrt(var)[:, None] * rng.standard_normal((chains, n))
        mu, var = x.mean(axis=1), x.var(axis=1)
    fast_mu, fast_var = gaussian_refit_chains(n, k, chains, np.random.default_rng(3))
    for a, b in ((var, fast_var[:, -1]), (mu, fast_mu[:, -1])):
        assert np.quantile(a, [0.1, 0.5, 0.9]) == pytest.approx(
            np.quantile(b, [0.1, 0.5, 0.9]), abs=0.03
        )


def test_tail_mass():
    ref = np.arange(1001.0)  # quantiles 2.5 % and 97.5 %: 25 and 975
    assert tail_mass(ref, ref, 0.05) == pytest.approx(50 / 1001, abs=1e-3)
    assert tail_mass(np.full(10, 500.0), ref) == 0.0
    assert tail_mass(np.array([-5.0, 500.0, 2000.0, 600.0]), ref) == 0.5
    two_d = np.column_stack([ref, ref])
    assert tail_mass(np.array([[-1.0, 500.0]]), two_d) == 0.5  # averaged over coordinates
    with pytest.raises(ValueError, match="dimension"):
        tail_mass(two_d, ref)


def test_modes_occupied():
    centers = ring_mode_centers(4, 2.0)
    x = np.repeat(centers[:2], 50, axis=0)
    assert modes_occupied(x, centers, 0.1) == 2
    assert modes_occupied(np.concatenate([x, centers[2:3]]), centers, 0.1) == 2  # 1 point: < 1/16
    assert (
        modes_occupied(np.concatenate([x, np.repeat(centers[2:3], 7, axis=0)]), centers, 0.1) == 3
    )


def test_mode_spread():
    centers = ring_mode_centers(8, 2.0)
    rng = np.random.default_rng(0)
    modes = rng.integers(8, size=20_000)
    for std in (0.05, 0.15):
        x = centers[modes] + std * rng.standard_normal((20_000, 2))
        assert mode_spread(x, centers) == pytest.approx(std, rel=0.02)
    assert mode_spread(centers[[0, 3, 3]], centers) == 0.0
    # one point at distance 3 from its nearest centre in 2-D: sqrt(9 / 2)
    assert mode_spread(np.array([[0.0, 5.0]]), np.array([[0.0, 2.0]])) == pytest.approx(
        1.5**0.5 * 3**0.5
    )


@pytest.fixture(scope="module")
def ring_runs():
    k = 4

    def draw_real(n, rng):
        return ring_of_gaussians(n, num_modes=k, std=0.15, seed=int(rng.integers(2**31)))[0]

    held = ring_of_gaussians(300, num_modes=k, std=0.15, seed=99)[0]

    def fit(x, rng):
        return fit_gmm(x, k, rng, max_iter=50, tol=1e-4)

    runs = {}
    for mode in DATA_MODES:
        cfg = CollapseConfig(generations=25, samples_per_generation=24, data=mode, eval_samples=200)
        runs[mode] = run_generations(
            fit,
            sample_gmm,
            draw_real,
            held,
            cfg,
            centers=ring_mode_centers(k, 2.0),
            mode_radius=0.45,
        )
    return runs


def test_experiment_shapes_and_shared_start(ring_runs):
    for mode, r in ring_runs.items():
        assert r.samples.shape == (26, 200, 2)
        assert r.mean.shape == (26, 2) and r.covariance.shape == (26, 2, 2)
        assert r.energy.shape == r.tail_mass.shape == r.modes.shape == r.mode_spread.shape == (26,)
        assert len(r.models) == 26
        # the same seed: the same real data and generation-0 model in every mode
        np.testing.assert_array_equal(r.samples[0], ring_runs["self"].samples[0])
        sizes = 24 * np.arange(1, 27) if mode == "accumulate" else np.full(26, 24)
        np.testing.assert_array_equal(r.train_size, sizes)
    assert len(ring_runs["self"].rows(every=5)) == 6


def test_self_training_collapses_and_fresh_data_does_not(ring_runs):
    self_run, fresh = ring_runs["self"], ring_runs["fresh"]
    assert fresh.modes.min() == 4
    assert self_run.modes[-1] < 4
    assert self_run.energy[-5:].mean() > 5 * max(fresh.energy[-5:].mean(), 0.005)
    assert self_run.mode_spread[-5:].mean() < 0.8 * fresh.mode_spread[-5:].mean()


def test_config_checks():
    with pytest.raises(ValueError, match="data"):
        CollapseConfig(data="replace")
    with pytest.raises(ValueError, match="real_fraction"):
        CollapseConfig(real_fraction=1.0)
    with pytest.raises(ValueError, match="generations"):
        CollapseConfig(generations=0)
    with pytest.raises(TypeError, match="function"):
        run_generations(
            None, sample_gmm, lambda n, r: np.zeros((n, 2)), np.zeros((3, 2)), CollapseConfig()
        )
    with pytest.raises(ValueError, match="shape"):
        run_generations(
            lambda x, r: fit_gmm(x, 1, r),
            sample_gmm,
            lambda n, r: np.zeros((n + 1, 2)),
            np.zeros((3, 2)),
            CollapseConfig(generations=1),
        )
