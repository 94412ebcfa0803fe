"""Tests of course_lib.gan.derivations: the optimal discriminator, V(D*, G) = -log 4 + 2 JSD, and
the saturating vs non-saturating generator gradients, derived with sympy and checked numerically."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from course_lib.gan.derivations import (
    derive_generator_gradients,
    derive_optimal_discriminator,
    gan_value_at_optimum_numeric,
    generator_gradient_functions,
    jsd_numeric,
    optimal_discriminator_numeric,
    value_at_optimum,
)

A, B = sympy.symbols("a b", positive=True)
LOG_4 = np.log(4.0)
AB_PAIRS = [(1.0, 1.0), (0.3, 2.0), (5.0, 0.2), (0.01, 0.07), (2.5, 2.4)]


def random_distribution(
    rng: np.random.Generator, num_outcomes: int, num_zeros: int = 0
) -> np.ndarray:
    """A random point of the simplex, with ``num_zeros`` randomly chosen outcomes set to 0."""
    p = rng.dirichlet(np.ones(num_outcomes))
    p[rng.choice(num_outcomes, size=num_zeros, replace=False)] = 0.0
    return p / p.sum()


def value_of(d: np.ndarray, p: np.ndarray, q: np.ndarray) -> float:
    """Independent V(D, G) = Σ_i p_i log D_i + q_i log(1 - D_i) for a D with entries in (0, 1)."""
    return float(np.sum(p * np.log(d) + q * np.log1p(-d)))


def entropy(p: np.ndarray) -> float:
    """Shannon entropy in nats, 0 log 0 = 0."""
    p = p[p > 0]
    return float(-np.sum(p * np.log(p)))


def numpy_sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits))


# --- the optimal discriminator -------------------------------------------------------------


def test_the_only_critical_point_is_a_over_a_plus_b():
    d = derive_optimal_discriminator()
    assert len(d.critical_points) == 1
    assert sympy.simplify(d.y_star - A / (A + B)) == 0
    assert sympy.simplify(d.first_derivative.subs(d.y, d.y_star)) == 0


@pytest.mark.parametrize(("a", "b"), AB_PAIRS)
def test_sympy_maximiser_equals_the_maximiser_on_a_fine_grid(a, b):
    d = derive_optimal_discriminator()
    f = sympy.lambdify(d.y, d.objective.subs({d.a: a, d.b: b}), modules="numpy")
    grid = np.linspace(1e-6, 1 - 1e-6, 1_000_000)  # spacing ~1e-6
    y_grid = grid[np.argmax(f(grid))]
    y_star = float(d.y_star.subs({d.a: a, d.b: b}))
    assert abs(y_grid - y_star) < 2e-6


@pytest.mark.parametrize(("a", "b"), AB_PAIRS)
def test_second_derivative_is_negative_at_the_optimum(a, b):
    d = derive_optimal_discriminator()
    assert sympy.simplify(d.second_derivative_at_optimum + (A + B) ** 3 / (A * B)) == 0
    assert d.second_derivative_at_optimum.is_negative
    at_optimum = d.second_derivative.subs({d.a: a, d.b: b, d.y: d.y_star.subs({d.a: a, d.b: b})})
    assert float(at_optimum) < 0


def test_objective_tends_to_minus_infinity_at_both_ends_so_the_maximum_is_global():
    d = derive_optimal_discriminator()
    assert d.limit_at_0 == -sympy.oo
    assert d.limit_at_1 == -sympy.oo


def test_optimal_discriminator_is_p_data_over_p_data_plus_p_g_and_one_half_where_they_agree():
    d = derive_optimal_discriminator()
    assert sympy.simplify(d.d_star - d.p_data / (d.p_data + d.p_g)) == 0
    assert d.d_star.subs(d.p_g, d.p_data) == sympy.Rational(1, 2)
    assert [label for label, _ in d.steps()][-1] == "D*(x)"


# --- V(D*, G) = -log 4 + 2 JSD, symbolically -------------------------------------------------


def test_value_at_optimum_is_the_objective_at_d_star():
    v = value_at_optimum()
    expected = A * sympy.log(A / (A + B)) + B * sympy.log(1 - A / (A + B))
    assert sympy.simplify(v.value - expected) == 0


def test_value_at_optimum_minus_the_jsd_form_simplifies_to_zero():
    v = value_at_optimum()
    expected = (
        A * sympy.log(2 * A / (A + B)) + B * sympy.log(2 * B / (A + B)) - (A + B) * sympy.log(2)
    )
    assert sympy.simplify(v.jsd_form - expected) == 0
    assert sympy.simplify(v.value - v.jsd_form) == 0


def test_jsd_form_terms_are_the_kl_integrands_against_the_mixture():
    v = value_at_optimum()
    assert sympy.simplify(v.m - (A + B) / 2) == 0
    assert sympy.simplify(v.kl_data_m - A * sympy.log(A / v.m)) == 0
    assert sympy.simplify(v.kl_g_m - B * sympy.log(B / v.m)) == 0
    assert sympy.simplify(v.constant + (A + B) * sympy.log(2)) == 0


def test_value_at_optimum_is_minus_2a_log_2_where_p_data_equals_p_g():
    # Integrated over x with ∫a = 1 this is -2 log 2 = -log 4.
    assert sympy.simplify(value_at_optimum().value.subs(B, A) + 2 * A * sympy.log(2)) == 0


def test_symbolic_value_summed_over_a_support_equals_the_numeric_value():
    rng = np.random.default_rng(3)
    p, q = random_distribution(rng, 7), random_distribution(rng, 7)
    integrand = sympy.lambdify((A, B), value_at_optimum().value, modules="numpy")
    assert np.sum(integrand(p, q)) == pytest.approx(gan_value_at_optimum_numeric(p, q), abs=1e-12)


# --- V(D*, G) = -log 4 + 2 JSD, numerically --------------------------------------------------


@pytest.mark.parametrize(
    ("seed", "num_outcomes", "num_zeros"), [(0, 2, 0), (1, 10, 0), (2, 50, 10), (3, 5, 2)]
)
def test_numeric_value_at_optimum_is_minus_log_4_plus_twice_the_jsd(seed, num_outcomes, num_zeros):
    rng = np.random.default_rng(seed)
    p = random_distribution(rng, num_outcomes, num_zeros)
    q = random_distribution(rng, num_outcomes, num_zeros)
    assert gan_value_at_optimum_numeric(p, q) == pytest.approx(
        -LOG_4 + 2 * jsd_numeric(p, q), abs=1e-12
    )


def test_optimal_discriminator_scores_at_least_as_high_as_any_other_discriminator():
    rng = np.random.default_rng(4)
    p, q = random_distribution(rng, 12), random_distribution(rng, 12)
    best = gan_value_at_optimum_numeric(p, q)
    assert best == pytest.approx(value_of(optimal_discriminator_numeric(p, q), p, q), abs=1e-12)
    for _ in range(200):
        other = rng.uniform(0.01, 0.99, size=12)
        assert value_of(other, p, q) < best


def test_jsd_is_zero_and_value_is_minus_log_4_exactly_when_p_equals_q():
    rng = np.random.default_rng(5)
    p = random_distribution(rng, 20, num_zeros=5)
    assert jsd_numeric(p, p) == 0.0
    assert gan_value_at_optimum_numeric(p, p) == pytest.approx(-LOG_4, abs=1e-12)
    np.testing.assert_array_equal(optimal_discriminator_numeric(p, p)[p > 0], 0.5)
    q = random_distribution(rng, 20)
    assert jsd_numeric(p, q) > 1e-6
    assert gan_value_at_optimum_numeric(p, q) > -LOG_4 + 1e-6


@pytest.mark.parametrize("seed", range(5))
def test_jsd_is_symmetric_and_at_most_log_2(seed):
    rng = np.random.default_rng(seed)
    p = random_distribution(rng, 8, num_zeros=seed % 3)
    q = random_distribution(rng, 8, num_zeros=(seed + 1) % 3)
    assert jsd_numeric(p, q) == pytest.approx(jsd_numeric(q, p), abs=1e-15)
    assert 0.0 < jsd_numeric(p, q) <= np.log(2.0)


def test_jsd_is_log_2_and_value_is_0_for_disjoint_supports():
    p, q = np.array([0.3, 0.7, 0.0, 0.0]), np.array([0.0, 0.0, 0.9, 0.1])
    assert jsd_numeric(p, q) == pytest.approx(np.log(2.0), abs=1e-15)
    assert gan_value_at_optimum_numeric(p, q) == pytest.approx(0.0, abs=1e-15)


def test_jsd_agrees_with_the_entropy_formula():
    # JSD(p || q) = H(m) - (H(p) + H(q)) / 2: a different route to the same number.
    rng = np.random.default_rng(6)
    p, q = random_distribution(rng, 30, num_zeros=4), random_distribution(rng, 30, num_zeros=4)
    expected = entropy((p + q) / 2) - (entropy(p) + entropy(q)) / 2
    assert jsd_numeric(p, q) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("p", "q"),
    [
        ([0.5, 0.5], [1.0]),  # different supports
        ([0.5, 0.6], [0.5, 0.5]),  # does not sum to 1
        ([1.5, -0.5], [0.5, 0.5]),  # negative entry
        ([np.nan, 1.0], [0.5, 0.5]),  # not finite
        ([[0.5, 0.5]], [[0.5, 0.5]]),  # not 1-D
    ],
)
def test_numeric_functions_reject_invalid_distributions(p, q):
    for f in (jsd_numeric, gan_value_at_optimum_numeric, optimal_discriminator_numeric):
        with pytest.raises(ValueError):
            f(np.array(p), np.array(q))


def test_optimal_discriminator_numeric_is_nan_only_where_both_densities_are_zero():
    d_star = optimal_discriminator_numeric(
        np.array([0.5, 0.5, 0.0, 0.0]), np.array([0.0, 0.25, 0.75, 0.0])
    )
    np.testing.assert_allclose(d_star[:3], [1.0, 2 / 3, 0.0])
    assert np.isnan(d_star[3])


# --- generator gradients ---------------------------------------------------------------------


def test_generator_gradients_match_sympy_differentiation_of_the_losses():
    g = derive_generator_gradients()
    sigma = 1 / (1 + sympy.exp(-g.logits))
    assert sympy.simplify(sympy.diff(sympy.log(1 - sigma), g.logits) - g.saturating_grad) == 0
    assert sympy.simplify(sympy.diff(-sympy.log(sigma), g.logits) - g.non_saturating_grad) == 0
    assert sympy.simplify(g.saturating_grad + sigma) == 0
    assert sympy.simplify(g.non_saturating_grad + (1 - sigma)) == 0


def test_generator_gradients_in_terms_of_d_are_minus_d_and_minus_one_minus_d():
    g = derive_generator_gradients()
    assert sympy.simplify(g.saturating_grad_in_d + g.d) == 0
    assert sympy.simplify(g.non_saturating_grad_in_d + (1 - g.d)) == 0


def test_gradient_functions_match_central_finite_differences_of_the_losses():
    # Losses written independently in NumPy:
    # log(1 - sigmoid(l)) = -softplus(l) and -log sigmoid(l) = softplus(-l).
    logits = np.linspace(-8.0, 8.0, 33)
    h = 1e-5
    losses = {
        "saturating": lambda logit: -np.logaddexp(0.0, logit),
        "non_saturating": lambda logit: np.logaddexp(0.0, -logit),
    }
    by_logits, by_d = generator_gradient_functions("logits"), generator_gradient_functions("d")
    for name, loss in losses.items():
        finite_difference = (loss(logits + h) - loss(logits - h)) / (2 * h)
        np.testing.assert_allclose(getattr(by_logits, name)(logits), finite_difference, atol=1e-9)
        np.testing.assert_allclose(
            getattr(by_d, name)(numpy_sigmoid(logits)), finite_difference, atol=1e-9
        )


def test_saturating_gradient_vanishes_as_d_goes_to_0_while_non_saturating_tends_to_1():
    g = derive_generator_gradients()
    assert g.saturating_limit == 0
    assert g.non_saturating_limit == -1
    f = generator_gradient_functions("d")
    d = np.array([1e-2, 1e-4, 1e-8])
    np.testing.assert_allclose(np.abs(f.saturating(d)), d, rtol=1e-12)
    np.testing.assert_allclose(np.abs(f.non_saturating(d)), 1 - d, rtol=1e-12)
    assert np.all(np.diff(np.abs(f.saturating(d))) < 0)  # shrinks towards 0 as D -> 0
    assert np.abs(f.saturating(d[-1])) < 1e-7 and np.abs(f.non_saturating(d[-1])) > 1 - 1e-7


def test_gradient_functions_of_logits_do_not_overflow_at_extreme_logits():
    f = generator_gradient_functions("logits")
    logits = np.array([-1000.0, 0.0, 1000.0])
    with np.errstate(over="raise", invalid="raise"):
        np.testing.assert_allclose(f.saturating(logits), [0.0, -0.5, -1.0])
        np.testing.assert_allclose(f.non_saturating(logits), [-1.0, -0.5, 0.0])


@pytest.mark.parametrize("bad", ["D", "logit", "", "x"])
def test_unknown_gradient_variable_raises(bad):
    with pytest.raises(ValueError, match="variable"):
        generator_gradient_functions(bad)
