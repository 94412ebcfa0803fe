"""course_lib.hardware: roofline arithmetic, the sourced hardware table, parameter counts of
published models checked against their published numbers, the LLM cost model, and the
microbenchmarks (tiny sizes; they check invariants and correctness, never speed)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from course_lib.hardware import machine, microbench, roofline, specs
from course_lib.hardware.cost_model import (
    critical_batch_size,
    decode_step_operations,
    decode_step_time,
    decode_step_time_by_operation,
    energy_per_token,
    fits_in_memory,
    flops_per_token,
    gemm_critical_batch,
    kv_cache_bytes,
    kv_cache_bytes_per_token,
    max_batch_in_memory,
    prefill_time,
    training_flops,
    training_time,
    weight_bytes,
)
from course_lib.hardware.roofline import (
    Operation,
    attainable_flops,
    matmul_op,
    matvec_op,
    predict_time,
    ridge_point,
    roofline_curve,
)
from course_lib.hardware.shapes import (
    GPT2_SMALL,
    GPT3_175B,
    LLAMA2_7B,
    ModelShape,
    matmul_parameter_count,
)
from course_lib.hardware.specs import SPECS, HardwareSpec, get_spec

ROOT = Path(__file__).resolve().parent.parent
MIB = 2**20
P, B = 100e12, 1e12  # a made-up machine: 100 TFLOP/s, 1 TB/s, ridge at 100 FLOP/byte
H100 = get_spec("NVIDIA H100 SXM")


# --------------------------------------------------------------------------------- roofline
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
    with pytest.raises(ValueError, match="positive int"):
        matmul_op(0, 4, 4)


# ------------------------------------------------------------------------------ hardware table
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


def test_epyc_peak_is_cores_times_boost_clock_times_flops_per_cycle_and_bandwidth_is_channels_times_rate():
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
        (dict(peak_flops={"int4": 1.0}), "unknown precision"),
        (dict(peak_flops={}), "non-empty"),
        (dict(memory_bandwidth=0), "memory_bandwidth"),
        (dict(source_url="http://example.com"), "https://"),
        (dict(notes=" "), "notes"),
        (dict(power_watts=-5), "power_watts"),
        (dict(source_url="https://some-reseller.example.com/h100"), "vendor"),
        (dict(primary_source=False), "why"),
        (dict(read_from=("ftp://x",)), "https://"),
        (dict(cores=0), "cores"),
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


# ------------------------------------------------------------------------------- cost model
def test_kv_cache_of_a_7b_mha_model_in_float16_is_half_a_mib_per_token():
    assert kv_cache_bytes_per_token(LLAMA2_7B, 2) == 0.5 * MIB
    assert kv_cache_bytes(LLAMA2_7B, 4096, batch=2) == 2 * 4096 * 0.5 * MIB  # 4 GiB


def test_flops_per_token_is_twice_the_multiplied_weights_plus_4_l_t_d():
    T = 2048
    assert (
        flops_per_token(GPT3_175B, T) == 2 * matmul_parameter_count(GPT3_175B) + 4 * 96 * T * 12288
    )
    assert flops_per_token(GPT3_175B, T) / (2 * 175e9) == pytest.approx(
        1.03, abs=0.01
    )  # attention ~3 %


def test_gpt3_training_flops_6nd_is_3_15e23_close_to_the_papers_3_14e23():
    """Brown et al. 2020, Table D.1: GPT-3 175B used 3.14E+23 FLOPs (3.64E+03 PF-days) on
    300B tokens; 6 N D with N = 175e9 gives 3.15e23."""
    assert training_flops(175e9, 300e9) == pytest.approx(3.15e23)
    assert training_flops(175e9, 300e9) == pytest.approx(3.14e23, rel=0.005)


def test_decoding_at_batch_one_does_about_one_flop_per_byte_and_is_memory_bound_on_an_h100():
    step = decode_step_time(
        LLAMA2_7B,
        batch=1,
        context=16,
        peak_flops=H100.peak("bfloat16"),
        bandwidth=H100.memory_bandwidth,
        bytes_per_param=2,
    )
    assert step.bound == "memory" and step.intensity == pytest.approx(1.0, rel=0.01)
    assert step.seconds == pytest.approx(matmul_parameter_count(LLAMA2_7B) * 2 / 3.35e12, rel=0.01)


def test_critical_batch_ignoring_the_kv_cache_is_the_ridge_point_times_bytes_per_weight_over_two():
    peak, bw = H100.peak("bfloat16"), H100.memory_bandwidth
    b = critical_batch_size(
        LLAMA2_7B, context=1, peak_flops=peak, bandwidth=bw, kv_bytes_per_value=1e-9
    )
    assert b == pytest.approx(peak / bw * 2 / 2, rel=0.001)
    # at b*, compute time equals memory time (fractional batch: check the formula directly)
    b = critical_batch_size(LLAMA2_7B, context=64, peak_flops=peak, bandwidth=bw)
    W, K = matmul_parameter_count(LLAMA2_7B) * 2, kv_cache_bytes(LLAMA2_7B, 64)
    assert b * flops_per_token(LLAMA2_7B, 64) / peak == pytest.approx((W + b * K) / bw)


def test_no_batch_is_compute_bound_when_the_kv_cache_alone_is_memory_bound():
    """Llama-2-7B (no GQA) at 4096 tokens reads 2 GiB of KV per sequence per step: attention
    alone does ~1 FLOP per byte, so batching cannot reach the H100's ridge point."""
    assert (
        critical_batch_size(
            LLAMA2_7B,
            context=4096,
            peak_flops=H100.peak("bfloat16"),
            bandwidth=H100.memory_bandwidth,
        )
        == math.inf
    )


LLAMA2_70B = ModelShape(
    name="Llama-2-70B",
    n_layer=80,
    d_model=8192,
    n_head=64,
    n_kv_head=8,
    vocab_size=32000,
    context_length=4096,
    d_ff=28672,
    gated_mlp=True,
    bias=False,
    norm="rmsnorm",
    tied_embeddings=False,
    learned_positions=False,
)


def test_decode_operations_of_llama2_7b_at_batch_one_have_the_known_flops_and_bytes():
    ops = {op.name: op for op in decode_step_operations(LLAMA2_7B, batch=1, context=256)}
    d, L = 4096, 32
    assert ops["attention projections"].bytes == 2 * L * 4 * d * d
    assert ops["MLP"].bytes == 2 * L * 3 * d * 11008
    assert ops["unembedding"].bytes == 2 * 32000 * d
    assert ops["attention over the KV cache"].flops == 4 * L * 256 * d
    assert ops["attention over the KV cache"].bytes == 256 * 0.5 * MIB


@pytest.mark.parametrize(
    "shape, batch, context, bpp, kv",
    [
        (LLAMA2_7B, 1, 256, 2, None),
        (LLAMA2_7B, 300, 4096, 2, None),
        (LLAMA2_70B, 32, 800, 2, 1),
        (GPT2_SMALL, 7, 1024, 4, None),
        (GPT3_175B, 64, 2048, 2, None),
    ],
)
def test_the_operations_add_up_to_the_lumped_step_and_their_bound_is_never_below_it(
    shape, batch, context, bpp, kv
):
    kw = dict(batch=batch, context=context, bytes_per_param=bpp, kv_bytes_per_value=kv)
    lumped = decode_step_time(shape, peak_flops=P, bandwidth=B, **kw)
    per_op = decode_step_time_by_operation(shape, peak_flops=P, bandwidth=B, **kw)
    assert per_op.flops == pytest.approx(lumped.flops, rel=1e-12)
    assert per_op.bytes == pytest.approx(lumped.bytes, rel=1e-12)
    assert per_op.seconds >= lumped.seconds * (1 - 1e-12)
    assert per_op.tokens == lumped.tokens == batch


def test_gemm_intensity_is_the_batch_in_16_bit_and_attention_intensity_is_h_over_h_kv_whatever_the_batch():
    for batch in (1, 8, 300, 1024):
        ops = decode_step_operations(LLAMA2_7B, batch=batch, context=512)
        for op in ops[:3]:
            assert op.intensity == pytest.approx(batch)  # 2 B FLOPs per 2-byte weight
        assert ops[3].intensity == pytest.approx(1.0)  # multi-head attention, 16-bit cache
        assert decode_step_operations(LLAMA2_70B, batch=batch, context=512)[
            3
        ].intensity == pytest.approx(64 / 8)
        assert decode_step_operations(LLAMA2_7B, batch=batch, context=512, bytes_per_param=4)[
            0
        ].intensity == pytest.approx(batch / 2)


def test_per_operation_and_lumped_bounds_agree_when_all_operations_are_memory_bound_and_differ_beyond_the_ridge():
    kw = dict(peak_flops=H100.peak("bfloat16"), bandwidth=H100.memory_bandwidth)
    small = decode_step_time_by_operation(LLAMA2_7B, batch=8, context=256, **kw)
    assert set(small.bounds) == {"memory"}
    assert small.seconds == pytest.approx(
        decode_step_time(LLAMA2_7B, batch=8, context=256, **kw).seconds
    )
    # Beyond the ridge point (~295 on an H100) the GEMMs are compute-bound, attention is not,
    # although the lumped step is memory-bound at every batch (critical batch: infinity).
    big = decode_step_time_by_operation(LLAMA2_7B, batch=512, context=256, **kw)
    assert big.bounds == ("compute", "compute", "compute", "memory")
    assert decode_step_time(LLAMA2_7B, batch=512, context=256, **kw).bound == "memory"
    assert big.seconds > 1.1 * decode_step_time(LLAMA2_7B, batch=512, context=256, **kw).seconds
    assert math.isinf(critical_batch_size(LLAMA2_7B, context=256, **kw))
    assert gemm_critical_batch(**kw) == pytest.approx(H100.ridge_point("bfloat16"))
    assert gemm_critical_batch(**kw, bytes_per_param=1) == pytest.approx(
        H100.ridge_point("bfloat16") / 2
    )
    assert big.operation("MLP").flops == 2 * 512 * 32 * 3 * 4096 * 11008
    with pytest.raises(ValueError, match="have: attention projections"):
        big.operation("softmax")


def test_what_fits_next_to_the_weights_on_h100s():
    """Llama-2-7B on one H100 (81,559 MiB): 536 sequences of 256 tokens, 33 of 4096;
    Llama-2-70B on two: 126 users of 800 tokens (84 if an H100 had 80e9 bytes)."""
    mem = H100.memory_bytes
    assert max_batch_in_memory(LLAMA2_7B, context=256, memory_bytes=mem) == 536
    assert max_batch_in_memory(LLAMA2_7B, context=4096, memory_bytes=mem) == 33
    assert fits_in_memory(LLAMA2_7B, batch=536, context=256, memory_bytes=mem)
    assert not fits_in_memory(LLAMA2_7B, batch=537, context=256, memory_bytes=mem)
    assert max_batch_in_memory(LLAMA2_70B, context=800, memory_bytes=2 * mem) == 126
    assert max_batch_in_memory(LLAMA2_70B, context=800, memory_bytes=2 * 80e9) == 84
    assert (
        max_batch_in_memory(LLAMA2_70B, context=800, memory_bytes=mem) == 0
    )  # weights alone do not fit


def test_prefill_of_a_long_prompt_is_compute_bound_where_decoding_is_memory_bound():
    kw = dict(peak_flops=H100.peak("bfloat16"), bandwidth=H100.memory_bandwidth)
    assert prefill_time(LLAMA2_7B, prompt_length=2048, **kw).bound == "compute"
    assert decode_step_time(LLAMA2_7B, batch=8, context=2048, **kw).bound == "memory"


def test_training_time_divides_by_devices_and_utilisation_and_energy_is_power_times_time():
    assert training_time(1e21, n_devices=10, peak_flops=1e14, utilisation=0.5) == pytest.approx(2e6)
    assert energy_per_token(700, 0.02) == pytest.approx(14.0)
    assert weight_bytes(LLAMA2_7B, 2) == 2 * 6_738_415_616


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: flops_per_token(GPT2_SMALL, 2048), "exceeds"),
        (
            lambda: decode_step_time(GPT2_SMALL, batch=0, context=8, peak_flops=P, bandwidth=B),
            "batch",
        ),
        (lambda: training_time(1e20, n_devices=1, peak_flops=P, utilisation=1.5), "utilisation"),
        (lambda: energy_per_token(-1, 1), "power_watts"),
        (lambda: kv_cache_bytes_per_token(GPT2_SMALL, 0), "bytes_per_value"),
    ],
)
def test_cost_model_rejects_impossible_inputs(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --------------------------------------------------------------------------- microbenchmarks
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
    with pytest.raises(ValueError, match="float32, float16, bfloat16"):
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


def test_last_level_cache_size_is_read_or_none_and_bandwidth_size_is_at_least_256_mib():
    llc = microbench.last_level_cache_bytes()
    assert llc is None or llc > 0
    assert microbench.suggested_bandwidth_bytes() >= 256 * MIB
    if os.path.isfile("/sys/devices/system/cpu/cpu0/cache/index0/size"):  # Linux with cache info:
        assert (
            llc is not None and llc >= 2**20
        )  # a non-index entry (such as uevent) must not hide it


def test_importing_the_hardware_package_does_not_import_tensorflow():
    code = "import sys, course_lib.hardware; assert 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=60)
