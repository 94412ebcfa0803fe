"""course_lib.bench: FLOP counts against hand counts, MFU and predictions against the
roofline by hand, and the command's JSON report on a tiny run."""

from __future__ import annotations

import json
import math

import pytest

from course_lib import bench
from course_lib.cli import COMMANDS, build_parser, main
from course_lib.gpt import GPTConfig
from course_lib.hardware.specs import get_spec


@pytest.fixture
def float32_policy(monkeypatch):
    import keras

    monkeypatch.delenv("COURSE_PRECISION", raising=False)
    keras.mixed_precision.set_global_policy("float32")
    yield
    keras.mixed_precision.set_global_policy("float32")


def test_classifier_flops_per_image_equal_a_hand_count(float32_policy):
    work = bench.build_workload("classifier", profile="ci")
    # 2 FLOPs per multiply-add: conv 3x3x1->32 on 28x28, conv 3x3x32->64 on 14x14 (after a
    # 2x2 pool), dense 7*7*64 -> 128, dense 128 -> 10; forward and backward: 3x
    forward = 2 * 9 * 1 * 32 * 28 * 28 + 2 * 9 * 32 * 64 * 14 * 14 + 2 * 3136 * 128 + 2 * 128 * 10
    assert forward == 8_482_304
    assert work.flops_per_item == 3 * forward
    assert (work.unit, work.items_per_step, work.items_per_example) == ("images", 64, 1)


def test_dcgan_flops_per_image_equal_a_hand_count(float32_policy):
    work = bench.build_workload("gan", profile="ci")  # filters (32, 64), latent 64, 5x5 kernels
    generator = (
        2 * 64 * 7 * 7 * 64  # dense z -> 7x7x64 (no bias)
        + 2 * 25 * 64 * 32 * 7 * 7  # transposed conv: every 7x7x64 input pixel, 5x5x32 kernel
        + 2 * 25 * 32 * 1 * 14 * 14  # transposed conv 14x14x32 -> 28x28x1
    )
    discriminator = (
        2 * 25 * 1 * 32 * 14 * 14  # conv 5x5, stride 2: 28x28x1 -> 14x14x32
        + 2 * 25 * 32 * 64 * 7 * 7  # 14x14x32 -> 7x7x64
        + 2 * 3136 * 1  # dense
    )
    # D's update: G forward, D forward and backward on real and fake; G's update: G forward
    # and backward, D forward and backward to its input
    assert work.flops_per_item == 4 * generator + 8 * discriminator == 65_630_208


def test_mfu_is_achieved_model_flops_over_the_peak():
    # 1,000 tokens/s of a 5.2 MFLOP/token model on a 200 GFLOP/s CPU: 5.2 GFLOP/s, 2.6 %
    assert bench.mfu(1000.0, 5.2e6, 200e9) == pytest.approx(0.026)
    with pytest.raises(ValueError, match="peak_flops"):
        bench.mfu(1000.0, 5.2e6, 0.0)


def test_training_prediction_is_the_roofline_by_hand():
    cost = bench.ModelCost("gpt", "tokens", 5.2e6, 2048, 800_000)
    P, B = 19.5e12, 2.039e12
    compute = 2048 * 5.2e6 / P  # F / P
    memory = 800_000 * 32 / B  # Q / B_mem, 32 bytes per parameter
    assert bench.predict_training(cost, P, B) == pytest.approx(2048 / max(compute, memory))
    slow_memory = 1e6  # 1 MB/s: now the memory roof binds
    assert bench.predict_training(cost, P, slow_memory) == pytest.approx(
        2048 / (800_000 * 32 / slow_memory)
    )


def test_generation_prediction_is_the_cost_model_by_hand():
    cfg = GPTConfig(vocab_size=77, n_layer=4, n_head=4, d_model=128, context_length=64)
    L, d, V, C = 4, 128, 77, 64
    n_mm = L * (4 * d * d + 2 * d * 4 * d) + V * d  # attention 4 d^2, MLP 8 d^2, unembedding
    P, B = 1e12, 1e9
    # with the cache: one token, F = 2 N_mm + 4 L C d; Q = float32 weights + the KV cache
    f = 2 * n_mm + 4 * L * C * d
    q = 4 * n_mm + 2 * L * d * C * 2  # k and v, L layers, d values per token, C tokens, 2 bytes
    cached = 1 / max(f / P, q / B)
    # without: the model reruns on C tokens, causal attention over 1..C
    f_full = C * 2 * n_mm + 4 * L * d * C * (C + 1) / 2
    q_full = 4 * n_mm + 2 * L * d * C * 2
    full = 1 / max(f_full / P, q_full / B)
    got = bench.predict_generation(cfg.shape, P, B, kv_bytes=2)
    assert got == pytest.approx((cached, full))


def test_spec_lookup_and_the_precision_row_a_policy_runs_at():
    a100 = get_spec("NVIDIA A100 SXM 80GB")
    assert bench.known_spec("NVIDIA A100-SXM4-80GB") is a100
    assert bench.known_spec("NVIDIA H100 80GB HBM3").name == "NVIDIA H100 SXM"
    assert bench.known_spec("Tesla T4") is None
    assert bench.known_spec("NVIDIA H100 PCIe") is None  # not the SXM card's peaks
    assert bench.spec_precision(a100, "float32") == "tf32"  # TensorFlow's default on Ampere
    assert bench.spec_precision(a100, "mixed_bfloat16") == "bfloat16"
    assert bench.spec_precision(get_spec("NVIDIA GeForce RTX 4090"), "float32") == "float32"
    assert bench.peak_flops("mixed_bfloat16", "GPU", "NVIDIA A100-SXM4-80GB")[0] == 312e12


def test_predictions_are_labelled_and_match_predict_training(float32_policy):
    table = bench.predictions("NVIDIA H100 SXM", profile="ci")
    assert table["kind"].startswith("prediction")
    assert [r["precision"] for r in table["rows"]] == ["float32", "mixed_bfloat16"]
    row = table["rows"][1]
    gpt = table["models"]["gpt"]
    cost = bench.ModelCost(
        "gpt", "tokens", gpt["flops_per_item"], gpt["items_per_step"], gpt["parameters"]
    )
    expected = bench.predict_training(cost, 1979e12 / 2, 3.35e12)
    assert row["training_items_per_second"]["gpt"] == pytest.approx(expected)
    text = bench.format_predictions(table)
    assert text.startswith("PREDICTIONS") and "| NVIDIA H100 SXM | mixed_bfloat16" in text


def test_three_digits():
    assert bench._three_digits(1234567.0) == "1,230,000"
    assert bench._three_digits(12.345) == "12.3"
    assert bench._three_digits(0.012345) == "0.0123"


def test_bench_command_is_registered_and_prints_json(float32_policy, capsys):
    assert "bench" in COMMANDS
    args = build_parser().parse_args(["bench", "--models", "classifier", "--seconds", "0.2"])
    assert args.models == ["classifier"] and args.seconds == 0.2 and not args.json
    code = main(
        ["bench", "--models", "classifier", "--seconds", "0.2", "--profile", "ci", "--json"]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    for key in ("date", "machine", "device", "precision", "strategy", "peaks", "models"):
        assert key in report
    assert report["device"] == "CPU"
    (row,) = report["models"]
    assert row["model"] == "classifier" and row["unit"] == "images"
    assert row["flops_per_item"] == 3 * 8_482_304
    assert row["items_per_second"] > 0 and row["steps"] > 0
    peak = report["peaks"][row["precision"]]["flops"]
    assert math.isclose(row["mfu"], row["items_per_second"] * row["flops_per_item"] / peak)
    assert row["generation_cache_tokens_per_second"] is None


def test_each_model_runs_in_the_precision_the_course_chooses_for_it(float32_policy, monkeypatch):
    from course_lib.runtime import devices

    # a CPU with bfloat16 instructions on which the classifier was measured 2x faster in bf16
    monkeypatch.setattr(devices, "cpu_bf16_flags", lambda cpuinfo=None: ("avx512_bf16",))
    monkeypatch.setattr(
        devices, "CPU_BF16_SPEEDUP", {**devices.CPU_BF16_SPEEDUP, "classifier": 2.0}
    )
    report = bench.run_bench(["classifier"], 0.2, profile="ci", show_progress=False)
    (row,) = report["models"]
    assert row["precision"] == "mixed_bfloat16" and report["precision"] == "float32"
    assert "bfloat16" in report["peaks"]["mixed_bfloat16"]["source"]  # P in the compute dtype
    assert row["mfu"] == pytest.approx(
        row["items_per_second"] * row["flops_per_item"] / report["peaks"]["mixed_bfloat16"]["flops"]
    )
