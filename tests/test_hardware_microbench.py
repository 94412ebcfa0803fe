"""course_lib.hardware.microbench and machine: timed TensorFlow kernels at tiny sizes (they check
invariants and correctness, never speed), the cache-size reader, the measurement plans and the
roofline check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from course_lib.hardware import machine, microbench
from course_lib.hardware.roofline import (
    matmul_op,
    matvec_op,
)

ROOT = Path(__file__).resolve().parent.parent
MIB = 2**20


def test_time_op_returns_positive_samples_with_median_between_min_and_max():
    timing = microbench.time_op(lambda: np.ones(10), warmup=0, repeats=5)
    assert len(timing.samples) == 5 and min(timing.samples) > 0
    assert timing.min <= timing.median <= max(timing.samples)
    with pytest.raises(ValueError, match="repeats"):
        microbench.time_op(lambda: None, repeats=0)


def test_benchmark_kernels_compute_the_right_results():
    for case in (microbench.matmul_case(16, seed=1), microbench.matvec_case(16, seed=1)):
        out, probe = case.fn()
        assert out.shape == ((16, 16) if case.kind == "matmul" else (16, 1))
        assert float(probe) == pytest.approx(float(out.numpy().ravel()[0]))
    copy, read = microbench.copy_case(4096), microbench.read_case(4096)
    np.testing.assert_allclose(copy.fn()[0].numpy(), 1.5)
    assert float(read.fn()) == 1024.0


def test_matmul_case_equals_numpy_on_the_same_inputs():
    import tensorflow as tf

    rng = tf.random.Generator.from_seed(3)
    a, c = rng.normal([8, 8]), rng.normal([8, 8])
    case = microbench.matmul_case(8, seed=3)
    np.testing.assert_allclose(case.fn()[0].numpy(), a.numpy() @ c.numpy(), rtol=1e-5, atol=1e-5)


def test_benchmark_flop_and_byte_counts_match_the_roofline_formulas():
    assert microbench.matmul_case(32).operation.flops == matmul_op(32, 32, 32).flops
    assert microbench.matmul_case(32).bytes == matmul_op(32, 32, 32).bytes
    assert microbench.matvec_case(32).bytes == matvec_op(32, 32).bytes
    assert microbench.copy_case(4096).bytes == 2 * 4096 and microbench.read_case(4096).bytes == 4096


def test_tiny_measurement_plan_gives_positive_rates_and_a_roofline_check():
    m = machine.measure_machine("tiny")
    assert m.peak_flops > 0 and m.bandwidth > 0 and m.copy_bandwidth > 0 and m.dispatch_seconds > 0
    assert {r.size for r in m.matmul} == {32, 64} and "peak float32 matmul" in m.summary()
    checks = machine.roofline_check(m.matvec, m.peak_flops, m.bandwidth)
    assert all(c.predicted_seconds > 0 and c.bound in ("memory", "compute") for c in checks)
    assert checks[0].error == pytest.approx(
        checks[0].predicted_seconds / checks[0].measured_seconds - 1
    )


def test_unknown_plan_and_dtype_raise_errors_listing_the_valid_ones():
    with pytest.raises(ValueError, match="tiny, quick, thorough"):
        machine.get_plan("fast")
    with pytest.raises(ValueError, match="dtype must be one of 'float32', 'float16', 'bfloat16'"):
        microbench.matmul_case(8, "int8")


def _fake_cache(root, sizes):
    root.mkdir()
    (root / "uevent").write_text("")
    for i, size in enumerate(sizes):
        (root / f"index{i}").mkdir()
        if size is not None:
            (root / f"index{i}" / "size").write_text(size + "\n")
    return str(root)


def test_last_level_cache_skips_index_entries_without_a_size_and_ignores_uevent(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(os, "sysconf", lambda name: -1)
    assert (
        microbench.last_level_cache_bytes(_fake_cache(tmp_path / "a", ["32K", "1024K", "32768K"]))
        == 32 * MIB
    )
    # a level listed without a size (some virtual machines) must not hide the others
    assert (
        microbench.last_level_cache_bytes(
            _fake_cache(tmp_path / "b", ["48K", None, "2048K", "junk"])
        )
        == 2 * MIB
    )
    assert microbench.last_level_cache_bytes(str(tmp_path / "missing")) is None
    assert microbench.last_level_cache_bytes(_fake_cache(tmp_path / "c", [None, ""])) is None


def test_last_level_cache_falls_back_to_sysconf_when_sys_says_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(
        os, "sysconf", lambda name: 16 * MIB if name == "SC_LEVEL3_CACHE_SIZE" else 0
    )
    assert microbench.last_level_cache_bytes(str(tmp_path / "missing")) == 16 * MIB


def test_last_level_cache_size_is_read_or_none():
    llc = microbench.last_level_cache_bytes()
    assert llc is None or llc > 0
    # Linux with cache info: a non-index entry (such as uevent) must not hide it
    if os.path.isfile("/sys/devices/system/cpu/cpu0/cache/index0/size"):
        assert llc is not None and llc >= 2**20


@pytest.mark.parametrize(
    "cache, minimum, expected",
    [
        (32 * MIB, 256 * MIB, 256 * MIB),
        (33 * MIB, 256 * MIB, 264 * MIB),
        (260 * MIB, 256 * MIB, 2080 * MIB),
        (None, 256 * MIB, 256 * MIB),
        (4 * MIB, 1 * MIB, 32 * MIB),
        (None, 7, 7),
    ],
)
def test_suggested_bandwidth_size_is_eight_caches_or_the_minimum(
    monkeypatch, cache, minimum, expected
):
    """The documented rule, ``max(minimum, 8 x cache)``, on given cache sizes."""
    monkeypatch.setattr(microbench, "last_level_cache_bytes", lambda: cache)
    assert microbench.suggested_bandwidth_bytes(minimum) == expected


def test_suggested_bandwidth_size_on_this_machine_follows_from_its_cache():
    llc = microbench.last_level_cache_bytes()
    expected = 256 * MIB if llc is None else max(256 * MIB, 8 * llc)
    assert microbench.suggested_bandwidth_bytes() == expected


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: microbench.time_op(42), TypeError, "fn must be a function of no arguments"),
        (lambda: microbench.time_op(lambda: None, repeats=2.0), TypeError, "repeats must be an"),
        (lambda: microbench.time_op(lambda: None, warmup=-1), ValueError, "warmup must be an"),
        (lambda: microbench.Timing(()), ValueError, "at least one duration"),
        (lambda: microbench.Timing((float("nan"),)), ValueError, "each > 0 seconds"),
        (lambda: microbench.copy_case(2), ValueError, "n_bytes must be an integer >= 4, got 2"),
        (lambda: microbench.read_case(True), TypeError, "n_bytes must be an integer"),
        (lambda: microbench.matmul_flops([]), ValueError, "sizes is empty"),
        (lambda: microbench.matvec_flops(()), ValueError, "sizes is empty"),
        (lambda: microbench.matmul_flops(8, ["int8"]), ValueError, "dtype must be one of"),
        (lambda: microbench.suggested_bandwidth_bytes(0), ValueError, "minimum must be an"),
        (lambda: machine.get_plan(None), ValueError, "Unknown measurement plan None"),
        (
            lambda: machine.MeasurementPlan("x", (8,), ("float32",), (8,), None, True, 1),
            TypeError,
            "MeasurementPlan.warmup must be an integer, got the bool",
        ),
        (
            lambda: machine.MeasurementPlan("x", (8,), ("float32",), (8,), True, 1, 1),
            TypeError,
            "MeasurementPlan.bandwidth_bytes must be an integer",
        ),
        (
            lambda: machine.MeasurementPlan("x", (8, 0), ("float32",), (8,), None, 1, 1),
            ValueError,
            r"MeasurementPlan.matmul_sizes\[1\] must be an integer >= 1",
        ),
        (
            lambda: machine.MeasurementPlan("x", (8,), "float32", (8,), None, 1, 1),
            ValueError,
            "must be a tuple that includes 'float32'",
        ),
        (lambda: machine.roofline_check((), 1e9, 1e9), ValueError, "results is empty"),
        (
            lambda: machine.roofline_check((_result(),), 1e9, 1e9, overhead_seconds="0"),
            TypeError,
            "overhead_seconds must be a real number",
        ),
        (lambda: machine.roofline_check((_result(),), 0, 1e9), ValueError, "peak_flops"),
        (lambda: machine.roofline_check(("x",), 1e9, 1e9), TypeError, "results\\[0\\] must be"),
    ],
)
def test_microbench_and_machine_name_the_bad_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


def _result() -> microbench.BenchResult:
    timing = microbench.Timing((1e-3, 2e-3))
    return microbench.BenchResult("matvec", 64, "float32", 8192.0, 16896.0, timing)


def test_roofline_check_pairs_prediction_and_median_by_hand():
    (check,) = machine.roofline_check((_result(),), 1e9, 1e9, overhead_seconds=1e-4)
    assert check.measured_seconds == pytest.approx(1.5e-3)
    assert check.predicted_seconds == pytest.approx(16896 / 1e9 + 1e-4)
    assert check.bound == "memory"
    assert check.error == pytest.approx((16896 / 1e9 + 1e-4) / 1.5e-3 - 1)


def test_importing_the_hardware_package_does_not_import_tensorflow():
    code = "import sys, course_lib.hardware; assert 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=60)
