"""Symbolic derivations with sympy: the KL term of the VAE loss, derived rather than quoted.

The encoder of a VAE outputs, per latent dimension, a Gaussian ``q(z) = N(mu, sigma^2)``;
the prior is ``p(z) = N(0, 1)``. The loss contains

    KL(q || p) = ∫ q(z) [log q(z) - log p(z)] dz = 1/2 (mu^2 + sigma^2 - 1) - log sigma,

or, with ``log_var = log sigma^2`` (what the encoder actually outputs),

    KL = -1/2 (1 + log_var - mu^2 - exp(log_var)).

This module obtains both by integrating with sympy (:func:`derive_gaussian_kl` keeps every
step for a notebook to display), sums them over a diagonal ``latent_dim``-dimensional
Gaussian (:func:`gaussian_kl_diag`) and turns the derived formula into a NumPy function
(:func:`kl_numpy`), so the numbers the course uses come from the derivation itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy

from course_lib.runtime.validation import check_array, check_choice, check_int

PARAMETERIZATIONS = ("sigma", "log_var")


@dataclass(frozen=True)
class KLDerivation:
    """Every step of KL(N(mu, sigma^2) || N(0, 1)), as sympy expressions.

    Attributes:
        z, mu, sigma, log_var: the symbols (``z``, ``mu`` real; ``sigma`` positive;
            ``log_var = log sigma^2`` real).
        q: the density ``q(z) = exp(-(z - mu)^2 / (2 sigma^2)) / sqrt(2 pi sigma^2)``.
        log_q: ``log q(z) = -(z - mu)^2 / (2 sigma^2) - 1/2 log(2 pi sigma^2)``.
        log_p: ``log p(z) = -z^2 / 2 - 1/2 log(2 pi)``.
        integrand: ``q(z) [log q(z) - log p(z)]``, integrated over z in (-oo, oo).
        mean: ``E_q[z] = ∫ z q(z) dz`` (= mu).
        second_moment: ``E_q[z^2] = ∫ z^2 q(z) dz`` (= mu^2 + sigma^2).
        e_log_q: ``E_q[log q] = -log sigma - 1/2 log(2 pi) - 1/2`` (minus the entropy).
        e_log_p: ``E_q[log p] = -(mu^2 + sigma^2)/2 - 1/2 log(2 pi)``.
        kl_sigma: ``E_q[log q] - E_q[log p] = 1/2 (mu^2 + sigma^2 - 1) - log sigma``.
        kl_log_var: the same with ``sigma = exp(log_var / 2)``:
            ``-1/2 (1 + log_var - mu^2 - exp(log_var))``.
    """

    z: sympy.Symbol
    mu: sympy.Symbol
    sigma: sympy.Symbol
    log_var: sympy.Symbol
    q: sympy.Expr
    log_q: sympy.Expr
    log_p: sympy.Expr
    integrand: sympy.Expr
    mean: sympy.Expr
    second_moment: sympy.Expr
    e_log_q: sympy.Expr
    e_log_p: sympy.Expr
    kl_sigma: sympy.Expr
    kl_log_var: sympy.Expr

    def steps(self) -> list[tuple[str, sympy.Expr]]:
        """The derivation in reading order, as ``(label, expression)`` pairs for a notebook."""
        return [
            ("q(z)", self.q),
            ("log q(z)", self.log_q),
            ("log p(z)", self.log_p),
            ("q(z) [log q(z) - log p(z)]", self.integrand),
            ("E_q[z]", self.mean),
            ("E_q[z^2]", self.second_moment),
            ("E_q[log q]", self.e_log_q),
            ("E_q[log p]", self.e_log_p),
            ("KL (sigma)", self.kl_sigma),
            ("KL (log_var)", self.kl_log_var),
        ]


def _expect(density: sympy.Expr, f: sympy.Expr, z: sympy.Symbol) -> sympy.Expr:
    """``E[f(z)] = ∫ density(z) f(z) dz`` over the real line, simplified."""
    return sympy.simplify(sympy.integrate(density * sympy.expand(f), (z, -sympy.oo, sympy.oo)))


@lru_cache(maxsize=1)
def derive_gaussian_kl() -> KLDerivation:
    """Derive KL(N(mu, sigma^2) || N(0, 1)) by integration over z; see :class:`KLDerivation`.

    Takes about a second (sympy's Gaussian integrals); the result is cached and immutable.
    """
    z = sympy.Symbol("z", real=True)
    mu = sympy.Symbol("mu", real=True)
    sigma = sympy.Symbol("sigma", positive=True)
    log_var = sympy.Symbol("log_var", real=True)
    log_q = -((z - mu) ** 2) / (2 * sigma**2) - sympy.log(2 * sympy.pi * sigma**2) / 2
    log_p = -(z**2) / 2 - sympy.log(2 * sympy.pi) / 2
    q = sympy.exp(log_q)
    e_log_q = _expect(q, log_q, z)
    e_log_p = _expect(q, log_p, z)
    kl_sigma = sympy.simplify(e_log_q - e_log_p)
    kl_log_var = sympy.simplify(kl_sigma.subs(sigma, sympy.exp(log_var / 2)))
    return KLDerivation(
        z=z,
        mu=mu,
        sigma=sigma,
        log_var=log_var,
        q=q,
        log_q=log_q,
        log_p=log_p,
        integrand=q * (log_q - log_p),
        mean=_expect(q, z, z),
        second_moment=_expect(q, z**2, z),
        e_log_q=e_log_q,
        e_log_p=e_log_p,
        kl_sigma=kl_sigma,
        kl_log_var=kl_log_var,
    )


def gaussian_kl_1d(parameterization: str = "sigma") -> sympy.Expr:
    """KL(N(mu, sigma^2) || N(0, 1)) for one latent dimension, derived by integration.

    Args:
        parameterization: ``"sigma"`` gives ``1/2 (mu^2 + sigma^2 - 1) - log sigma`` in the
            symbols ``mu`` (real) and ``sigma`` (positive); ``"log_var"`` gives
            ``-1/2 (1 + log_var - mu^2 - exp(log_var))`` in ``mu`` and ``log_var`` (real).

    Raises:
        ValueError: for any other parameterization.
    """
    check_choice("parameterization", parameterization, PARAMETERIZATIONS)
    derivation = derive_gaussian_kl()
    return derivation.kl_sigma if parameterization == "sigma" else derivation.kl_log_var


def gaussian_kl_diag(latent_dim: int | sympy.Expr) -> sympy.Sum:
    """KL(N(mu, diag(exp(log_var))) || N(0, I)), a sum over the latent dimensions:

        Σ_j -1/2 (1 + log_var_j - mu_j^2 - exp(log_var_j)).

    A diagonal Gaussian factorizes over dimensions, so the KL is the sum of the 1-D KL
    (log_var form) over ``j = 0 .. latent_dim - 1``, written with ``IndexedBase`` symbols
    ``mu[j]`` and ``log_var[j]``. ``latent_dim`` may be an int or a sympy symbol; call
    ``.doit()`` on the result to expand it for an int.
    """
    if not isinstance(latent_dim, sympy.Basic):
        latent_dim = check_int("latent_dim", latent_dim, minimum=1)
    derivation = derive_gaussian_kl()
    mu = sympy.IndexedBase("mu", real=True)
    log_var = sympy.IndexedBase("log_var", real=True)
    j = sympy.Symbol("j", integer=True, nonnegative=True)
    term = derivation.kl_log_var.subs({derivation.mu: mu[j], derivation.log_var: log_var[j]})
    return sympy.Sum(term, (j, 0, latent_dim - 1))


@lru_cache(maxsize=1)
def _kl_per_dimension() -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The summand of :func:`gaussian_kl_diag`, lambdified to an elementwise NumPy function."""
    summand = gaussian_kl_diag(1).function
    mu_j, log_var_j = sympy.symbols("mu_j log_var_j", real=True)
    indexed = {i.base.label.name: i for i in summand.atoms(sympy.Indexed)}
    plain = summand.subs({indexed["mu"]: mu_j, indexed["log_var"]: log_var_j})
    return sympy.lambdify((mu_j, log_var_j), plain, modules="numpy")


def kl_numpy(mu: np.ndarray, log_var: np.ndarray) -> np.ndarray:
    """KL(N(mu, diag(exp(log_var))) || N(0, I)) per example, from the derived formula.

    Args:
        mu: means, shape ``(..., latent_dim)``.
        log_var: log variances ``log sigma^2``, same shape as ``mu``.

    Returns:
        The KL summed over the last axis, shape ``(...)``; a float for 1-D input.
    """
    mu = check_array("mu", mu, kind="number", finite=True, dtype=np.float64)
    log_var = check_array("log_var", log_var, kind="number", finite=True, dtype=np.float64)
    if mu.shape != log_var.shape or mu.ndim == 0:
        raise ValueError(
            f"mu and log_var need one shape (..., latent_dim), got {mu.shape}, {log_var.shape}"
        )
    if mu.shape[-1] == 0:
        raise ValueError(f"mu and log_var have latent_dim 0 (shape {mu.shape}): nothing to sum")
    return np.sum(_kl_per_dimension()(mu, log_var), axis=-1)
