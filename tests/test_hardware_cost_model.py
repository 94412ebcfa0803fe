"""course_lib.hardware.cost_model and course_lib.hardware.training_cost: FLOPs per token, KV
cache, decode and prefill bounds (lumped and per operation), critical batch, memory fit, training
FLOPs and time, energy, against published numbers and hand computations."""

from __future__ import annotations

import math

import pytest

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
    weight_bytes,
)
from course_lib.hardware.shapes import (
    GPT2_SMALL,
    GPT3_175B,
    LLAMA2_7B,
    LLAMA2_70B,
    matmul_parameter_count,
)
from course_lib.hardware.specs import get_spec
from course_lib.hardware.training_cost import (
    implied_utilisation,
    training_flops,
    training_seconds,
    training_time,
)

MIB = 2**20
P, B = 100e12, 1e12  # a made-up machine: 100 TFLOP/s, 1 TB/s, ridge at 100 FLOP/byte
H100 = get_spec("NVIDIA H100 SXM")


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


def test_gemm_intensity_is_the_batch_in_16_bit_and_attention_intensity_is_h_over_h_kv():
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


def test_per_operation_and_lumped_bounds_agree_while_memory_bound_and_differ_beyond_the_ridge():
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


def test_training_seconds_is_6nd_over_devices_peak_and_utilisation():
    """GPT-3's 6 N D on 1,024 A100s (312e12 FLOP/s bfloat16) at 40 % MFU: 2.46e6 s, 28.5 days."""
    t = training_seconds(175e9, 300e9, n_devices=1024, peak_flops=312e12, utilisation=0.4)
    assert t == pytest.approx(6 * 175e9 * 300e9 / (1024 * 312e12 * 0.4), rel=1e-12)
    assert t / 86400 == pytest.approx(28.53, abs=0.01)
    assert t == training_time(
        training_flops(175e9, 300e9), n_devices=1024, peak_flops=312e12, utilisation=0.4
    )
    # twice the devices or twice the utilisation halves the time; twice the tokens doubles it
    kw = dict(n_devices=8, peak_flops=1e14, utilisation=0.3)
    base = training_seconds(1e9, 1e10, **kw)
    assert training_seconds(1e9, 2e10, **kw) == pytest.approx(2 * base)
    assert training_seconds(1e9, 1e10, **{**kw, "n_devices": 16}) == pytest.approx(base / 2)
    assert training_seconds(1e9, 1e10, **{**kw, "utilisation": 0.6}) == pytest.approx(base / 2)


def test_implied_utilisation_inverts_the_estimator():
    for n_devices, u in ((1, 0.07), (64, 0.35), (6144, 0.462)):
        t = training_seconds(70e9, 2e12, n_devices=n_devices, peak_flops=312e12, utilisation=u)
        flops = training_flops(70e9, 2e12)
        assert implied_utilisation(
            flops, seconds=t, n_devices=n_devices, peak_flops=312e12
        ) == pytest.approx(u, rel=1e-12)


def test_implied_utilisation_of_llama2_70b_from_its_gpu_hours_is_about_43_percent():
    """Touvron et al. 2023 (arXiv:2307.09288, Table 2): 1,720,320 A100-80GB GPU-hours for the
    70B model on 2.0T tokens; 6 N D with N = 70e9 over the A100's 312e12 bfloat16 FLOP/s."""
    u = implied_utilisation(
        training_flops(70e9, 2e12), seconds=1_720_320 * 3600, n_devices=1, peak_flops=312e12
    )
    assert u == pytest.approx(8.4e23 / (1_720_320 * 3600 * 312e12), rel=1e-12)
    assert round(u, 3) == 0.435
    # the same GPU-hours spread over 2,048 GPUs give the same utilisation
    assert implied_utilisation(
        training_flops(70e9, 2e12),
        seconds=1_720_320 * 3600 / 2048,
        n_devices=2048,
        peak_flops=312e12,
    ) == pytest.approx(u, rel=1e-12)


def test_implied_utilisation_above_one_is_returned_so_a_wrong_peak_shows():
    assert implied_utilisation(2e12, seconds=1.0, n_devices=1, peak_flops=1e12) == 2.0


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
        (
            lambda: training_seconds(1e9, 1e9, n_devices=0, peak_flops=P, utilisation=0.5),
            "n_devices",
        ),
        (
            lambda: training_seconds(1e9, 1e9, n_devices=1, peak_flops=P, utilisation=0.0),
            "utilisation",
        ),
        (lambda: training_seconds(-1, 1e9, n_devices=1, peak_flops=P, utilisation=0.5), "n_params"),
        (lambda: implied_utilisation(1e20, seconds=0, n_devices=1, peak_flops=P), "seconds"),
        (lambda: implied_utilisation(1e20, seconds=1, n_devices=1, peak_flops=-P), "peak_flops"),
        (lambda: implied_utilisation(0, seconds=1, n_devices=1, peak_flops=P), "flops"),
        (lambda: kv_cache_bytes_per_token(GPT2_SMALL, 0), "bytes_per_value"),
    ],
)
def test_cost_model_rejects_impossible_inputs(call, message):
    with pytest.raises(ValueError, match=message):
        call()
