"""Checks of arguments, shared by the whole library: one clear error for each kind of bad input.

Every public function of ``course_lib`` checks what it is given before it computes, so a
wrong argument fails at once, naming the argument, what was expected and what came, instead
of failing three calls deeper or, worse, giving a silently wrong number. The checks here are
the only ones the library uses, so the same mistake gets the same message everywhere:

* :func:`check_int` -- an integer (``bool`` and ``2.5`` are refused, ``np.int64(3)`` and
  ``3.0`` are not: a float with an integer value is accepted only if ``allow_float``);
* :func:`check_real` -- a finite real number, optionally within bounds
  (:func:`check_positive`: one that is > 0);
* :func:`check_bool` -- ``True`` or ``False`` (not ``1``, not ``"yes"``);
* :func:`check_choice` -- one of a fixed set of strings;
* :func:`check_array` -- a NumPy array of a given rank, shape and kind of dtype, optionally
  finite and non-empty;
* :func:`check_nonempty` -- a sequence with at least one element.

Each returns the value in the form the caller needs (``int``, ``float``, ``np.ndarray``), so a
check and a conversion are one line: ``n = check_int("n", n, minimum=1)``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection, Sequence
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


def _bounds_text(minimum: float | None, maximum: float | None, strict: bool) -> str:
    low = ">" if strict else ">="
    high = "<" if strict else "<="
    if minimum is not None and maximum is not None:
        return f" {low} {minimum} and {high} {maximum}"
    if minimum is not None:
        return f" {low} {minimum}"
    if maximum is not None:
        return f" {high} {maximum}"
    return ""


def check_int(
    name: str,
    value: Any,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    allow_float: bool = False,
) -> int:
    """``value`` as an ``int`` if it is an integer within ``[minimum, maximum]``; else raise.

    ``bool`` is refused (``True`` is an ``int`` in Python, but never a size). NumPy integers
    are accepted. A ``float`` is refused, so ``epochs=2.5`` is an error rather than 2 epochs;
    with ``allow_float=True`` a float with an integer value (``3.0``) is accepted.

    Raises:
        TypeError: ``value`` is not an integer.
        ValueError: it is outside the bounds.
    """
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got the bool {value!r}")
    if isinstance(value, numbers.Integral) or (
        allow_float
        and isinstance(value, numbers.Real)
        and math.isfinite(float(value))
        and float(value).is_integer()
    ):
        result = int(value)
    else:
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if (minimum is not None and result < minimum) or (maximum is not None and result > maximum):
        raise ValueError(
            f"{name} must be an integer{_bounds_text(minimum, maximum, False)}, got {result}"
        )
    return result


def check_real(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    strict: bool = False,
    finite: bool = True,
) -> float:
    """``value`` as a ``float`` if it is a real number within the bounds; else raise.

    Bounds are inclusive, or exclusive with ``strict=True`` (``minimum=0, strict=True``: a
    positive number). NaN is always refused; infinities unless ``finite=False``.

    Raises:
        TypeError: ``value`` is not a real number (``bool`` included).
        ValueError: it is NaN, infinite, or outside the bounds.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    result = float(value)
    if math.isnan(result) or (finite and math.isinf(result)):
        raise ValueError(f"{name} must be a finite number, got {result}")
    below = minimum is not None and (result <= minimum if strict else result < minimum)
    above = maximum is not None and (result >= maximum if strict else result > maximum)
    if below or above:
        raise ValueError(f"{name} must be{_bounds_text(minimum, maximum, strict)}, got {result}")
    return result


def check_positive(name: str, value: Any) -> float:
    """``value`` as a ``float`` if it is a finite number > 0 (:func:`check_real`, strict)."""
    return check_real(name, value, minimum=0.0, strict=True)


def check_bool(name: str, value: Any) -> bool:
    """``value`` if it is ``True`` or ``False`` (NumPy's ``bool_`` too); else a ``TypeError``.

    ``1``, ``0`` and strings are refused: a flag given as ``"False"`` would read as true.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")
    return bool(value)


def check_choice(name: str, value: Any, choices: Collection[str]) -> str:
    """``value`` if it is one of ``choices`` (strings); else a ``ValueError`` listing them."""
    if not isinstance(value, str) or value not in choices:
        valid = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {valid}; got {value!r}")
    return value


def check_nonempty(name: str, value: Sequence[Any]) -> Sequence[Any]:
    """``value`` if it is a sequence (not a string) with at least one element; else raise."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise TypeError(f"{name} must be a sequence, got {type(value).__name__}")
    if len(value) == 0:
        raise ValueError(f"{name} is empty: it needs at least one element")
    return value


def check_config(name: str, value: Any, config_type: type[T]) -> T:
    """``value`` if it is a ``config_type``, a default ``config_type()`` if it is ``None``; else
    a ``TypeError`` naming both types (a model's ``cfg`` argument)."""
    if value is None:
        return config_type()
    if not isinstance(value, config_type):
        raise TypeError(
            f"{name} must be a {config_type.__name__} or None, got {type(value).__name__}"
        )
    return value


def check_widths(name: str, value: Any) -> tuple[int, ...]:
    """Layer widths: a non-empty tuple or list of integers ``>= 1``, returned as a tuple.

    The message names the argument and the element that is wrong (``hidden[1]``).
    """
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"{name} must be a tuple of ints, got {value!r}")
    if not value:
        raise ValueError(f"{name} is empty: it needs at least one layer width")
    return tuple(check_int(f"{name}[{i}]", width, minimum=1) for i, width in enumerate(value))


_KINDS = {
    "float": "f",
    "int": "iu",
    "number": "iuf",
    "bool": "b",
}


def check_array(
    name: str,
    value: Any,
    *,
    ndim: int | Sequence[int] | None = None,
    shape: Sequence[int | None] | None = None,
    kind: str | None = None,
    finite: bool = False,
    nonempty: bool = False,
    dtype: Any = None,
) -> np.ndarray:
    """``value`` as a NumPy array after checking its rank, shape, dtype kind and values.

    Args:
        name: the argument's name, for the message.
        value: anything ``np.asarray`` accepts (a ``tf.Tensor`` too).
        ndim: the rank, or the ranks allowed.
        shape: the shape, with ``None`` for any size along an axis (implies ``ndim``).
        kind: ``"float"``, ``"int"``, ``"number"`` or ``"bool"``: the kind of dtype allowed.
        finite: refuse NaN and infinities.
        nonempty: refuse an array with no element.
        dtype: convert the result to this dtype (after the checks).

    Raises:
        TypeError: the dtype is of the wrong kind (or ``value`` is not array-like).
        ValueError: the rank, shape or values are wrong.
    """
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be array-like, got {type(value).__name__}: {err}") from err
    if array.dtype == object:
        raise TypeError(f"{name} must be a numeric array, got dtype object (ragged or mixed?)")
    if kind is not None:
        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {', '.join(_KINDS)}, got {kind!r}")
        if array.dtype.kind not in _KINDS[kind]:
            raise TypeError(f"{name} must have a {kind} dtype, got {array.dtype}")
    if shape is not None:
        ndim = len(shape)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if array.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(
                f"{name} must have {want} dimension(s), got shape {array.shape} ({array.ndim})"
            )
    if shape is not None and any(
        want is not None and got != want for want, got in zip(shape, array.shape, strict=True)
    ):
        wanted = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {wanted}, got {array.shape}")
    if nonempty and array.size == 0:
        raise ValueError(f"{name} is empty (shape {array.shape})")
    if finite and array.dtype.kind in "fc" and not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ValueError(f"{name} has {bad} NaN or infinite value(s)")
    return array.astype(dtype) if dtype is not None else array
