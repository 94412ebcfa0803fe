"""Tests of course_lib.grading: right answers pass silently, wrong ones fail with a message
that names the argument and says how the answer is wrong."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.grading import (
    CheckFailed,
    check_close,
    check_exact,
    check_gradient,
    relative_error,
)


def test_check_failed_is_an_assertion_error_so_graders_count_it_as_a_failed_test():
    assert issubclass(CheckFailed, AssertionError)


def test_relative_error_known_values():
    assert relative_error(1.0, 1.0) == 0.0
    assert relative_error(0.0, 0.0) == 0.0
    assert relative_error(1.1, 1.0) == pytest.approx(0.1 / 1.1)
    assert relative_error([1.0, 200.0], [1.0, 100.0]) == pytest.approx(0.5)
    assert relative_error(1e-30, 0.0) == pytest.approx(1e-30 / 1e-12)


def test_check_exact_passes_equal_answers():
    check_exact("n", 3, 3)
    check_exact("n", np.int64(3), 3)
    check_exact("word", "abc", "abc")
    check_exact("ids", [1, 2, 3], np.array([1, 2, 3]))


def test_check_exact_names_the_first_difference_and_how_many():
    with pytest.raises(CheckFailed, match=r"ids is 9 at index \(1,\), expected 2 \(2 of 3"):
        check_exact("ids", [1, 9, 7], [1, 2, 3])
    with pytest.raises(CheckFailed, match="word is 'abd', expected 'abc'"):
        check_exact("word", "abd", "abc")
    with pytest.raises(CheckFailed, match="n is 4, expected 3"):
        check_exact("n", 4, 3)


def test_check_exact_explains_floats_where_an_integer_is_expected():
    with pytest.raises(CheckFailed, match="use // for integer division"):
        check_exact("users", 24.0, 24)


@pytest.mark.parametrize(
    ("got", "expected", "hint"),
    [
        (np.zeros((3, 2)), np.zeros((2, 3)), "transpose"),
        (np.zeros(6), np.zeros((2, 3)), "reshape"),
        (np.zeros((4, 1)), np.zeros(4), "axis"),
    ],
)
def test_shape_mismatches_get_a_hint(got, expected, hint):
    with pytest.raises(CheckFailed, match=hint):
        check_close("mu", got, expected)


def test_missing_and_unreadable_answers_are_named():
    with pytest.raises(CheckFailed, match="kl is None: the exercise asks you to set it"):
        check_close("kl", None, 1.0)
    with pytest.raises(CheckFailed, match="kl is a function"):
        check_close("kl", lambda: 1.0, 1.0)
    with pytest.raises(CheckFailed, match="not a number or a rectangular array"):
        check_close("kl", {"a": 1}, 1.0)


def test_check_close_uses_the_allclose_rule():
    check_close("x", 1.0 + 1e-7, 1.0)  # within rtol 1e-6
    check_close("x", [1.0, 2.0], [1.0, 2.0 + 1e-3], rtol=1e-3)
    check_close("x", 0.0, 1e-9, rtol=0.0, atol=1e-8)
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 4))
    for rtol, atol in [(1e-3, 0.0), (0.0, 1e-2), (1e-2, 1e-3)]:
        b = a + rng.normal(scale=1e-3, size=a.shape)
        passes = bool(np.allclose(b, a, rtol=rtol, atol=atol))
        if passes:
            check_close("b", b, a, rtol=rtol, atol=atol)
        else:
            with pytest.raises(CheckFailed):
                check_close("b", b, a, rtol=rtol, atol=atol)


def test_check_close_reports_the_worst_element():
    got = np.array([[1.0, 2.0], [3.0, 4.5]])
    want = np.array([[1.0, 2.1], [3.0, 4.0]])
    with pytest.raises(CheckFailed) as err:
        check_close("h", got, want, rtol=1e-3)
    message = str(err.value)
    assert "h is 4.5 at index (1, 1), expected 4" in message
    assert "difference 0.5" in message and "2 of 4 elements are outside" in message


def test_check_close_explains_nan_and_inf():
    with pytest.raises(CheckFailed, match="log of 0, a division by 0 or an overflowing exp"):
        check_close("loss", [0.5, np.nan], [0.5, 0.7])
    check_close("bound", [np.inf], [np.inf])  # an expected infinity is matched


def test_check_close_accepts_tensors():
    tf = pytest.importorskip("tensorflow")
    check_close("t", tf.constant([1.0, 2.0]), [1.0, 2.0])


def test_check_close_rejects_bad_tolerances():
    with pytest.raises(ValueError, match=r"rtol must be >= 0\.0"):
        check_close("x", 1.0, 1.0, rtol=-1.0)


def quadratic(x: np.ndarray) -> float:
    """f(x) = sum x_i^2 + 3 x_0 x_1; gradient 2 x + 3 (x_1, x_0, 0, ...)."""
    return float(np.sum(x**2) + 3 * x.flat[0] * x.flat[1])


def quadratic_grad(x: np.ndarray) -> np.ndarray:
    g = 2 * x.copy()
    g.flat[0] += 3 * x.flat[1]
    g.flat[1] += 3 * x.flat[0]
    return g


def test_check_gradient_accepts_the_right_gradient_in_any_shape():
    x = np.random.default_rng(1).normal(size=(3, 4))
    check_gradient("grad", quadratic, x, quadratic_grad(x))
    check_gradient("grad", quadratic, x, quadratic_grad(x), max_coordinates=5, seed=3)


def test_check_gradient_names_the_wrong_coordinate():
    x = np.array([0.5, -1.0, 2.0])
    wrong = quadratic_grad(x)
    wrong[2] *= 2  # forgot that d/dx x^2 = 2x, not 4x
    with pytest.raises(CheckFailed, match=r"grad\[2\] is 8, but the central difference"):
        check_gradient("grad", quadratic, x, wrong)


def test_check_gradient_catches_a_sign_error_of_the_kl_gradient():
    # KL(N(mu, 1) || N(0, 1)) = mu^2 / 2 has gradient mu; -mu is the classic sign slip.
    mu = np.array([0.3, -1.2])

    def kl(m):
        return float(np.sum(m**2) / 2)

    check_gradient("grad_mu", kl, mu, mu)
    with pytest.raises(CheckFailed, match="sign"):
        check_gradient("grad_mu", kl, mu, -mu)


def test_check_gradient_checks_shapes_and_arguments():
    x = np.zeros(3)
    with pytest.raises(CheckFailed, match=r"grad has shape \(2,\), expected \(3,\)"):
        check_gradient("grad", quadratic, x, np.zeros(2))
    with pytest.raises(TypeError, match="f must be a function"):
        check_gradient("grad", 3, x, np.zeros(3))
    with pytest.raises(ValueError, match=r"h must be > 0\.0"):
        check_gradient("grad", quadratic, x, np.zeros(3), h=0.0)
