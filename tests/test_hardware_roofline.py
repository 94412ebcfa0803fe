"""course_lib.hardware.roofline: attainable rate, time bound and ridge point of the roofline
model, and the FLOPs and bytes of matrix products, against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.hardware import roofline
from course_lib.hardware.roofline import (
    Operation,
    attainable_flops,
    matmul_op,
    matvec_op,
    predict_time,
    ridge_point,
    roofline_curve,
)
from course_lib.hardware.specs import get_spec

P, B = 100e12, 1e12  # a made-up machine: 100 TFLOP/s, 1 TB/s, ridge at 100 FLOP/byte


def test_attainable_flops_is_bandwidth_times_intensity_below_the_ridge_and_peak_above():
    assert ridge_point(P, B) == 100.0
    assert attainable_flops(10.0, P, B) == 10e12
    assert attainable_flops(100.0, P, B) == P
    assert attainable_flops(1e4, P, B) == P


def test_attainable_flops_of_an_array_never_exceeds_the_peak_and_never_decreases():
    intensities, rates = roofline_curve(P, B)
    assert intensities.min() < ridge_point(P, B) < intensities.max()  # default spans the ridge
    assert np.all(rates <= P) and np.all(np.diff(rates) >= 0)
    np.testing.assert_allclose(rates, np.minimum(P, B * intensities))


def test_predict_time_is_the_larger_of_compute_time_and_memory_time():
    for op in (matmul_op(4096, 4096, 4096), matvec_op(4096, 4096), Operation("copy", 0.0, 1e9)):
        t = predict_time(op, P, B)
        assert t >= op.flops / P and t >= op.bytes / B
        assert t in (op.flops / P, op.bytes / B)
        assert predict_time(op, P, B, overhead_seconds=1e-3) == pytest.approx(t + 1e-3)


def test_square_float32_matmul_has_intensity_n_over_six():
    for n in (64, 1000, 8192):
        op = matmul_op(n, n, n)
        assert op.flops == 2 * n**3 and op.bytes == 3 * n * n * 4
        assert op.intensity == pytest.approx(n / 6)


def test_matvec_intensity_tends_to_half_a_flop_per_byte_in_float32_and_one_in_float16():
    assert matvec_op(16384, 16384).intensity == pytest.approx(0.5, rel=1e-3)
    assert matvec_op(16384, 16384, dtype_bytes=2).intensity == pytest.approx(1.0, rel=1e-3)


def test_matvec_is_memory_bound_and_a_large_matmul_compute_bound_on_an_a100():
    a100 = get_spec("NVIDIA A100 SXM 80GB")
    peak, bw = a100.peak("bfloat16"), a100.memory_bandwidth
    assert roofline.bound(matvec_op(8192, 8192, 2), peak, bw) == "memory"
    assert roofline.bound(matmul_op(8192, 8192, 8192, 2), peak, bw) == "compute"


def test_roofline_rejects_zero_bandwidth_negative_intensity_and_zero_byte_operations():
    with pytest.raises(ValueError, match="bandwidth"):
        ridge_point(P, 0)
    with pytest.raises(ValueError, match="intensity"):
        attainable_flops(-1.0, P, B)
    with pytest.raises(ValueError, match="bytes"):
        Operation("nothing moved", 1.0, 0.0)
    with pytest.raises(ValueError, match="flops"):
        Operation("negative work", -1.0, 1.0)
    with pytest.raises(ValueError, match="m must be an integer >= 1, got 0"):
        matmul_op(0, 4, 4)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: ridge_point(True, B), TypeError, "peak_flops must be a real number"),
        (lambda: ridge_point("1e12", B), TypeError, "peak_flops must be a real number"),
        (lambda: ridge_point(float("nan"), B), ValueError, "peak_flops must be a finite number"),
        (lambda: attainable_flops("x", P, B), TypeError, "intensity must have a number dtype"),
        (lambda: attainable_flops([[1.0, -2.0]], P, B), ValueError, "intensity must be >= 0"),
        (lambda: roofline_curve(P, B, []), ValueError, "intensities is empty"),
        (lambda: Operation(3, 1.0, 1.0), TypeError, "Operation.name must be a string"),
        (lambda: Operation("x", True, 1.0), TypeError, "flops must be a real number"),
        (lambda: predict_time("op", P, B), TypeError, "op must be an Operation"),
        (
            lambda: predict_time(matmul_op(2, 2, 2), P, B, overhead_seconds="1"),
            TypeError,
            "overhead_seconds must be a real number",
        ),
        (lambda: matmul_op(2.0, 4, 4), TypeError, "m must be an integer"),
        (lambda: matvec_op(4, True), TypeError, "n must be an integer, got the bool"),
        (lambda: matvec_op(4, 4, dtype_bytes=0), ValueError, "dtype_bytes must be an integer >= 1"),
    ],
)
def test_roofline_names_the_bad_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()
