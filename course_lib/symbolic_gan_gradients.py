"""Symbolic derivations with sympy: why GAN generators use the non-saturating loss.

The generator of a GAN (Goodfellow et al., 2014) could minimise the *saturating* loss
``log(1 - D(G(z)))`` from the value function, or the *non-saturating* ``-log D(G(z))`` used in
practice. With ``D = sigmoid(logits)``, :func:`derive_generator_gradients` shows that their
gradients with respect to the discriminator's logit are ``-D`` and ``-(1 - D)``: early in
training, when the discriminator easily rejects fakes (``D(G(z)) -> 0``), the first vanishes and
the second does not. :func:`generator_gradient_functions` turns both into NumPy functions for
plotting. The optimal discriminator itself is in :mod:`course_lib.symbolic_gan`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy

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
    if variable not in GRADIENT_VARIABLES:
        raise ValueError(f"Unknown variable {variable!r}; valid: {', '.join(GRADIENT_VARIABLES)}")
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
