"""course_lib.gpt.attention_maps: the attention probabilities of every layer and head are
probabilities, causal, the ones the layers use (A v reproduces the attention output), and
equal to an independent NumPy computation from the weights."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib.gpt import GPT, GPTConfig, attention_maps, attention_trace


@pytest.fixture(scope="module")
def model_and_tokens():
    keras.utils.set_random_seed(0)
    cfg = GPTConfig(vocab_size=11, context_length=12, n_layer=2, n_head=3, d_model=24)
    model = GPT(cfg)
    # sharper than the 0.02 initialisation, so the maps are far from uniform
    for block in model.blocks:
        kernel = block.attn.qkv.kernel
        kernel.assign(kernel * 12.0)
    tokens = np.random.default_rng(0).integers(0, cfg.vocab_size, (4, 10)).astype(np.int32)
    return model, tokens


def test_maps_have_one_row_per_query_that_sums_to_one_and_zeros_above_the_diagonal(
    model_and_tokens,
):
    model, tokens = model_and_tokens
    probs = attention_maps(model, tokens)
    assert probs.shape == (2, 4, 3, 10, 10) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)
    upper = np.triu(np.ones((10, 10), bool), k=1)
    assert np.all(probs[..., upper] == 0.0)
    assert np.all(probs[..., ~upper] > 0.0)
    assert probs[..., 0, 0].min() == pytest.approx(1.0)  # the first token sees only itself
    assert probs[:, :, :, 2:].max() > 0.8  # sharp weights: not uniform


def test_probabilities_times_values_reproduce_each_layers_attention_output(model_and_tokens):
    model, tokens = model_and_tokens
    trace = attention_trace(model, tokens)
    _, B, H, T, d_head = trace.values.shape
    for layer, block in enumerate(model.blocks):
        mixed = trace.probs[layer] @ trace.values[layer]  # (B, H, T, d_head)
        merged = mixed.transpose(0, 2, 1, 3).reshape(B, T, H * d_head)  # (B, T, d)
        rebuilt = block.attn.proj(tf.constant(merged)).numpy()
        np.testing.assert_allclose(rebuilt, trace.outputs[layer], atol=2e-5)


def test_first_layer_map_equals_a_numpy_computation_from_the_weights(model_and_tokens):
    model, tokens = model_and_tokens
    cfg = model.cfg
    h = (
        model.token_embedding.embeddings.numpy()[tokens]
        + model.position_embedding.embeddings.numpy()[: tokens.shape[1]]
    )
    ln = model.blocks[0].ln_1
    mean = h.mean(-1, keepdims=True)
    var = h.var(-1, keepdims=True)
    x = (h - mean) / np.sqrt(var + cfg.layer_norm_epsilon) * ln.gamma.numpy()
    if ln.beta is not None:
        x = x + ln.beta.numpy()
    qkv = x @ model.blocks[0].attn.qkv.kernel.numpy()
    if model.blocks[0].attn.qkv.bias is not None:
        qkv = qkv + model.blocks[0].attn.qkv.bias.numpy()
    q, k, _ = np.split(qkv, 3, axis=-1)  # (B, T, d) each
    B, T, _ = q.shape
    q = q.reshape(B, T, cfg.n_head, cfg.d_head).transpose(0, 2, 1, 3)
    k = k.reshape(B, T, cfg.n_head, cfg.d_head).transpose(0, 2, 1, 3)
    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(cfg.d_head)  # (B, H, T, T)
    scores = np.where(np.tril(np.ones((T, T), bool)), scores, -np.inf)
    want = np.exp(scores - scores.max(-1, keepdims=True))
    want /= want.sum(-1, keepdims=True)
    np.testing.assert_allclose(attention_maps(model, tokens)[0], want, atol=1e-5)


def test_a_prefix_gets_the_same_maps_as_the_top_left_corner_of_the_whole_sequence(
    model_and_tokens,
):
    model, tokens = model_and_tokens
    whole = attention_maps(model, tokens)
    prefix = attention_maps(model, tokens[:, :6])
    np.testing.assert_allclose(prefix, whole[..., :6, :6], atol=1e-6)


def test_the_trace_advances_the_residual_stream_like_the_model(model_and_tokens):
    model, tokens = model_and_tokens
    trace = attention_trace(model, tokens)
    # the second layer reads the residual stream after the first block, as in the model
    h = model.blocks[0](model.embed(tf.constant(tokens)))  # (B, T, d)
    np.testing.assert_allclose(
        model.blocks[1].attn(model.blocks[1].ln_1(h)).numpy(), trace.outputs[1], atol=1e-5
    )
    assert not np.allclose(trace.outputs[0], trace.outputs[1], atol=1e-3)


def test_attention_maps_refuse_bad_tokens(model_and_tokens):
    model, _ = model_and_tokens
    with pytest.raises(ValueError, match="shape"):
        attention_maps(model, np.zeros(5, np.int32))
    with pytest.raises(ValueError, match="context length"):
        attention_maps(model, np.zeros((1, 13), np.int32))
