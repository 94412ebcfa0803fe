"""Tests of course_lib.compression: the int8 round-off bound, shapes and range, the bytes of
a quantised layer, simulated quantisation of a GPT, magnitude pruning's exact sparsity, what a
global threshold would prune, the matvec timing's rates, reading XLA's compiled HLO, and the
errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from course_lib.compression import (
    MatvecTiming,
    apply_dequantized,
    apply_masks,
    convert_fused_into_dot,
    copy_model,
    dequantize,
    global_threshold_sparsities,
    int8_matvec_hlo,
    magnitude_prune,
    matvec_int8_vs_float32,
    quantize_int8,
    quantize_model_weights,
    sparsity_of,
)
from course_lib.gpt import GPT, GPTConfig

TINY = GPTConfig(vocab_size=11, context_length=8, n_layer=2, n_head=2, d_model=16)


@pytest.fixture(scope="module")
def tiny() -> GPT:
    keras.utils.set_random_seed(0)
    return GPT(TINY)


def kernel(shape=(48, 20), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 0.05, shape).astype(np.float32)


def test_int8_error_is_at_most_half_a_step_of_each_column():
    w = kernel()
    q, scale = quantize_int8(w)
    error = np.abs(w.astype(np.float64) - dequantize(q, scale))
    assert np.all(error <= scale[None, :] / 2 * (1 + 1e-6) + 1e-12)


def test_int8_shapes_dtypes_and_one_scale_per_output_column():
    w = kernel((48, 20))
    q, scale = quantize_int8(w)
    assert q.shape == (48, 20) and q.dtype == np.int8
    assert scale.shape == (20,) and scale.dtype == np.float32
    np.testing.assert_allclose(scale, np.abs(w).max(axis=0) / 127, rtol=1e-6)
    q_rows, scale_rows = quantize_int8(w, channel_axis=0)
    assert scale_rows.shape == (48,) and dequantize(q_rows, scale_rows, channel_axis=0).shape == (
        48,
        20,
    )
    _, scale_all = quantize_int8(w, channel_axis=None)
    assert scale_all.shape == () and np.isclose(scale_all, np.abs(w).max() / 127)


def test_int8_values_stay_in_minus_127_to_127_and_each_column_reaches_the_end():
    q, _ = quantize_int8(kernel() * 1000)
    assert q.min() >= -127 and q.max() <= 127
    assert np.all(
        np.abs(q.astype(int)).max(axis=0) == 127
    )  # the largest |w| of a column maps to +-127


def test_an_all_zero_column_quantises_to_zeros_without_dividing_by_zero():
    w = kernel()
    w[:, 3] = 0.0
    q, scale = quantize_int8(w)
    assert scale[3] == 0 and np.all(q[:, 3] == 0) and np.all(dequantize(q, scale)[:, 3] == 0)


def test_a_hand_quantised_vector_matches():
    q, scale = quantize_int8(np.array([0.5, -1.27, 0.01, 1.0], np.float32), channel_axis=None)
    assert np.isclose(scale, 0.01) and q.tolist() == [50, -127, 1, 100]


def test_int8_kernel_is_exactly_4x_smaller_plus_4_bytes_per_column_scale(tiny):
    qw = quantize_model_weights(tiny)
    qkv = next(t for t in qw.quantized.values() if t.path == "block_0/attn/qkv/kernel")
    d_in, d_out = 16, 48
    assert qkv.float32_bytes == 4 * d_in * d_out
    assert qkv.q.nbytes * 4 == qkv.float32_bytes
    assert qkv.nbytes == qkv.float32_bytes // 4 + 4 * d_out


def test_model_size_counts_every_parameter_once_and_keeps_biases_and_layernorms_float32(tiny):
    qw = quantize_model_weights(tiny)
    assert qw.float32_bytes == 4 * tiny.count_params()
    n_matrix = sum(t.q.size for t in qw.quantized.values())
    n_scale = sum(t.scale.size for t in qw.quantized.values())
    n_kept = tiny.count_params() - n_matrix
    assert qw.size_bytes == n_matrix + 4 * n_scale + 4 * n_kept
    assert all(
        a.ndim == 1 and a.dtype == np.float32 for a in qw.kept.values()
    )  # biases, LayerNorms
    paths = {t.path for t in qw.quantized.values()}
    assert "token_embedding/embeddings" in paths and len(paths) == 2 + 4 * TINY.n_layer
    assert 1 < qw.ratio < 4


def test_dequantized_copy_holds_q_times_scale_and_leaves_the_original_untouched(tiny):
    before = [w.copy() for w in tiny.get_weights()]
    qw = quantize_model_weights(tiny)
    twin = apply_dequantized(tiny, qw)
    for i, t in qw.quantized.items():
        np.testing.assert_array_equal(twin.weights[i].numpy(), t.dequantize())
    for i in qw.kept:
        np.testing.assert_array_equal(twin.weights[i].numpy(), before[i])
    for a, b in zip(tiny.get_weights(), before, strict=True):
        np.testing.assert_array_equal(a, b)
    errors = qw.errors(tiny)
    assert all(e["max_abs"] <= e["half_step"] * (1 + 1e-6) for e in errors.values())
    x = np.random.default_rng(0).integers(0, TINY.vocab_size, (2, 8)).astype(np.int32)
    np.testing.assert_allclose(
        twin(x).numpy(), tiny(x).numpy(), atol=0.05
    )  # int8 barely changes the logits


@pytest.mark.parametrize("sparsity", [0.0, 0.1, 0.3, 0.5, 0.9])
def test_pruning_reaches_the_requested_sparsity_within_one_element_per_layer(tiny, sparsity):
    pruned = copy_model(tiny)
    masks = magnitude_prune(pruned, sparsity)
    for mask in masks.values():
        assert abs((mask == 0).sum() - sparsity * mask.size) <= 1
    assert abs(sparsity_of(pruned) - sparsity) <= len(masks) / sum(m.size for m in masks.values())


def test_pruning_zeros_the_smallest_magnitudes_and_keeps_the_other_weights_unchanged(tiny):
    pruned = copy_model(tiny)
    original = {w.path.split("/", 1)[1]: w.numpy() for w in tiny.weights}
    masks = magnitude_prune(pruned, 0.3)
    for w in pruned.weights:
        path, value = w.path.split("/", 1)[1], w.numpy()
        if path in masks:
            kept, dropped = masks[path] == 1, masks[path] == 0
            assert np.all(value[dropped] == 0)
            np.testing.assert_array_equal(
                value[kept], original[path][kept]
            )  # untouched weights unchanged
            assert np.abs(original[path][dropped]).max() <= np.abs(original[path][kept]).min()
        else:  # embeddings, biases, LayerNorms
            np.testing.assert_array_equal(value, original[path])


def test_apply_masks_sets_pruned_weights_back_to_zero(tiny):
    pruned = copy_model(tiny)
    masks = magnitude_prune(pruned, 0.5)
    for w in pruned.weights:
        w.assign(w + 1.0)  # an optimiser step moves every weight
    apply_masks(pruned, masks)
    assert sparsity_of(pruned) == pytest.approx(0.5, abs=1e-3)


@pytest.mark.parametrize(
    "sparsity, error, message",
    [
        (-0.1, ValueError, r"must be >= 0.0 and <= 1.0, got -0.1"),
        (1.0, ValueError, "must be < 1: a layer needs a weight left"),
        (1.5, ValueError, r"must be >= 0.0 and <= 1.0, got 1.5"),
        (float("nan"), ValueError, "must be a finite number"),
        (True, TypeError, "must be a real number, got True"),
        ("0.5", TypeError, "must be a real number"),
    ],
)
def test_sparsity_outside_zero_to_one_is_a_clear_error(tiny, sparsity, error, message):
    with pytest.raises(error, match=r"sparsity \(the fraction of each kernel set to zero\) "):
        magnitude_prune(copy_model(tiny), sparsity)
    with pytest.raises(error, match=message):
        magnitude_prune(copy_model(tiny), sparsity)


def test_a_numpy_float_sparsity_is_accepted(tiny):
    pruned = copy_model(tiny)
    magnitude_prune(pruned, np.float32(0.5))
    assert sparsity_of(pruned) == pytest.approx(0.5, abs=1e-3)


def test_a_model_without_dense_layers_is_a_clear_error():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Embedding(10, 3)])
    with pytest.raises(ValueError, match=r"no keras\.layers\.Dense"):
        quantize_model_weights(model)
    with pytest.raises(ValueError, match=r"no keras\.layers\.Dense"):
        magnitude_prune(model, 0.5)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: quantize_int8(np.arange(6).reshape(2, 3)), TypeError, "w must have a float"),
        (lambda: quantize_int8(np.array([[np.nan, 1.0]])), ValueError, "w has 1 NaN"),
        (lambda: quantize_int8(np.float32(1.0)), ValueError, "at least one axis"),
        (lambda: quantize_int8(np.zeros((0, 3))), ValueError, r"w is empty \(shape \(0, 3\)\)"),
        (lambda: quantize_int8(np.ones((2, 3)), True), TypeError, "channel_axis must be an"),
        (lambda: quantize_int8(np.ones((2, 3)), 2), ValueError, "channel_axis 2 is out of"),
        (lambda: dequantize(np.zeros((2, 2), np.int32), np.ones(2)), TypeError, "int8 array"),
        (
            lambda: dequantize(np.ones((2, 3), np.int8), np.ones(2)),
            ValueError,
            r"scale must have shape \(3,\): one value per index of axis 1",
        ),
        (
            lambda: dequantize(np.ones((2, 3), np.int8), np.array([np.nan, 1.0, 1.0])),
            ValueError,
            "scale has 1 NaN",
        ),
        (
            lambda: dequantize(np.ones((2, 3), np.int8), np.ones(3), None),
            ValueError,
            "scale must be one number when channel_axis is None",
        ),
        (lambda: dequantize(np.ones((2, 3), np.int8), np.ones(3), 5), ValueError, "out of range"),
        (lambda: quantize_model_weights("model"), TypeError, "model must be a keras.Model"),
        (lambda: sparsity_of(None), TypeError, "model must be a keras.Model"),
        (lambda: matvec_int8_vs_float32(0, 4), ValueError, "d_in must be an integer >= 1"),
        (lambda: matvec_int8_vs_float32(4.0, 4), TypeError, "d_in must be an integer"),
        (lambda: convert_fused_into_dot(None), TypeError, "hlo must be the text"),
    ],
)
def test_bad_inputs_to_quantize_are_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_quantize_then_dequantize_without_channels_uses_one_scale():
    w = np.array([[0.5, -1.0], [0.25, 0.0]], np.float32)
    q, scale = quantize_int8(w, channel_axis=None)
    assert scale.shape == () and float(scale) == pytest.approx(1.0 / 127)
    np.testing.assert_allclose(dequantize(q, scale, None), w, atol=float(scale) / 2)


def test_apply_masks_refuses_unknown_paths_and_wrong_shapes(tiny):
    pruned = copy_model(tiny)
    masks = magnitude_prune(pruned, 0.5)
    with pytest.raises(ValueError, match=r"masks name no Dense kernel of this model: \['nope'\]"):
        apply_masks(pruned, {"nope": np.ones(3)})
    path = next(iter(masks))
    with pytest.raises(ValueError, match=f"the mask of {path} has shape \\(3,\\)"):
        apply_masks(pruned, {path: np.ones(3)})
    with pytest.raises(TypeError, match="include_embeddings must be True or False"):
        quantize_model_weights(tiny, include_embeddings=1)


def test_int8_matvec_gives_the_float32_result_and_reports_both_times():
    timing = matvec_int8_vs_float32(64, 32, repeats=2)
    assert timing.float32_seconds > 0 and timing.int8_seconds > 0
    assert timing.int8_bytes == 64 * 32 + 4 * 32 and timing.float32_bytes == 4 * 64 * 32


def test_a_global_threshold_removes_the_requested_fraction_overall_but_unevenly_per_kernel(tiny):
    before = [w.copy() for w in tiny.get_weights()]
    fractions = global_threshold_sparsities(tiny, 0.5)
    sizes = {path: mask.size for path, mask in magnitude_prune(copy_model(tiny), 0.0).items()}
    assert set(fractions) == set(sizes)
    overall = sum(fractions[p] * sizes[p] for p in sizes) / sum(sizes.values())
    assert overall == pytest.approx(0.5, abs=1e-3)
    # the residual projections are initialised with std 0.02 / sqrt(2 L), the others with 0.02
    assert fractions["block_0/attn/proj/kernel"] > 0.5 > fractions["block_0/attn/qkv/kernel"]
    assert all(v == 0.0 for v in global_threshold_sparsities(tiny, 0.0).values())
    for a, b in zip(tiny.get_weights(), before, strict=True):
        np.testing.assert_array_equal(a, b)  # the model is not changed


@pytest.mark.parametrize(
    "sparsity, error", [(-0.1, ValueError), (1.0, ValueError), (True, TypeError)]
)
def test_global_threshold_sparsity_outside_zero_to_one_is_a_clear_error(tiny, sparsity, error):
    with pytest.raises(error, match=r"sparsity \(the fraction of all kernel weights set to zero\)"):
        global_threshold_sparsities(tiny, sparsity)


def test_matvec_timing_rates_are_bytes_and_weights_over_seconds():
    t = MatvecTiming(d_in=100, d_out=10, float32_seconds=2e-3, int8_seconds=4e-3)
    assert t.float32_bytes_per_second == pytest.approx(4000 / 2e-3)
    assert t.int8_bytes_per_second == pytest.approx((1000 + 40) / 4e-3)
    assert t.float32_weights_per_second == pytest.approx(1000 / 2e-3)
    assert t.int8_weights_per_second == pytest.approx(1000 / 4e-3)
    assert t.speedup == pytest.approx(0.5)


FUSED = """HloModule m

%fused_computation.1 (param_0.3: s8[8,4], param_1.3: f32[1,8]) -> f32[4] {
  %param_1.3 = f32[1,8]{1,0} parameter(1)
  %bitcast.3 = f32[8]{0} bitcast(%param_1.3)
  %param_0.3 = s8[8,4]{1,0} parameter(0)
  %Cast.0 = f32[8,4]{1,0} convert(%param_0.3)
  ROOT %dot.1 = f32[4]{0} dot(%bitcast.3, %Cast.0), lhs_contracting_dims={0}
}

ENTRY %main (arg0.1: s8[8,4], arg1.1: f32[1,8]) -> f32[4] {
  %arg0.1 = s8[8,4]{1,0} parameter(0)
  %arg1.1 = f32[1,8]{1,0} parameter(1)
  ROOT %fusion = f32[4]{0} fusion(%arg0.1, %arg1.1), kind=kLoop, calls=%fused_computation.1
}
"""

UNFUSED = """HloModule m

%fused_computation (param_0: s8[8,4]) -> f32[8,4] {
  %param_0 = s8[8,4]{1,0} parameter(0)
  ROOT %convert.1 = f32[8,4]{1,0} convert(%param_0)
}

ENTRY %main (arg0.1: s8[8,4], arg1.1: f32[1,8]) -> f32[1,4] {
  %arg0.1 = s8[8,4]{1,0} parameter(0)
  %arg1.1 = f32[1,8]{1,0} parameter(1)
  %convert_fusion = f32[8,4]{1,0} fusion(%arg0.1), kind=kLoop, calls=%fused_computation
  ROOT %dot = f32[1,4]{1,0} dot(%arg1.1, %convert_fusion), lhs_contracting_dims={1}
}
"""


def test_convert_fused_into_dot_reads_an_hlo_module():
    assert convert_fused_into_dot(FUSED)
    assert not convert_fused_into_dot(
        UNFUSED
    )  # the float32 copy of W is written, then a separate dot reads it


def test_int8_matvec_hlo_is_the_compiled_program_of_both_products():
    int8 = int8_matvec_hlo(64, 32)
    float32 = int8_matvec_hlo(64, 32, precision="float32")
    assert "s8[64,32]" in int8 and " dot(" in int8
    assert "s8[" not in float32 and not convert_fused_into_dot(float32)
    with pytest.raises(ValueError, match="precision must be one of 'int8', 'float32'"):
        int8_matvec_hlo(64, 32, precision="int4")
