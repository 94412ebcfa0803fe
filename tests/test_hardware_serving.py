"""course_lib.hardware.serving: chapter 07's cost of serving a model, checked against the
same quantities computed here by hand from the model's shape and the GPU's data sheet."""

from __future__ import annotations

import dataclasses
import math

import pytest

from course_lib.hardware.cost_model import kv_cache_bytes_per_token
from course_lib.hardware.serving import format_value, serving_estimate
from course_lib.hardware.shapes import LLAMA2_7B, LLAMA2_70B, matmul_parameter_count
from course_lib.hardware.specs import get_spec

H100 = get_spec("NVIDIA H100 SXM")
MIB = 2**20


def test_llama2_7b_on_one_h100_by_hand():
    est = serving_estimate(LLAMA2_7B, H100, batch=32, prompt_tokens=500, reply_tokens=300)
    kv_token = 2 * 32 * 32 * 128 * 2  # k and v, layers, heads, head width, bytes
    weights = 2 * 6_738_415_616
    assert est.kv_bytes_per_token == kv_token == 0.5 * MIB
    assert est.weight_bytes == weights
    assert est.gpus_per_replica == 1
    assert est.users_that_fit == math.floor((81559 * MIB - weights) / (800 * kv_token)) == 171
    # memory-bound: weights once for the batch, each user's 800-token cache
    step_bytes = 2 * matmul_parameter_count(LLAMA2_7B) + 32 * 800 * kv_token
    step = step_bytes / 3.35e12 / 0.5
    assert est.decode.bound == "memory"
    assert est.step_seconds == pytest.approx(step, rel=1e-12)
    assert est.tokens_per_second_per_user == pytest.approx(1 / step)
    assert est.tokens_per_second_per_gpu == pytest.approx(32 / step)
    assert est.gpus_for_all_users == math.ceil(10_000 / 32) == 313
    gpu_seconds = est.prefill_seconds + 300 * step / 32
    assert est.cost_per_conversation == pytest.approx(gpu_seconds * 2.0 / 3600)
    assert est.cost_per_1000_conversations == pytest.approx(1000 * est.cost_per_conversation)
    assert est.energy_per_token == pytest.approx(700 * step / 32)
    # the cache of 800 tokens outweighs what the FLOPs can hide: no lumped critical batch
    assert est.critical_batch == math.inf
    assert est.gemm_critical_batch == pytest.approx(H100.peak("bfloat16") / 3.35e12)
    assert (est.gemm_bound, est.attention_bound) == ("memory", "memory")
    assert est.step_seconds_by_operation == pytest.approx(est.step_seconds)


def test_llama2_70b_needs_two_h100s_and_grouped_query_attention_shrinks_its_cache():
    est = serving_estimate(LLAMA2_70B, H100)
    assert est.gpus_per_replica == 2
    assert est.kv_bytes_per_token == kv_cache_bytes_per_token(LLAMA2_70B) == 2 * 80 * 8 * 128 * 2
    free = 2 * 81559 * MIB - est.weight_bytes
    assert est.users_that_fit == math.floor(free / (800 * est.kv_bytes_per_token)) == 126
    assert math.isfinite(est.critical_batch) and est.critical_batch > est.users_that_fit
    # two GPUs priced as one device of twice the bandwidth: the step takes the same time as
    # one GPU reading half the bytes
    step_bytes = 2 * matmul_parameter_count(LLAMA2_70B) + 32 * 800 * est.kv_bytes_per_token
    assert est.step_seconds == pytest.approx(step_bytes / (2 * 3.35e12) / 0.5)
    assert est.tokens_per_second_per_gpu == pytest.approx(32 / est.step_seconds / 2)


def test_batching_divides_the_cost_per_conversation():
    one = serving_estimate(LLAMA2_7B, H100, batch=1)
    many = serving_estimate(LLAMA2_7B, H100, batch=32)
    assert many.tokens_per_second_per_gpu > 10 * one.tokens_per_second_per_gpu
    assert many.cost_per_conversation < one.cost_per_conversation / 10
    assert many.tokens_per_second_per_user < one.tokens_per_second_per_user


def test_efficiency_divides_every_time_and_the_price_scales_the_cost():
    full = serving_estimate(LLAMA2_7B, H100, efficiency=1.0, price_per_gpu_hour=1.0)
    half = serving_estimate(LLAMA2_7B, H100, efficiency=0.5, price_per_gpu_hour=3.0)
    assert half.step_seconds == pytest.approx(2 * full.step_seconds)
    assert half.prefill_seconds == pytest.approx(2 * full.prefill_seconds)
    assert half.cost_per_conversation == pytest.approx(6 * full.cost_per_conversation)


def test_table_rows_and_formatting():
    est = serving_estimate(LLAMA2_7B, H100)
    rows = est.rows()
    assert rows["GPUs per replica"] == 1 and rows["users that fit in memory"] == 171
    assert rows["KV cache per token (MiB)"] == 0.5
    assert rows["weight GEMMs / attention bound"] == "memory / memory"
    table = est.table()
    assert len(table.splitlines()) == len(rows)
    assert "  critical batch size                  none (KV-bound)" in table
    assert format_value(1234) == "1,234" and format_value(0.123456) == "0.1235"
    assert format_value(None) == "unknown (no power figure)"


def test_a_gpu_without_a_power_figure_has_no_energy_and_says_so():
    tpu = dataclasses.replace(H100, name="a GPU without power", power_watts=None)
    est = serving_estimate(LLAMA2_7B, tpu)
    assert est.energy_per_token is None
    assert "energy per token (J)                 unknown (no power figure)" in est.table()


@pytest.mark.parametrize(
    "change, error, message",
    [
        (dict(batch=0), ValueError, r"batch must be an integer >= 1, got 0"),
        (dict(batch=True), TypeError, "batch must be an integer"),
        (dict(efficiency=0), ValueError, "efficiency must be > 0"),
        (dict(efficiency=1.5), ValueError, "efficiency must be"),
        (dict(efficiency=float("nan")), ValueError, "efficiency must be a finite number"),
        (dict(price_per_gpu_hour=-1), ValueError, "price_per_gpu_hour"),
        (dict(prompt_tokens=4000, reply_tokens=300), ValueError, "4300 exceeds"),
        (dict(reply_tokens=2.5), TypeError, "reply_tokens must be an integer"),
        (dict(precision="fp8"), ValueError, "no verified peak for 'fp8'"),
        (dict(bytes_per_param=0), ValueError, "bytes_per_param"),
    ],
)
def test_serving_estimate_rejects_bad_assumptions(change, error, message):
    a100 = get_spec("NVIDIA A100 SXM 80GB")
    with pytest.raises(error, match=message):
        serving_estimate(LLAMA2_7B, a100, **change)


def test_serving_estimate_rejects_a_gpu_name_or_a_cpu_row():
    with pytest.raises(TypeError, match=r"gpu must be a HardwareSpec \(e.g. get_spec"):
        serving_estimate(LLAMA2_7B, "NVIDIA H100 SXM")
    with pytest.raises(ValueError, match="no fixed memory capacity"):
        serving_estimate(
            LLAMA2_7B, get_spec("AMD EPYC 9654 (Zen 4, 96 cores)"), precision="float32"
        )
    with pytest.raises(TypeError, match="shape must be a ModelShape"):
        serving_estimate("Llama-2-7B", H100)
