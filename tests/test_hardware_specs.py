"""course_lib.hardware.specs: the sourced hardware table (dense peaks, memory as the device
reports it, vendor sources) and its checks of bad rows."""

from __future__ import annotations

import pytest

from course_lib.hardware import specs
from course_lib.hardware.specs import SPECS, HardwareSpec, get_spec

MIB = 2**20
H100 = get_spec("NVIDIA H100 SXM")


def test_every_spec_row_has_an_https_source_notes_and_positive_dense_flops():
    assert len({s.name for s in SPECS}) == len(SPECS) >= 7
    for s in SPECS:
        assert s.source_url.startswith("https://") and s.notes.strip()
        assert s.kind in specs.KINDS and s.memory_bandwidth > 0
        assert s.peak_flops and all(v > 0 for v in s.peak_flops.values())


def test_nvidia_rows_store_half_of_the_datasheets_with_sparsity_numbers():
    """NVIDIA prints tensor-core rates with 2:4 sparsity and an asterisk: H100 SXM BF16
    1,979* TFLOPS, FP8 3,958*, TF32 989*; the A100's dense BF16 312 (624 with sparsity)."""
    assert H100.peak("bfloat16") == pytest.approx(1979e12 / 2)
    assert H100.peak("fp8") == pytest.approx(3958e12 / 2)
    assert H100.peak("tf32") == pytest.approx(989e12 / 2)
    assert get_spec("NVIDIA A100 SXM 80GB").peak("bfloat16") == pytest.approx(624e12 / 2)


def test_h200_has_the_h100_compute_and_more_memory_and_bandwidth():
    h200 = get_spec("NVIDIA H200 SXM")
    assert dict(h200.peak_flops) == dict(H100.peak_flops)
    assert h200.memory_bandwidth == 4.8e12 > H100.memory_bandwidth
    assert h200.memory_bytes == 143771 * MIB > H100.memory_bytes


@pytest.mark.parametrize(
    "name, mib, label",
    [
        ("NVIDIA A100 SXM 80GB", 81920, "80GB"),
        ("NVIDIA H100 SXM", 81559, "80GB"),
        ("NVIDIA H200 SXM", 143771, "141GB"),
        ("NVIDIA GeForce RTX 4090", 24564, "24 GB"),
    ],
)
def test_nvidia_memory_is_what_nvidia_smi_reports_not_the_marketed_label(name, mib, label):
    """nvidia-smi's memory.total in MiB (public issue threads, in each row's other_sources):
    an H100 '80GB' has 85.5e9 bytes, an H200 '141GB' 150.8e9."""
    spec = get_spec(name)
    assert spec.memory_bytes == mib * MIB
    assert spec.memory_marketed.startswith(label)
    assert f"{mib:,} MiB" in spec.notes
    marketed_gb = float(label.rstrip("GB ").strip())
    assert spec.memory_bytes > marketed_gb * 1e9  # more than the decimal reading of the label ...
    assert spec.memory_bytes <= marketed_gb * 2**30  # ... and at most its binary reading


def test_h100_and_a100_memory_in_decimal_and_binary_units():
    assert H100.memory_bytes == pytest.approx(85.52e9, rel=1e-3)
    assert H100.memory_bytes / 2**30 == pytest.approx(79.65, abs=0.01)
    assert get_spec("NVIDIA A100 SXM 80GB").memory_bytes == 80 * 2**30


def test_every_row_cites_the_vendor_or_says_why_not():
    for s in SPECS:
        if s.primary_source:
            assert specs.is_vendor_url(s.source_url), s.name
            assert s.vendor_url in (None, s.source_url), s.name
        else:
            assert "no vendor document" in s.notes.lower(), s.name
        assert all(u.startswith("https://") for u in (*s.read_from, *s.other_sources)), s.name
    assert not specs.is_vendor_url("https://www.nvidia.com.example.org/h100")
    assert specs.is_vendor_url("https://images.nvidia.com/x.pdf")


def test_rtx_4090_stores_the_fp32_accumulate_rate_and_names_the_fp16_accumulate_one():
    """Ada whitepaper, Appendix A: FP16 tensor 165.2/330.4 with FP32 accumulate, 330.3/660.6
    with FP16 accumulate (dense/sparse)."""
    rtx = get_spec("NVIDIA GeForce RTX 4090")
    assert rtx.peak("float16") == rtx.peak("bfloat16") == pytest.approx(165.2e12)
    assert "FP32 Accumulate 165.2/330.4" in rtx.notes and "FP16 Accumulate 330.3/660.6" in rtx.notes
    assert rtx.power_watts == 450


def test_every_accelerator_ridge_point_is_above_100_flop_per_byte_in_16_bit():
    """E9: decoding at batch 1 does about 1 FLOP per byte of 16-bit weights, far left of
    every accelerator's ridge point."""
    for s in SPECS:
        if s.kind != "cpu":
            assert s.ridge_point("bfloat16") > 100, s.name


def test_epyc_peak_is_cores_x_boost_clock_x_flops_per_cycle_and_bandwidth_channels_x_rate():
    epyc = get_spec("AMD EPYC 9654 (Zen 4, 96 cores)")
    assert epyc.peak("float32") == pytest.approx(96 * 3.7e9 * 32)  # 11.4 TFLOP/s at the boost clock
    assert epyc.cores == 96 and epyc.peak_per_core("float32") == pytest.approx(118.4e9)
    # A peak is an upper bound: it must not be below what one Zen 4 core of the course's
    # machine measured (110 GFLOP/s, float32 matmul; the base clock would give 76.8).
    assert epyc.peak_per_core("float32") > 110e9 > 96 * 2.4e9 * 32 / 96
    assert epyc.memory_bandwidth == pytest.approx(460.8e9)
    assert "Derived" in epyc.notes and "boost" in epyc.notes
    with pytest.raises(ValueError, match="core count"):
        H100.peak_per_core("bfloat16")


def test_get_spec_ignores_case_and_its_error_lists_every_name():
    assert get_spec("  google tpu V4 ") is get_spec("Google TPU v4")
    with pytest.raises(ValueError, match="Known: NVIDIA A100 SXM 80GB; NVIDIA H100 SXM"):
        get_spec("TPU v9")


def test_a_precision_not_on_record_raises_naming_those_on_record():
    with pytest.raises(ValueError, match="on record: bfloat16"):
        get_spec("Google TPU v5e").peak("float32")


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(kind="fpga"), "kind"),
        (dict(peak_flops={"int4": 1.0}), "precision must be one of"),
        (dict(peak_flops={"float32": float("nan")}), r"peak_flops\['float32'\] must be a finite"),
        (dict(peak_flops={}), "non-empty"),
        (dict(memory_bandwidth=0), "memory_bandwidth"),
        (dict(source_url="http://example.com"), "https://"),
        (dict(notes=" "), "notes"),
        (dict(power_watts=-5), "power_watts"),
        (dict(source_url="https://some-reseller.example.com/h100"), "vendor"),
        (dict(primary_source=False), "why"),
        (dict(read_from=("ftp://x",)), "https://"),
        (dict(cores=0), "cores"),
        (dict(memory_bytes=float("inf")), "memory_bytes"),
    ],
)
def test_hardware_spec_rejects_bad_rows(change, message):
    row = dict(
        name="X",
        kind="gpu",
        peak_flops={"bfloat16": 1e12},
        memory_bandwidth=1e11,
        memory_bytes=None,
        power_watts=None,
        source_url="https://www.nvidia.com/x",
        notes="dense",
    )
    with pytest.raises(ValueError, match=message):
        HardwareSpec(**{**row, **change})


def test_spec_peak_flops_cannot_be_changed_after_creation():
    with pytest.raises(TypeError):
        H100.peak_flops["bfloat16"] = 1.0  # type: ignore[index]


def test_get_spec_refuses_a_name_that_is_not_a_string():
    with pytest.raises(TypeError, match="name must be a string, one of: NVIDIA A100"):
        get_spec(None)
