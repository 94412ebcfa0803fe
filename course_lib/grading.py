"""Checks for graded exercises: each either passes silently or fails with a message that teaches.

An exercise cell of the course asks the learner for a value (a number, an array, a function);
the cell after it checks the answer. A bare ``assert x == y`` says only *that* the answer is
wrong. The checks here say *how*: which argument, the shapes when they differ (and whether a
transpose would match), the largest difference and where it is, and the relative error next
to the tolerance, the way the best gradient checkers report (cs231n's ``rel_error``, PyTorch's
``gradcheck``). Every check raises :class:`CheckFailed` (an ``AssertionError``, so nbgrader
and otter-grader count it as a failed test) and returns ``None`` when the answer is right.

* :func:`check_exact` -- equality of integers, strings, booleans, or arrays of them;
* :func:`check_close` -- numbers or arrays within ``|got - expected| <= atol + rtol |expected|``
  element-wise (NumPy's ``allclose`` rule), reporting the worst element;
* :func:`check_gradient` -- a gradient against central differences
  ``(f(x + h e_i) - f(x - h e_i)) / 2h``, judged by the relative error
  ``|g - g_num| / max(|g|, |g_num|, tiny)``;
* :func:`relative_error` -- that relative error, for reporting.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course_lib.runtime.validation import check_array, check_int, check_real

TINY = 1e-12  # keeps the relative error finite where both values are 0


class CheckFailed(AssertionError):
    """An exercise's answer is wrong; the message says how."""


def _as_array(name: str, value: Any) -> np.ndarray:
    """``value`` as an array (a ``tf.Tensor`` too), or a failure naming what was given."""
    if value is None:
        raise CheckFailed(f"{name} is None: the exercise asks you to set it (did you return it?)")
    if callable(value):
        raise CheckFailed(f"{name} is a function: call it and check its result instead")
    if hasattr(value, "numpy"):
        value = value.numpy()
    try:
        return check_array(name, value)
    except (TypeError, ValueError) as err:  # the shared argument check, in a grader's words
        raise CheckFailed(f"{name} is not a number or a rectangular array: {err}") from err


def _check_shape(name: str, got: np.ndarray, expected: np.ndarray) -> None:
    if got.shape == expected.shape:
        return
    hint = ""
    if got.ndim == 2 and got.T.shape == expected.shape:
        hint = " (its transpose has the expected shape: rows and columns swapped?)"
    elif got.size == expected.size:
        hint = " (same number of elements: a reshape or a missing/extra axis?)"
    elif got.ndim == expected.ndim + 1 or got.ndim + 1 == expected.ndim:
        hint = " (one axis more or fewer: a sum or mean over the wrong axis, or keepdims?)"
    raise CheckFailed(f"{name} has shape {got.shape}, expected {expected.shape}{hint}")


def relative_error(got: Any, expected: Any) -> float:
    """``max_i |got_i - expected_i| / max(|got_i|, |expected_i|, TINY)``: 0 if equal.

    The relative error compares numbers of any size on one scale: around ``1e-7`` it is
    float32 round-off, above ``1e-2`` the two values are different.
    """
    a = np.asarray(got, dtype=np.float64)
    b = np.asarray(expected, dtype=np.float64)
    scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), TINY)
    return float(np.max(np.abs(a - b) / scale)) if a.size else 0.0


def check_exact(name: str, got: Any, expected: Any) -> None:
    """``got == expected`` exactly (integers, strings, booleans, or arrays of them).

    Raises:
        CheckFailed: the types, shapes or values differ; the message names the first
            differing element and how many differ.
    """
    if isinstance(expected, str) or isinstance(got, str):
        if got != expected:
            raise CheckFailed(f"{name} is {got!r}, expected {expected!r}")
        return
    got_a, want = _as_array(name, got), _as_array("expected", expected)
    _check_shape(name, got_a, want)
    if want.dtype.kind in "iub" and got_a.dtype.kind == "f":
        raise CheckFailed(
            f"{name} has float values ({got_a.dtype}); an exact integer answer is expected "
            "(use // for integer division, or int(...))"
        )
    differ = got_a != want
    if np.any(differ):
        first = tuple(int(i) for i in np.argwhere(differ)[0])
        where = f" at index {first}" if got_a.ndim else ""
        count = f" ({int(differ.sum())} of {differ.size} elements differ)" if got_a.ndim else ""
        g = got_a[first].item() if got_a.ndim else got_a.item()
        e = want[first].item() if want.ndim else want.item()
        raise CheckFailed(f"{name} is {g!r}{where}, expected {e!r}{count}")


def check_close(
    name: str, got: Any, expected: Any, *, rtol: float = 1e-6, atol: float = 0.0
) -> None:
    """``|got - expected| <= atol + rtol |expected|`` for every element (NumPy's allclose).

    Args:
        name: what the learner computed, for the message (``"kl"``, ``"grad_mu"``).
        got, expected: numbers or arrays of the same shape (``tf.Tensor`` accepted).
        rtol, atol: the relative and absolute tolerances.

    Raises:
        CheckFailed: a shape differs, a value is NaN or infinite where the expected one is
            not, or an element is outside the tolerance; the message gives the worst element,
            its index, both values, the largest absolute difference and the relative error.
    """
    rtol = check_real("rtol", rtol, minimum=0.0)
    atol = check_real("atol", atol, minimum=0.0)
    got_a = _as_array(name, got).astype(np.float64)
    want = _as_array("expected", expected).astype(np.float64)
    _check_shape(name, got_a, want)
    bad_values = ~np.isfinite(got_a) & np.isfinite(want)
    if np.any(bad_values):
        first = tuple(int(i) for i in np.argwhere(bad_values)[0])
        where = f" at index {first}" if got_a.ndim else ""
        raise CheckFailed(
            f"{name} is {got_a[first]}{where}, expected {want[first]:.6g}: look for a log of 0, "
            "a division by 0 or an overflowing exp (subtract the maximum before exp)"
        )
    with np.errstate(invalid="ignore"):  # inf - inf where both are the same infinity
        diff = np.where(got_a == want, 0.0, np.abs(got_a - want))
    allowed = atol + rtol * np.abs(want)
    over = diff > allowed
    if not np.any(over):
        return
    worst = np.unravel_index(int(np.argmax(np.where(over, diff - allowed, -np.inf))), diff.shape)
    worst = tuple(int(i) for i in worst)
    where = f" at index {worst}" if got_a.ndim else ""
    count = f"; {int(over.sum())} of {over.size} elements are outside" if got_a.ndim else ""
    raise CheckFailed(
        f"{name} is {got_a[worst]:.6g}{where}, expected {want[worst]:.6g} "
        f"(difference {diff[worst]:.3g}, relative error {relative_error(got_a, want):.2g}; "
        f"allowed: {atol:g} + {rtol:g} x |expected|{count})"
    )


def check_gradient(
    name: str,
    f: Callable[[np.ndarray], float],
    x: Any,
    grad: Any,
    *,
    h: float = 1e-5,
    tolerance: float = 1e-5,
    max_coordinates: int = 50,
    seed: int = 0,
) -> None:
    """``grad`` is the gradient of the scalar function ``f`` at ``x``, by central differences.

    For up to ``max_coordinates`` coordinates ``i`` (all of them, or a seeded random choice),
    the numerical derivative ``(f(x + h e_i) - f(x - h e_i)) / (2 h)`` is compared with
    ``grad[i]`` by the relative error. In float64 with ``h = 1e-5`` a correct gradient of a
    smooth function has relative errors around ``1e-8``; ``1e-2`` and above means a mistake.

    Args:
        name: what ``grad`` is called in the exercise.
        f: maps an array shaped like ``x`` (float64) to a number.
        x: the point, any shape.
        grad: the learner's gradient, the shape of ``x``.
        h: the step of the central difference.
        tolerance: the largest relative error accepted.
        max_coordinates: how many coordinates to check (each costs two calls of ``f``).
        seed: which coordinates, when not all are checked.

    Raises:
        CheckFailed: the shapes differ, or a coordinate's relative error exceeds
            ``tolerance``; the message names the coordinate and both derivatives.
    """
    h = check_real("h", h, minimum=0.0, strict=True)
    tolerance = check_real("tolerance", tolerance, minimum=0.0, strict=True)
    max_coordinates = check_int("max_coordinates", max_coordinates, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    if not callable(f):
        raise TypeError(f"f must be a function of x, got {type(f).__name__}")
    x = _as_array("x", x).astype(np.float64)
    g = _as_array(name, grad).astype(np.float64)
    _check_shape(name, g, x)
    n = x.size
    coordinates = np.arange(n)
    if n > max_coordinates:
        coordinates = np.random.default_rng(seed).choice(n, max_coordinates, replace=False)
    for i in coordinates:
        step = np.zeros(n)
        step[i] = h
        step = step.reshape(x.shape)
        numeric = (float(f(x + step)) - float(f(x - step))) / (2 * h)
        index = np.unravel_index(int(i), x.shape)
        index = tuple(int(k) for k in index)
        analytic = float(g[index])
        error = relative_error(analytic, numeric)
        if error > tolerance:
            where = f"[{', '.join(map(str, index))}]" if x.ndim else ""
            raise CheckFailed(
                f"{name}{where} is {analytic:.6g}, but the central difference of f gives "
                f"{numeric:.6g} (relative error {error:.2g} > {tolerance:g}): check the "
                "derivative of that term, and any factor of 2 or sign"
            )
