"""course_lib.hardware.shapes: the course's one sizing formula. Parameter counts of published
models checked against their published numbers, and the course's own GPT (``GPTConfig.shape``)
checked against Keras's ``count_params()``."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from course_lib.hardware.cost_model import (
    flops_per_token,
    kv_cache_bytes_per_token,
    training_flops_per_token,
)
from course_lib.hardware.shapes import (
    GPT2_SMALL,
    GPT3_175B,
    LLAMA2_7B,
    LLAMA2_70B,
    ModelShape,
    check_shape,
    matmul_parameter_count,
    non_embedding_parameter_count,
    parameter_breakdown,
    parameter_count,
)

SMALL = dict(n_layer=2, d_model=64, n_head=4, vocab_size=100, context_length=16)


# --------------------------------------------------------------------- published models
def test_gpt2_small_has_124_439_808_parameters():
    """GPT-2 small: L=12, d=768, H=12, V=50257, C=1024, tied (Radford et al. 2019 list
    117M, a count later corrected; Hugging Face's GPT2LMHeadModel reports 124,439,808)."""
    assert parameter_count(GPT2_SMALL) == 124_439_808


def test_gpt3_175b_shape_gives_175_billion_parameters():
    """Brown et al. 2020 (arXiv:2005.14165) Table 2.1: n_params 175.0B, n_layers 96,
    d_model 12288, n_heads 96, d_head 128, context 2048; GPT-2's 50257-token BPE."""
    n = parameter_count(GPT3_175B)
    assert n == 174_604_259_328
    assert n == pytest.approx(175e9, rel=0.005)
    assert GPT3_175B.d_head == 128


def test_llama2_7b_has_6_738_415_616_parameters():
    """Touvron et al. 2023 (arXiv:2307.09288), released config: L=32, d=4096, H=32,
    d_ff=11008 SwiGLU, V=32000, RMSNorm, rotary positions, untied head, no biases; the
    exact count 6,738,415,616 (6.74B) is what Hugging Face and KerasHub report."""
    assert parameter_count(LLAMA2_7B) == 6_738_415_616


def test_llama2_70b_counts_its_grouped_query_attention_and_is_ten_times_7b():
    """The released config (L=80, d=8192, 64 query heads, 8 key/value heads, d_ff=28672):
    the key and value projections are d x (8 x 128) each, not d x d."""
    d, kv = 8192, 8 * 128
    per_layer = 2 * d * d + 2 * d * kv + 3 * d * 28672 + 2 * d  # attention, SwiGLU, 2 RMSNorms
    by_hand = 80 * per_layer + 2 * 32000 * d + d  # untied embedding and head, final norm
    assert parameter_count(LLAMA2_70B) == by_hand == 68_976_648_192
    assert round(parameter_count(LLAMA2_70B) / parameter_count(LLAMA2_7B)) == 10


def test_twelve_l_d_squared_approximates_the_non_embedding_count_of_gpt_models():
    """E10: N ~ 12 L d^2 plus embeddings."""
    for shape in (GPT2_SMALL, GPT3_175B):
        parts = parameter_breakdown(shape)
        blocks = parts["attention"] + parts["mlp"]
        assert blocks == pytest.approx(12 * shape.n_layer * shape.d_model**2, rel=0.001)
        n_blocks = non_embedding_parameter_count(shape)
        assert n_blocks == pytest.approx(12 * shape.n_layer * shape.d_model**2, rel=0.002)


def test_non_embedding_count_of_llama2_7b_leaves_out_both_v_by_d_matrices():
    n = parameter_count(LLAMA2_7B)
    assert non_embedding_parameter_count(LLAMA2_7B) == n - 2 * 32000 * 4096


def test_grouped_query_attention_shrinks_k_and_v_by_h_over_h_kv():
    mha = LLAMA2_7B
    gqa = ModelShape(**{**LLAMA2_7B.__dict__, "n_kv_head": 8, "name": "GQA"})
    d, L = mha.d_model, mha.n_layer
    saved = parameter_breakdown(mha)["attention"] - parameter_breakdown(gqa)["attention"]
    assert saved == L * 2 * d * (d - d // 4)
    assert kv_cache_bytes_per_token(mha) == 4 * kv_cache_bytes_per_token(gqa)


@pytest.mark.parametrize(
    "change, error, message",
    [
        (dict(n_head=5), ValueError, "divisible by n_head"),
        (dict(n_kv_head=3), ValueError, "must divide n_head"),
        (dict(n_kv_head=0), ValueError, r"n_kv_head must be an integer >= 1"),
        (dict(norm="batchnorm"), ValueError, "norm must be one of"),
        (dict(d_ff=0), ValueError, "d_ff"),
        (dict(n_layer=0), ValueError, r"ModelShape.n_layer must be an integer >= 1, got 0"),
        (dict(d_model=64.0), TypeError, "ModelShape.d_model must be an integer"),
        (dict(vocab_size=True), TypeError, "ModelShape.vocab_size must be an integer"),
        (dict(bias=1), TypeError, "True or False"),
        (dict(name=None), TypeError, "name must be a string"),
    ],
)
def test_model_shape_rejects_inconsistent_shapes(change, error, message):
    with pytest.raises(error, match=message):
        ModelShape(**{**SMALL, **change})


def test_model_shape_stores_numpy_integers_as_int():
    shape = ModelShape(**{**SMALL, "n_layer": np.int64(3)})
    assert type(shape.n_layer) is int and parameter_count(shape) > 0


def test_sizing_functions_refuse_something_that_is_not_a_shape():
    with pytest.raises(TypeError, match=r"GPTConfig gives one as cfg.shape"):
        parameter_count(SMALL)
    with pytest.raises(TypeError, match="ModelShape"):
        check_shape("GPT-2")
    assert check_shape(GPT2_SMALL) is GPT2_SMALL


# ------------------------------------------------------------------- the course's GPT
GPT_CASES = [
    dict(bias=True, tie_weights=True),
    dict(bias=False, tie_weights=True),
    dict(bias=True, tie_weights=False),
    dict(bias=False, tie_weights=False),
    dict(bias=False, tie_weights=False, d_ff=24),
    dict(vocab_size=7, context_length=5, n_layer=3, n_head=4, d_model=8, d_ff=13),
]


def _gpt_config(**fields):
    config = pytest.importorskip("course_lib.gpt.config")
    base = dict(vocab_size=11, context_length=12, n_layer=2, n_head=2, d_model=16)
    return config.GPTConfig(**{**base, **fields})


def test_default_gpt_config_has_809_856_parameters_by_hand():
    """The baby GPT: V=65, C=64, L=4, d=128, d_ff=512, biases, tied. Embeddings, then per
    block two LayerNorms (2 x 2d), q/k/v/output with biases (4 d^2 + 4 d), the MLP
    (2 d d_ff + d_ff + d), then the final LayerNorm (2 d)."""
    config = pytest.importorskip("course_lib.gpt.config")
    shape = config.GPTConfig().shape
    by_hand = (
        65 * 128
        + 64 * 128
        + 4 * (4 * 128 + 4 * 128**2 + 4 * 128 + 2 * 128 * 512 + 512 + 128)
        + 2 * 128
    )
    assert parameter_count(shape) == by_hand == 809_856
    blocks = by_hand - 65 * 128 - 64 * 128
    assert non_embedding_parameter_count(shape) == blocks
    # nanoGPT's 6 N + 12 L T d, N counting the blocks and the (tied) V x d output matrix
    assert training_flops_per_token(shape) == 6 * (blocks + 65 * 128) + 12 * 4 * 64 * 128
    assert training_flops_per_token(shape, 16) == 6 * (blocks + 65 * 128) + 12 * 4 * 16 * 128


def test_gpt_config_shape_follows_bias_and_tied_weights():
    for bias, tie in itertools.product((True, False), repeat=2):
        shape = _gpt_config(bias=bias, tie_weights=tie).shape
        assert (shape.bias, shape.norm_bias, shape.tied_embeddings) == (bias, bias, tie)
        assert shape.lm_head_bias == (bias and not tie)
        assert shape.learned_positions and shape.norm == "layernorm"
    assert _gpt_config(d_model=32).shape.d_ff == 128


@pytest.mark.parametrize("fields", GPT_CASES)
def test_closed_form_equals_keras_count_params_of_the_tiny_gpt(fields):
    gpt = pytest.importorskip("course_lib.gpt")
    cfg = _gpt_config(**fields)
    model = gpt.GPT(cfg)
    model(np.zeros((1, cfg.context_length), dtype="int32"))
    assert parameter_count(cfg.shape) == model.count_params()
    blocks = sum(
        v.numpy().size
        for v in model.trainable_variables
        if "block_" in v.path or "final_norm" in v.path
    )
    assert non_embedding_parameter_count(cfg.shape) == blocks


@pytest.mark.parametrize("fields", GPT_CASES[:4])
def test_training_flops_are_three_forward_passes_plus_six_per_bias_and_norm_parameter(fields):
    """``6 N + 12 L T d`` against ``3 x (2 N_mm + 4 L T d)``: the training estimate also
    counts 6 FLOPs for each bias and norm parameter, which are not matrix products."""
    shape = _gpt_config(**fields).shape
    parts = parameter_breakdown(shape)
    matrices_in_blocks = matmul_parameter_count(shape) - shape.vocab_size * shape.d_model
    not_multiplied = parts["norms"] + parts["attention"] + parts["mlp"] - matrices_in_blocks
    for T in (1, 7, 12):
        difference = training_flops_per_token(shape, T) - 3 * flops_per_token(shape, T)
        assert difference == 6 * not_multiplied


def test_training_flops_per_token_checks_the_sequence_length():
    shape = _gpt_config().shape
    with pytest.raises(ValueError, match=r"seq_len 13 exceeds .*context_length 12"):
        training_flops_per_token(shape, 13)
    with pytest.raises(ValueError, match="seq_len must be an integer >= 1"):
        training_flops_per_token(shape, 0)
    with pytest.raises(TypeError, match="seq_len must be an integer"):
        training_flops_per_token(shape, 4.5)
