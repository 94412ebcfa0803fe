"""The GAN's objective derived with sympy: the optimal discriminator, the divergence the
generator then minimises, and why generators use the non-saturating loss.

**The optimal discriminator.** A GAN (Goodfellow et al., 2014) plays ``min_G max_D V(D, G)`` with

    V(D, G) = E_{x ~ p_data}[log D(x)] + E_{z ~ p(z)}[log(1 - D(G(z)))]
            = ∫ p_data(x) log D(x) + p_g(x) log(1 - D(x)) dx,

where ``p_g`` is the distribution of ``G(z)``. The discriminator maximises V, pointwise in x:
``f(y) = a log y + b log(1 - y)`` with ``a = p_data(x)``, ``b = p_g(x)`` is maximised on
``(0, 1)`` at ``y* = a / (a + b)``, so ``D*(x) = p_data(x) / (p_data(x) + p_g(x))``
(:func:`derive_optimal_discriminator`). Substituting D* (:func:`value_at_optimum`) gives

    V(D*, G) = -log 4 + KL(p_data || m) + KL(p_g || m) = -log 4 + 2 JSD(p_data || p_g),
    m = (p_data + p_g) / 2,

so the generator minimises a Jensen-Shannon divergence, smallest (``-log 4``) at
``p_g = p_data``. :func:`jsd_numeric` and :func:`gan_value_at_optimum_numeric` check this on
discrete distributions.

**The generator's two losses.** The generator could minimise the *saturating* loss
``log(1 - D(G(z)))`` from the value function, or the *non-saturating* ``-log D(G(z))`` used in
practice. With ``D = sigmoid(logits)``, :func:`derive_generator_gradients` shows that their
gradients with respect to the discriminator's logit are ``-D`` and ``-(1 - D)``: early in
training, when the discriminator easily rejects fakes (``D(G(z)) -> 0``), the first vanishes and
the second does not. :func:`generator_gradient_functions` turns both into NumPy functions for
plotting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy

from course_lib.runtime.validation import check_array, check_choice


# ------------------------------------------------------------ the optimal discriminator
@dataclass(frozen=True)
class OptimalDiscriminator:
    """Every step of ``argmax_{y in (0,1)} a log y + b log(1 - y)``, as sympy expressions.

    Attributes:
        y: the discriminator's output at one point x, ``y = D(x)`` (positive; in (0, 1)).
        a, b: positive symbols standing for ``p_data(x)`` and ``p_g(x)``.
        objective: ``f(y) = a log y + b log(1 - y)``, the integrand of V(D, G) at x.
        first_derivative: ``f'(y) = a/y - b/(1 - y)``.
        critical_points: the solutions of ``f'(y) = 0`` (one: ``a / (a + b)``).
        y_star: ``y* = a / (a + b)``, which lies in (0, 1) for a, b > 0.
        second_derivative: ``f''(y) = -a/y^2 - b/(1 - y)^2``.
        second_derivative_at_optimum: ``f''(y*) = -(a + b)^3 / (a b) < 0``, so y* is a maximum.
        limit_at_0, limit_at_1: ``f(y) -> -oo`` at both ends of (0, 1), so the maximum is global.
        x, p_data, p_g: the point x and the two densities at it, ``p_data(x)``, ``p_g(x)``.
        d_star: ``D*(x) = p_data(x) / (p_data(x) + p_g(x))``, y* read pointwise.
    """

    y: sympy.Symbol
    a: sympy.Symbol
    b: sympy.Symbol
    objective: sympy.Expr
    first_derivative: sympy.Expr
    critical_points: tuple[sympy.Expr, ...]
    y_star: sympy.Expr
    second_derivative: sympy.Expr
    second_derivative_at_optimum: sympy.Expr
    limit_at_0: sympy.Expr
    limit_at_1: sympy.Expr
    x: sympy.Symbol
    p_data: sympy.Expr
    p_g: sympy.Expr
    d_star: sympy.Expr

    def steps(self) -> list[tuple[str, sympy.Expr]]:
        """The derivation in reading order, as ``(label, expression)`` pairs for a notebook."""
        return [
            ("f(y)", self.objective),
            ("f'(y)", self.first_derivative),
            ("y* (f'(y) = 0)", self.y_star),
            ("f''(y)", self.second_derivative),
            ("f''(y*)", self.second_derivative_at_optimum),
            ("lim f(y), y -> 0+", self.limit_at_0),
            ("lim f(y), y -> 1-", self.limit_at_1),
            ("D*(x)", self.d_star),
        ]


@lru_cache(maxsize=1)
def derive_optimal_discriminator() -> OptimalDiscriminator:
    """Derive ``D*(x) = p_data(x) / (p_data(x) + p_g(x))``; see :class:`OptimalDiscriminator`.

    Raises:
        ArithmeticError: if sympy does not find exactly one critical point in (0, 1) with a
            negative second derivative (it does; the check keeps the derivation honest).
    """
    y = sympy.Symbol("y", positive=True)
    a, b = sympy.symbols("a b", positive=True)
    objective = a * sympy.log(y) + b * sympy.log(1 - y)
    first_derivative = sympy.diff(objective, y)
    critical_points = tuple(sympy.solve(first_derivative, y))
    if len(critical_points) != 1:
        raise ArithmeticError(f"expected one critical point, sympy found {critical_points}")
    y_star = critical_points[0]
    second_derivative = sympy.diff(objective, y, 2)
    second_at_optimum = sympy.factor(sympy.simplify(second_derivative.subs(y, y_star)))
    in_unit_interval = y_star.is_positive and sympy.simplify(1 - y_star).is_positive
    if not (in_unit_interval and second_at_optimum.is_negative):
        raise ArithmeticError(f"y* = {y_star} is not a maximum in (0, 1)")
    x = sympy.Symbol("x", real=True)
    p_data = sympy.Function("p_data", positive=True)(x)
    p_g = sympy.Function("p_g", positive=True)(x)
    return OptimalDiscriminator(
        y=y,
        a=a,
        b=b,
        objective=objective,
        first_derivative=first_derivative,
        critical_points=critical_points,
        y_star=y_star,
        second_derivative=second_derivative,
        second_derivative_at_optimum=second_at_optimum,
        limit_at_0=sympy.limit(objective, y, 0, "+"),
        limit_at_1=sympy.limit(objective, y, 1, "-"),
        x=x,
        p_data=p_data,
        p_g=p_g,
        d_star=y_star.subs({a: p_data, b: p_g}),
    )


# ------------------------------------------------------------ the value at the optimum
@dataclass(frozen=True)
class ValueAtOptimum:
    """The integrand of ``V(D*, G)`` at one point x, rewritten as a Jensen-Shannon integrand.

    With ``a = p_data(x)``, ``b = p_g(x)`` (positive symbols) and ``m = (a + b)/2``:

    Attributes:
        a, b: the symbols of :class:`OptimalDiscriminator`.
        value: ``a log D* + b log(1 - D*)`` with ``D* = a/(a + b)`` substituted, each log's
            argument over a common denominator: ``a log(a/(a + b)) + b log(b/(a + b))``.
        m: the mixture density ``m = (a + b) / 2``.
        kl_data_m: ``a log(a / m) = a log(2a / (a + b))``, integrates to ``KL(p_data || m)``.
        kl_g_m: ``b log(b / m) = b log(2b / (a + b))``, integrates to ``KL(p_g || m)``.
        constant: ``-(a + b) log 2``, integrates to ``-2 log 2 = -log 4`` (∫a = ∫b = 1).
        jsd_form: ``kl_data_m + kl_g_m + constant``; ``simplify(value - jsd_form) == 0``,
            hence ``V(D*, G) = -log 4 + KL(p_data || m) + KL(p_g || m) = -log 4 + 2 JSD``.
    """

    a: sympy.Symbol
    b: sympy.Symbol
    value: sympy.Expr
    m: sympy.Expr
    kl_data_m: sympy.Expr
    kl_g_m: sympy.Expr
    constant: sympy.Expr
    jsd_form: sympy.Expr

    def steps(self) -> list[tuple[str, sympy.Expr]]:
        """The rewriting in reading order, as ``(label, expression)`` pairs for a notebook."""
        return [
            ("a log D* + b log(1 - D*)", self.value),
            ("m", self.m),
            ("a log(a/m)", self.kl_data_m),
            ("b log(b/m)", self.kl_g_m),
            ("-(a + b) log 2", self.constant),
            ("a log(a/m) + b log(b/m) - (a + b) log 2", self.jsd_form),
        ]


@lru_cache(maxsize=1)
def value_at_optimum() -> ValueAtOptimum:
    """Substitute D* into the integrand of V(D, G); see :class:`ValueAtOptimum`."""
    derivation = derive_optimal_discriminator()
    a, b = derivation.a, derivation.b
    substituted = derivation.objective.subs(derivation.y, derivation.y_star)
    # 1 - a/(a + b) -> b/(a + b) inside each log: a tidy form of the same expression.
    value = substituted.replace(sympy.log, lambda arg: sympy.log(sympy.together(arg)))
    kl_data_m = a * sympy.log(2 * a / (a + b))  # = a log(a / m)
    kl_g_m = b * sympy.log(2 * b / (a + b))  # = b log(b / m)
    constant = -sympy.log(2) * (a + b)
    return ValueAtOptimum(
        a=a,
        b=b,
        value=value,
        m=(a + b) / 2,
        kl_data_m=kl_data_m,
        kl_g_m=kl_g_m,
        constant=constant,
        jsd_form=kl_data_m + kl_g_m + constant,
    )


# ------------------------------------------------------------ numeric checks, discrete
def _as_distributions(p: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check that p and q are discrete distributions on one support: 1-D, >= 0, sum 1."""
    p = check_array("p", p, kind="number", dtype=np.float64)
    q = check_array("q", q, kind="number", dtype=np.float64)
    if p.ndim != 1 or p.shape != q.shape or p.size == 0:
        raise ValueError(f"p and q need one 1-D shape (num_outcomes,), got {p.shape}, {q.shape}")
    for name, r in (("p", p), ("q", q)):
        if not np.all(np.isfinite(r)) or np.any(r < 0) or not np.isclose(r.sum(), 1.0, atol=1e-9):
            raise ValueError(f"{name} must be finite, non-negative and sum to 1 (sum = {r.sum()})")
    return p, q


def _kl(p: np.ndarray, r: np.ndarray) -> float:
    """``KL(p || r) = Σ_i p_i log(p_i / r_i)``, with ``0 log 0 = 0``.

    Needs ``r_i > 0`` wherever ``p_i > 0``.
    """
    support = p > 0
    return float(np.sum(p[support] * (np.log(p[support]) - np.log(r[support]))))


def jsd_numeric(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence ``1/2 KL(p || m) + 1/2 KL(q || m)``, ``m = (p + q)/2``, in nats.

    Args:
        p, q: discrete distributions on one support, shape ``(num_outcomes,)``; zeros allowed.

    Returns:
        JSD in ``[0, log 2]``: 0 iff p = q, log 2 iff their supports are disjoint.
    """
    p, q = _as_distributions(p, q)
    m = (p + q) / 2
    return 0.5 * _kl(p, m) + 0.5 * _kl(q, m)


def optimal_discriminator_numeric(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``D*_i = p_i / (p_i + q_i)`` for p = p_data, q = p_g.

    NaN where both are 0 (D* is free there).

    Shapes: ``(num_outcomes,)`` in, ``(num_outcomes,)`` out.
    """
    p, q = _as_distributions(p, q)
    total = p + q
    with np.errstate(invalid="ignore"):
        return np.where(total > 0, p / np.where(total > 0, total, 1.0), np.nan)


def gan_value_at_optimum_numeric(p: np.ndarray, q: np.ndarray) -> float:
    """``V(D*, G) = Σ_i p_i log D*_i + q_i log(1 - D*_i)`` on a discrete support, in nats.

    Computed from D* itself (not from the JSD), so that ``V(D*, G) = -log 4 + 2 JSD(p || q)``
    is a check. ``1 - D*_i`` is evaluated as ``q_i / (p_i + q_i)`` to avoid cancellation;
    terms with ``p_i = 0`` or ``q_i = 0`` contribute 0.

    Args:
        p: ``p_data``, shape ``(num_outcomes,)``.
        q: ``p_g``, same shape.
    """
    p, q = _as_distributions(p, q)
    d_star = optimal_discriminator_numeric(p, q)
    data_term = np.sum(p[p > 0] * np.log(d_star[p > 0]))
    one_minus_d_star = q[q > 0] / (p[q > 0] + q[q > 0])
    generator_term = np.sum(q[q > 0] * np.log(one_minus_d_star))
    return float(data_term + generator_term)


# ------------------------------------------------------------ the generator's two losses
GRADIENT_VARIABLES = ("d", "logits")


@dataclass(frozen=True)
class GeneratorGradients:
    """Gradients of the two generator losses with respect to the discriminator's logit.

    The discriminator outputs ``D(G(z)) = sigmoid(logits)``. The generator minimises either

    * the saturating loss ``log(1 - D(G(z)))`` (the term of V it actually plays), or
    * the non-saturating loss ``-log D(G(z))`` (same fixed point, used in practice).

    Attributes:
        logits: the logit symbol (real); ``d`` the symbol ``D = sigmoid(logits)`` in (0, 1).
        sigmoid: ``1 / (1 + exp(-logits))``.
        saturating_loss, non_saturating_loss: the two losses in terms of ``logits``.
        saturating_grad: ``d/dlogits log(1 - sigmoid(logits)) = -sigmoid(logits)``.
        non_saturating_grad: ``d/dlogits (-log sigmoid(logits)) = -(1 - sigmoid(logits))``.
        saturating_grad_in_d, non_saturating_grad_in_d: the same with
            ``logits = log(D / (1 - D))`` substituted: ``-D`` and ``-(1 - D)``.
        saturating_limit, non_saturating_limit: both gradients as ``logits -> -oo``
            (``D -> 0``, the discriminator rejects every fake): ``0`` and ``-1``.

    Note: with respect to D itself the gradients are ``-1/(1 - D)`` and ``-1/D``; it is the
    sigmoid's factor ``dD/dlogits = D (1 - D)`` on the way back to G that kills the first.
    """

    logits: sympy.Symbol
    d: sympy.Symbol
    sigmoid: sympy.Expr
    saturating_loss: sympy.Expr
    non_saturating_loss: sympy.Expr
    saturating_grad: sympy.Expr
    non_saturating_grad: sympy.Expr
    saturating_grad_in_d: sympy.Expr
    non_saturating_grad_in_d: sympy.Expr
    saturating_limit: sympy.Expr
    non_saturating_limit: sympy.Expr


@lru_cache(maxsize=1)
def derive_generator_gradients() -> GeneratorGradients:
    """Differentiate both generator losses with sympy; see :class:`GeneratorGradients`."""
    logits = sympy.Symbol("logits", real=True)
    d = sympy.Symbol("D", positive=True)
    sigmoid = 1 / (1 + sympy.exp(-logits))
    saturating_loss = sympy.log(1 - sigmoid)
    non_saturating_loss = -sympy.log(sigmoid)
    saturating_grad = sympy.simplify(sympy.diff(saturating_loss, logits))
    non_saturating_grad = sympy.simplify(sympy.diff(non_saturating_loss, logits))
    logit_of_d = sympy.log(d / (1 - d))
    return GeneratorGradients(
        logits=logits,
        d=d,
        sigmoid=sigmoid,
        saturating_loss=saturating_loss,
        non_saturating_loss=non_saturating_loss,
        saturating_grad=saturating_grad,
        non_saturating_grad=non_saturating_grad,
        saturating_grad_in_d=sympy.simplify(saturating_grad.subs(logits, logit_of_d)),
        non_saturating_grad_in_d=sympy.simplify(non_saturating_grad.subs(logits, logit_of_d)),
        saturating_limit=sympy.limit(saturating_grad, logits, -sympy.oo),
        non_saturating_limit=sympy.limit(non_saturating_grad, logits, -sympy.oo),
    )


@dataclass(frozen=True)
class GradientFunctions:
    """NumPy functions of the two generator gradients (elementwise, any shape)."""

    saturating: Callable[[np.ndarray], np.ndarray]
    non_saturating: Callable[[np.ndarray], np.ndarray]


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-logits))`` without overflow, as ``exp(-softplus(-logits))``."""
    return np.exp(-np.logaddexp(0.0, -np.asarray(logits, dtype=np.float64)))


@lru_cache(maxsize=len(GRADIENT_VARIABLES))
def generator_gradient_functions(variable: str = "d") -> GradientFunctions:
    """The derived generator gradients d(loss)/d(logits) as NumPy functions, for plotting.

    Args:
        variable: ``"d"`` gives functions of ``D(G(z))`` in (0, 1): ``-D`` and ``-(1 - D)``;
            ``"logits"`` gives functions of the logit, evaluated as the ``"d"`` form at
            ``D = sigmoid(logits)`` (the derived identity) so that large |logits| cannot overflow.

    Raises:
        ValueError: for any other variable.
    """
    check_choice("variable", variable, GRADIENT_VARIABLES)
    g = derive_generator_gradients()
    saturating = sympy.lambdify(g.d, g.saturating_grad_in_d, modules="numpy")
    non_saturating = sympy.lambdify(g.d, g.non_saturating_grad_in_d, modules="numpy")
    if variable == "d":
        return GradientFunctions(
            saturating=lambda d: saturating(np.asarray(d, dtype=np.float64)),
            non_saturating=lambda d: non_saturating(np.asarray(d, dtype=np.float64)),
        )
    return GradientFunctions(
        saturating=lambda logits: saturating(_sigmoid(logits)),
        non_saturating=lambda logits: non_saturating(_sigmoid(logits)),
    )
