"""Tests of course_lib.vae.derivations: the KL term, derived with sympy, checked numerically."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from course_lib.vae.derivations import (
    derive_gaussian_kl,
    gaussian_kl_1d,
    gaussian_kl_diag,
    kl_numpy,
)

MU = sympy.Symbol("mu", real=True)
SIGMA = sympy.Symbol("sigma", positive=True)
LOG_VAR = sympy.Symbol("log_var", real=True)


def closed_form_kl(mu: np.ndarray, log_var: np.ndarray) -> np.ndarray:
    """Independent NumPy KL per example: Σ_j 1/2 (mu^2 + sigma^2 - 1) - log sigma."""
    sigma = np.exp(0.5 * log_var)
    return np.sum(0.5 * (mu**2 + sigma**2 - 1.0) - np.log(sigma), axis=-1)


def test_derived_1d_kl_equals_the_closed_form():
    expected = sympy.Rational(1, 2) * (MU**2 + SIGMA**2 - 1) - sympy.log(SIGMA)
    assert sympy.simplify(gaussian_kl_1d("sigma") - expected) == 0


def test_derived_log_var_kl_equals_the_closed_form():
    expected = -sympy.Rational(1, 2) * (1 + LOG_VAR - MU**2 - sympy.exp(LOG_VAR))
    assert sympy.simplify(gaussian_kl_1d("log_var") - expected) == 0


def test_default_parameterization_is_sigma():
    assert gaussian_kl_1d() == gaussian_kl_1d("sigma")


def test_derivation_uses_the_documented_symbols():
    assert gaussian_kl_1d("sigma").free_symbols == {MU, SIGMA}
    assert gaussian_kl_1d("log_var").free_symbols == {MU, LOG_VAR}


def test_derivation_steps_give_the_gaussian_moments_and_expectations():
    d = derive_gaussian_kl()
    assert sympy.simplify(d.mean - MU) == 0
    assert sympy.simplify(d.second_moment - (MU**2 + SIGMA**2)) == 0
    half_log_2pi = sympy.log(2 * sympy.pi) / 2
    assert (
        sympy.simplify(d.e_log_q - (-sympy.log(SIGMA) - half_log_2pi - sympy.Rational(1, 2))) == 0
    )
    assert sympy.simplify(d.e_log_p - (-(MU**2 + SIGMA**2) / 2 - half_log_2pi)) == 0
    assert sympy.simplify(d.e_log_q - d.e_log_p - d.kl_sigma) == 0
    assert [label for label, _ in d.steps()][-1] == "KL (log_var)"


def test_integrand_integrates_to_the_kl():
    d = derive_gaussian_kl()
    integral = sympy.integrate(d.integrand.subs({MU: 1, SIGMA: 2}), (d.z, -sympy.oo, sympy.oo))
    assert sympy.simplify(integral - d.kl_sigma.subs({MU: 1, SIGMA: 2})) == 0


def test_kl_is_exactly_zero_when_q_equals_the_prior():
    assert gaussian_kl_1d("sigma").subs({MU: 0, SIGMA: 1}) == 0
    assert gaussian_kl_1d("log_var").subs({MU: 0, LOG_VAR: 0}) == 0


def test_kl_is_non_negative_on_a_grid():
    f = sympy.lambdify((MU, SIGMA), gaussian_kl_1d("sigma"), modules="numpy")
    mu, sigma = np.meshgrid(np.linspace(-3, 3, 61), np.geomspace(1e-2, 10, 61))
    values = f(mu, sigma)
    assert np.all(values >= 0)
    assert values.min() == pytest.approx(0.0, abs=1e-12)  # attained at mu=0, sigma=1 (on the grid)


def test_log_var_form_equals_sigma_form_when_log_var_is_two_log_sigma():
    substituted = gaussian_kl_1d("log_var").subs(LOG_VAR, 2 * sympy.log(SIGMA))
    assert sympy.simplify(substituted - gaussian_kl_1d("sigma")) == 0


def test_derivative_with_respect_to_mu_is_mu():
    assert sympy.simplify(sympy.diff(gaussian_kl_1d("sigma"), MU) - MU) == 0


def test_derivative_with_respect_to_sigma_is_sigma_minus_one_over_sigma():
    assert sympy.simplify(sympy.diff(gaussian_kl_1d("sigma"), SIGMA) - (SIGMA - 1 / SIGMA)) == 0


@pytest.mark.parametrize("bad", ["std", "variance", "", "SIGMA"])
def test_unknown_parameterization_raises(bad):
    with pytest.raises(ValueError, match="parameterization"):
        gaussian_kl_1d(bad)


def test_diag_kl_is_the_sum_of_1d_kls_over_dimensions():
    expanded = gaussian_kl_diag(3).doit()
    mu, log_var = sympy.IndexedBase("mu", real=True), sympy.IndexedBase("log_var", real=True)
    one_d = gaussian_kl_1d("log_var")
    expected = sum(one_d.subs({MU: mu[j], LOG_VAR: log_var[j]}) for j in range(3))
    assert sympy.simplify(expanded - expected) == 0
    assert isinstance(gaussian_kl_diag(sympy.Symbol("latent_dim", integer=True)), sympy.Sum)


def test_diag_kl_rejects_a_non_positive_latent_dim():
    with pytest.raises(ValueError, match="latent_dim must be an integer >= 1"):
        gaussian_kl_diag(0)
    with pytest.raises(TypeError, match="latent_dim must be an integer, got the bool"):
        gaussian_kl_diag(True)
    with pytest.raises(TypeError, match="latent_dim must be an integer"):
        gaussian_kl_diag(2.5)


def test_kl_numpy_agrees_with_an_independent_closed_form():
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(32, 8))
    log_var = rng.normal(scale=1.5, size=(32, 8))
    result = kl_numpy(mu, log_var)
    assert result.shape == (32,)
    np.testing.assert_allclose(result, closed_form_kl(mu, log_var), rtol=1e-12, atol=1e-12)


def test_kl_numpy_is_zero_at_the_prior_and_rejects_mismatched_shapes():
    assert kl_numpy(np.zeros(4), np.zeros(4)) == 0.0
    with pytest.raises(ValueError, match="shape"):
        kl_numpy(np.zeros(4), np.zeros(3))


def test_kl_numpy_rejects_nan_strings_and_an_empty_latent_axis():
    with pytest.raises(ValueError, match="mu has 1 NaN"):
        kl_numpy(np.array([0.0, np.nan]), np.zeros(2))
    with pytest.raises(TypeError, match="log_var must have a number dtype"):
        kl_numpy(np.zeros(2), np.array(["a", "b"]))
    with pytest.raises(ValueError, match="latent_dim 0"):
        kl_numpy(np.zeros((3, 0)), np.zeros((3, 0)))


@pytest.mark.parametrize(("mu", "log_var"), [(0.7, np.log(0.6**2)), (-1.5, 0.8), (0.0, -2.0)])
def test_kl_numpy_agrees_with_a_monte_carlo_estimate(mu, log_var):
    # KL = E_q[log q(z) - log p(z)], estimated from 10^6 samples z = mu + sigma * eps.
    # Tolerance: 5 standard errors of the sample mean (a false failure has probability ~6e-7).
    rng = np.random.default_rng(1234)
    sigma = np.exp(0.5 * log_var)
    eps = rng.standard_normal(1_000_000)
    z = mu + sigma * eps
    log_q = -0.5 * eps**2 - np.log(sigma) - 0.5 * np.log(2 * np.pi)
    log_p = -0.5 * z**2 - 0.5 * np.log(2 * np.pi)
    samples = log_q - log_p
    standard_error = samples.std() / np.sqrt(samples.size)
    assert standard_error < 5e-3  # the check must be sharp enough to catch a wrong formula
    exact = kl_numpy(np.array([mu]), np.array([log_var]))
    assert abs(samples.mean() - exact) < 5 * standard_error
