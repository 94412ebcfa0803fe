"""Tests of course_lib.runtime.validation: each check accepts what it should and names the
argument, the expectation and the value when it refuses."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.runtime.validation import (
    check_array,
    check_bool,
    check_choice,
    check_int,
    check_nonempty,
    check_positive,
    check_real,
)


@pytest.mark.parametrize("value", [3, np.int64(3), np.uint8(3)])
def test_check_int_accepts_python_and_numpy_integers(value):
    result = check_int("n", value, minimum=1)
    assert result == 3 and type(result) is int


@pytest.mark.parametrize("value", [True, np.bool_(True), 2.5, 3.0, "3", None, [3]])
def test_check_int_refuses_non_integers_with_a_type_error_naming_the_argument(value):
    with pytest.raises(TypeError, match=r"^epochs must be an integer"):
        check_int("epochs", value)


def test_check_int_takes_integral_floats_only_when_asked():
    assert check_int("n", 3.0, allow_float=True) == 3
    with pytest.raises(TypeError):
        check_int("n", 2.5, allow_float=True)
    with pytest.raises(TypeError):
        check_int("n", float("nan"), allow_float=True)


def test_check_int_bounds_are_inclusive_and_named():
    assert check_int("k", 0, minimum=0, maximum=0) == 0
    with pytest.raises(ValueError, match=r"k must be an integer >= 1, got 0"):
        check_int("k", 0, minimum=1)
    with pytest.raises(ValueError, match=r"k must be an integer >= 1 and <= 4, got 5"):
        check_int("k", 5, minimum=1, maximum=4)
    with pytest.raises(ValueError, match=r"<= 4"):
        check_int("k", 5, maximum=4)


def test_check_real_converts_and_checks_bounds():
    assert check_real("lr", np.float32(0.5)) == 0.5
    assert check_real("lr", 2) == 2.0
    assert check_real("p", 1.0, minimum=0.0, maximum=1.0) == 1.0
    with pytest.raises(ValueError, match=r"lr must be > 0.0, got 0.0"):
        check_real("lr", 0.0, minimum=0.0, strict=True)
    with pytest.raises(ValueError, match=r"p must be >= 0.0 and <= 1.0, got 1.5"):
        check_real("p", 1.5, minimum=0.0, maximum=1.0)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_check_real_refuses_nan_and_infinities_by_default(value):
    with pytest.raises(ValueError, match="finite"):
        check_real("x", value)


def test_check_real_allows_infinity_when_asked_but_never_nan():
    assert check_real("x", float("inf"), finite=False) == float("inf")
    with pytest.raises(ValueError):
        check_real("x", float("nan"), finite=False)


@pytest.mark.parametrize("value", [True, "1.0", None, 1j])
def test_check_real_refuses_non_numbers(value):
    with pytest.raises(TypeError, match="x must be a real number"):
        check_real("x", value)


def test_check_choice_lists_the_valid_values():
    assert check_choice("mode", "min", ("min", "max")) == "min"
    with pytest.raises(ValueError, match=r"mode must be one of 'min', 'max'; got 'avg'"):
        check_choice("mode", "avg", ("min", "max"))
    with pytest.raises(ValueError):
        check_choice("mode", None, ("min", "max"))


def test_check_nonempty():
    assert check_nonempty("prompt", [1]) == [1]
    with pytest.raises(ValueError, match="prompt is empty"):
        check_nonempty("prompt", [])
    with pytest.raises(ValueError, match="prompt is empty"):
        check_nonempty("prompt", np.array([]))
    with pytest.raises(TypeError, match="prompt must be a sequence"):
        check_nonempty("prompt", "abc")
    with pytest.raises(TypeError):
        check_nonempty("prompt", 3)


def test_check_array_shape_with_wildcards_and_dtype_kind():
    x = check_array("x", [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], shape=(None, 2), kind="float")
    assert isinstance(x, np.ndarray) and x.shape == (3, 2)
    with pytest.raises(ValueError, match=r"x must have shape \(any, 2\), got \(2, 3\)"):
        check_array("x", np.zeros((2, 3)), shape=(None, 2))
    with pytest.raises(ValueError, match=r"x must have 2 dimension\(s\), got shape \(4,\)"):
        check_array("x", np.zeros(4), shape=(None, 2))
    with pytest.raises(TypeError, match="x must have a float dtype, got int64"):
        check_array("x", np.zeros(4, np.int64), kind="float")
    assert check_array("x", np.zeros(4, np.int64), kind="number").dtype == np.int64


def test_check_array_ranks_values_and_conversion():
    assert check_array("x", np.zeros((2, 2)), ndim=(2, 3)).ndim == 2
    with pytest.raises(ValueError, match="2 or 3 dimension"):
        check_array("x", np.zeros(2), ndim=(2, 3))
    with pytest.raises(ValueError, match="x has 2 NaN or infinite"):
        check_array("x", [1.0, np.nan, np.inf], finite=True)
    assert check_array("x", [1.0, np.nan], finite=False).shape == (2,)
    with pytest.raises(ValueError, match="x is empty"):
        check_array("x", np.zeros((0, 2)), nonempty=True)
    assert check_array("x", [1, 2], dtype="float32").dtype == np.float32
    with pytest.raises(TypeError, match=r"x must be array-like.*inhomogeneous"):
        check_array("x", [[1, 2], [3]])  # ragged
    with pytest.raises(TypeError, match="x must be a numeric array, got dtype object"):
        check_array("x", np.array([1, "a", None], dtype=object))
    with pytest.raises(ValueError, match="kind must be one of"):
        check_array("x", [1], kind="complex")


def test_check_positive_is_a_strict_lower_bound_at_zero():
    assert check_positive("rate", 1e-9) == 1e-9
    for bad in (0, -1.0):
        with pytest.raises(ValueError, match=r"rate must be > 0\.0"):
            check_positive("rate", bad)
    with pytest.raises(TypeError):
        check_positive("rate", "1")


def test_check_bool_accepts_only_true_and_false():
    assert check_bool("flag", True) is True
    assert check_bool("flag", np.bool_(False)) is False
    for bad in (1, 0, "False", None):
        with pytest.raises(TypeError, match="flag must be True or False"):
            check_bool("flag", bad)


def test_check_widths_returns_a_tuple_of_ints_and_names_the_bad_element():
    from course_lib.runtime.validation import check_widths

    assert check_widths("hidden", [64, np.int64(32)]) == (64, 32)
    assert all(type(w) is int for w in check_widths("hidden", (np.int32(8),)))
    with pytest.raises(TypeError, match="hidden must be a tuple of ints, got 64"):
        check_widths("hidden", 64)
    with pytest.raises(ValueError, match="hidden is empty"):
        check_widths("hidden", ())
    with pytest.raises(ValueError, match=r"hidden\[1\] must be an integer >= 1"):
        check_widths("hidden", (16, 0))


def test_check_config_defaults_none_and_names_both_types():
    from dataclasses import dataclass

    from course_lib.runtime.validation import check_config

    @dataclass(frozen=True)
    class Cfg:
        width: int = 8

    given = Cfg(4)
    assert check_config("cfg", given, Cfg) is given
    assert check_config("cfg", None, Cfg) == Cfg()
    with pytest.raises(TypeError, match="cfg must be a Cfg or None, got dict"):
        check_config("cfg", {"width": 4}, Cfg)
