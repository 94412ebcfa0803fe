"""Tests of course_lib.gpt: the causal mask, the key/value cache against full
recomputation (also beyond the context window), the parameter formula, the samplers, the
errors, and a tiny GPT that memorises a sentence through the course's Trainer."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib.gpt import (
    GPT,
    GPTConfig,
    apply_temperature,
    evaluate,
    generate,
    incremental_logits,
    make_optimizer,
    make_task,
    next_token_loss,
    sample_next,
    top_k_filter,
    top_p_filter,
)
from course_lib.training import TrainConfig, Trainer

TINY = GPTConfig(vocab_size=11, context_length=12, n_layer=2, n_head=2, d_model=16)


@pytest.fixture(scope="module")
def tiny() -> GPT:
    keras.utils.set_random_seed(0)
    return GPT(TINY)


def random_tokens(
    shape: tuple[int, ...], vocab_size: int = TINY.vocab_size, seed: int = 0
) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, vocab_size, shape).astype(np.int32)


# --------------------------------------------------------------------------- config and size
def test_config_rejects_width_not_divisible_by_heads_and_non_positive_sizes():
    with pytest.raises(ValueError, match="divisible by n_head"):
        GPTConfig(d_model=30, n_head=4)
    with pytest.raises(ValueError, match=r"GPTConfig\.n_layer must be an integer >= 1, got 0"):
        GPTConfig(n_layer=0)
    with pytest.raises(TypeError, match=r"GPTConfig\.n_head must be an integer, got 2.5"):
        GPTConfig(n_head=2.5)
    with pytest.raises(TypeError, match=r"GPTConfig\.vocab_size must be an integer, got the bool"):
        GPTConfig(vocab_size=True)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        GPTConfig(dropout=1.0)
    with pytest.raises(ValueError, match=r"GPTConfig\.dropout must be >= 0.0"):
        GPTConfig(dropout=-0.1)
    with pytest.raises(ValueError, match="d_ff"):
        GPTConfig(d_ff=0)
    with pytest.raises(TypeError, match=r"GPTConfig\.bias must be True or False"):
        GPTConfig(bias=1)
    with pytest.raises(ValueError, match=r"GPTConfig\.layer_norm_epsilon must be > 0.0"):
        GPTConfig(layer_norm_epsilon=0.0)
    with pytest.raises(ValueError, match="layer_norm_epsilon must be a finite number"):
        GPTConfig(layer_norm_epsilon=float("nan"))
    assert GPTConfig(d_model=64).d_ff == 256 and GPTConfig(d_model=64, n_head=8).d_head == 8


# The parameter and FLOP counts of GPTConfig.shape (against Keras's count_params, and by hand
# for the default configuration) are tested with the sizing formula, in test_hardware_shapes.py.


def test_tied_head_reuses_the_embedding_variable_and_adds_no_parameters():
    tied, untied = GPT(TINY), GPT(GPTConfig(**{**TINY.__dict__, "tie_weights": False}))
    assert tied.head is None and not any("head" in v.path for v in tied.weights)
    assert (
        untied.count_params() - tied.count_params()
        == TINY.vocab_size * TINY.d_model + TINY.vocab_size
    )
    x = random_tokens((2, 5))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tied.to_logits(tf.ones((1, TINY.d_model))))  # the head alone
    grad = tape.gradient(loss, tied.token_embedding.embeddings)
    assert grad is not None and np.allclose(grad, 1.0)  # d(sum h E^T)/dE = 1 for h = 1
    assert tied(x).shape == (2, 5, TINY.vocab_size)


# --------------------------------------------------------------------------- the model
def test_logits_are_float32_with_shape_batch_time_vocab(tiny):
    logits = tiny(random_tokens((3, 7)))
    assert logits.shape == (3, 7, TINY.vocab_size) and logits.dtype == tf.float32


def test_changing_a_future_token_never_changes_earlier_logits(tiny):
    x = random_tokens((2, TINY.context_length))
    base = tiny(x).numpy()
    for t in (0, 5, TINY.context_length - 1):
        changed = x.copy()
        changed[:, t] = (changed[:, t] + 1) % TINY.vocab_size
        new = tiny(changed).numpy()
        np.testing.assert_allclose(new[:, :t], base[:, :t], atol=1e-6)
        assert (
            np.abs(new[:, t] - base[:, t]).max() > 1e-4
        )  # the changed position itself does change


def test_wrong_tokens_raise_clear_errors(tiny):
    with pytest.raises(ValueError, match=r"ids in 0\.\.10"):
        tiny(np.array([[1, 11]]))
    with pytest.raises(ValueError, match=r"ids in 0\.\.10"):
        tiny(np.array([[-1, 2]]))
    with pytest.raises(ValueError, match="context length is 12"):
        tiny(random_tokens((1, 13)))
    with pytest.raises(ValueError, match=r"\(B, T\).*batch axis"):
        tiny(random_tokens((5,)))
    with pytest.raises(TypeError, match="integer token ids"):
        tiny(np.zeros((1, 3), np.float32))


@pytest.mark.parametrize(
    ("prompt", "kwargs", "error", "message"),
    [
        ([], {}, ValueError, "prompt_tokens is empty"),
        (np.zeros((2, 0), np.int32), {}, ValueError, "prompt_tokens is empty"),
        ([[1, 2], [3]], {}, ValueError, "rectangular"),
        (np.array([True, False]), {}, TypeError, "integer token ids, got dtype bool"),
        ([1.0, 2.0], {}, TypeError, "integer token ids"),
        ([1, 11], {}, ValueError, r"ids in 0\.\.10"),
        (np.ones((1, 2, 3), np.int32), {}, ValueError, r"shape \(B, T\)"),
        (7, {}, ValueError, r"shape \(B, T\)"),
        ([1, 2], {"max_new_tokens": -1}, ValueError, "max_new_tokens must be an integer >= 0"),
        ([1, 2], {"max_new_tokens": True}, TypeError, "max_new_tokens must be an integer"),
        ([1, 2], {"max_new_tokens": 2.5}, TypeError, "max_new_tokens must be an integer"),
        ([1, 2], {"temperature": -0.5}, ValueError, "temperature must be >= 0"),
        ([1, 2], {"temperature": float("nan")}, ValueError, "temperature must be a finite"),
        ([1, 2], {"temperature": True}, TypeError, "temperature must be a real number"),
        ([1, 2], {"top_k": 0}, ValueError, "top_k must be an integer >= 1"),
        ([1, 2], {"top_k": 2.0}, TypeError, "top_k must be an integer"),
        ([1, 2], {"top_p": 0.0}, ValueError, r"top_p must be in \(0, 1\]"),
        ([1, 2], {"top_p": 1.5}, ValueError, r"top_p must be in \(0, 1\]"),
        ([1, 2], {"seed": -1}, ValueError, "seed must be an integer >= 0"),
        ([1, 2], {"seed": False}, TypeError, "seed must be an integer"),
    ],
)
def test_generate_rejects_bad_inputs_naming_the_argument(tiny, prompt, kwargs, error, message):
    kwargs = {"max_new_tokens": 3, **kwargs}
    with pytest.raises(error, match=message):
        generate(tiny, prompt, jit_compile=False, **kwargs)


def test_generate_refuses_to_sample_from_nan_logits():
    keras.utils.set_random_seed(0)
    model = GPT(TINY)
    model.token_embedding.embeddings.assign(
        tf.fill(model.token_embedding.embeddings.shape, float("nan"))
    )
    for use_cache in (True, False):
        with pytest.raises(ValueError, match="NaN or \\+inf logits"):
            generate(model, [1, 2], 3, use_cache=use_cache, jit_compile=False)


# --------------------------------------------------------------------------- key/value cache
@pytest.mark.parametrize("prompt_length", [1, 5, TINY.context_length])
def test_cached_logits_equal_full_recomputation_within_the_context(tiny, prompt_length):
    x = random_tokens((2, TINY.context_length), seed=prompt_length)
    np.testing.assert_allclose(
        incremental_logits(tiny, x, prompt_length, jit_compile=False), tiny(x), atol=1e-4
    )


def test_greedy_tokens_and_step_logits_are_identical_with_and_without_cache_under_xla(tiny):
    prompt, n_new = random_tokens((2, 4), seed=1), TINY.context_length - 4
    cached, cached_logits = generate(tiny, prompt, n_new, temperature=0, return_logits=True)
    full, full_logits = generate(
        tiny, prompt, n_new, temperature=0, use_cache=False, return_logits=True
    )
    assert cached.shape == (2, TINY.context_length) and np.array_equal(cached[:, :4], prompt)
    np.testing.assert_array_equal(cached, full)
    recomputed = tiny(cached).numpy()[:, 3:-1]  # logits that predicted tokens 4..C-1
    np.testing.assert_allclose(cached_logits, recomputed, atol=1e-4)
    np.testing.assert_allclose(full_logits, recomputed, atol=1e-4)
    np.testing.assert_array_equal(cached[:, 4:], np.argmax(cached_logits, axis=-1))


@pytest.mark.parametrize(
    "prompt_length, jit_compile", [(3, True), (TINY.context_length + 2, False)]
)
def test_beyond_the_context_the_cache_refills_with_the_last_half_context_as_documented(
    tiny, prompt_length, jit_compile
):
    C, keep = TINY.context_length, TINY.context_length // 2
    x = random_tokens((2, 3 * C), seed=2)
    got = incremental_logits(tiny, x, prompt_length, jit_compile=jit_compile).numpy()
    filled = min(prompt_length, C)  # replay the policy: the prompt's last C tokens are prefilled
    np.testing.assert_allclose(
        got[:, prompt_length - filled : prompt_length],
        tiny(x[:, prompt_length - filled : prompt_length]),
        atol=1e-4,
    )
    assert not got[:, : prompt_length - filled].any()  # prompt rows the model never computed
    for t in range(prompt_length, x.shape[1]):
        filled = keep if filled == C else filled + 1  # full cache: keep the last C // 2 tokens
        expected = tiny(x[:, t + 1 - filled : t + 1]).numpy()[:, -1]  # the model on that window
        np.testing.assert_allclose(
            got[:, t], expected, atol=1e-4, err_msg=f"position {t}, window {filled}"
        )


def test_generation_past_the_context_returns_every_token_with_and_without_cache(tiny):
    prompt, n_new = random_tokens((1, 3), seed=3), 2 * TINY.context_length
    for use_cache in (True, False):
        out = generate(
            tiny,
            prompt[0],
            n_new,
            temperature=0.8,
            top_k=5,
            seed=4,
            use_cache=use_cache,
            jit_compile=False,
        )
        assert out.shape == (1, 3 + n_new) and out.dtype == tf.int32
        assert (
            np.array_equal(out[:, :3], prompt)
            and np.min(out) >= 0
            and np.max(out) < TINY.vocab_size
        )
    # Until the window first slides (C tokens in all), both loops see the same logits, so the
    # same seeds draw the same tokens.
    a = generate(tiny, prompt, n_new, temperature=1.0, seed=7, jit_compile=False)
    b = generate(tiny, prompt, n_new, temperature=1.0, seed=7, use_cache=False, jit_compile=False)
    np.testing.assert_array_equal(a[:, : TINY.context_length + 1], b[:, : TINY.context_length + 1])


def test_the_same_seed_gives_the_same_sample_and_another_seed_another(tiny):
    prompt = random_tokens((4, 2), seed=5)
    a, b = (generate(tiny, prompt, 8, seed=1, jit_compile=False) for _ in range(2))
    c = generate(tiny, prompt, 8, seed=2, jit_compile=False)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


# --------------------------------------------------------------------------- sampling
LOGITS = np.log(np.array([[0.5, 0.3, 0.15, 0.05]], np.float32))


def test_top_k_never_samples_outside_the_k_most_likely_tokens():
    logits = tf.constant(np.random.default_rng(0).normal(size=(1, 50)), tf.float32)
    top3 = set(np.argsort(-logits.numpy()[0])[:3])
    draws = sample_next(tf.tile(logits, [4000, 1]), temperature=2.0, top_k=3, seed=0).numpy()
    assert set(draws) == top3  # never outside, and every one of the 3 is drawn
    filtered = top_k_filter(logits, 3).numpy()[0]
    assert np.isfinite(filtered).sum() == 3 and np.all(
        filtered[list(top3)] == logits.numpy()[0, list(top3)]
    )


@pytest.mark.parametrize(
    "p, kept", [(0.4, [0]), (0.79, [0, 1]), (0.85, [0, 1, 2]), (1.0, [0, 1, 2, 3])]
)
def test_top_p_keeps_the_smallest_set_whose_probability_reaches_p(p, kept):
    # probabilities 0.5, 0.3, 0.15, 0.05: cumulative 0.5, 0.8, 0.95, 1.0
    filtered = top_p_filter(LOGITS, p).numpy()[0]
    assert list(np.flatnonzero(np.isfinite(filtered))) == kept


def test_samples_follow_the_softmax_probabilities():
    draws = sample_next(tf.tile(LOGITS, [20_000, 1]), seed=3).numpy()
    freq = np.bincount(draws, minlength=4) / draws.size
    se = np.sqrt(np.exp(LOGITS[0]) * (1 - np.exp(LOGITS[0])) / draws.size)
    assert np.all(np.abs(freq - np.exp(LOGITS[0])) < 5 * se), freq


def test_temperature_zero_is_the_argmax_and_a_small_temperature_approaches_it():
    logits = tf.constant(np.random.default_rng(1).normal(size=(64, 30)), tf.float32)
    argmax = np.argmax(logits, axis=-1)
    np.testing.assert_array_equal(sample_next(logits, temperature=0, top_p=0.5, seed=1), argmax)
    np.testing.assert_array_equal(sample_next(logits, temperature=1e-3, seed=1), argmax)
    np.testing.assert_allclose(apply_temperature(logits, 0.5), 2.0 * logits.numpy(), rtol=1e-6)


def test_sampler_settings_out_of_range_raise_clear_errors():
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        top_k_filter(LOGITS, 0)
    with pytest.raises(TypeError, match="k must be an integer"):
        top_k_filter(LOGITS, None)
    with pytest.raises(ValueError, match=r"top_p must be in \(0, 1\]"):
        top_p_filter(LOGITS, 0.0)
    with pytest.raises(ValueError, match=r"top_p must be in \(0, 1\]"):
        sample_next(LOGITS, top_p=1.5)
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        sample_next(LOGITS, temperature=-1.0)
    with pytest.raises(ValueError, match="greedy"):
        apply_temperature(LOGITS, 0)
    with pytest.raises(ValueError, match=r"\(B, V\)"):
        sample_next(LOGITS[0])
    with pytest.raises(TypeError, match="floating point"):
        sample_next(tf.constant([[1, 2, 3]]))
    with pytest.raises(ValueError, match="NaN"):
        sample_next(tf.constant([[0.0, float("nan"), 1.0]]))
    with pytest.raises(ValueError, match="-inf everywhere"):
        sample_next(tf.constant([[-np.inf, -np.inf]]))
    with pytest.raises(TypeError, match="seed must be an integer"):
        sample_next(LOGITS, seed=1.5)


# --------------------------------------------------------------------------- training
def test_loss_of_uniform_predictions_is_ln_vocab_size_nats():
    y = tf.constant(random_tokens((3, 5)))
    loss = next_token_loss(tf.zeros((3, 5, TINY.vocab_size)), y)
    assert loss.shape == (3,)
    np.testing.assert_allclose(loss, math.log(TINY.vocab_size), rtol=1e-6)


def test_optimizer_decays_matrices_but_not_biases_or_layer_norms():
    model = GPT(TINY)
    optimizer = make_optimizer(model, learning_rate=0.1, weight_decay=0.5)
    before = [v.numpy() for v in model.trainable_variables]
    optimizer.apply(
        [tf.zeros_like(v) for v in model.trainable_variables], model.trainable_variables
    )
    # zero gradient: only the decay moves weights
    for old, v in zip(before, model.trainable_variables, strict=True):
        factor = 1 - 0.1 * 0.5 if len(v.shape) == 2 else 1.0
        np.testing.assert_allclose(v.numpy(), factor * old, rtol=1e-6, err_msg=v.path)


def test_tiny_gpt_memorises_a_sentence_through_the_trainer_and_greedy_decoding_recites_it():
    text = "to be, or not to be: that is the question"
    chars = sorted(set(text))
    ids = np.array([chars.index(c) for c in text], np.int32)
    keras.utils.set_random_seed(0)
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():  # weights are created in __init__, so inside the scope
        model = GPT(
            GPTConfig(vocab_size=len(chars), context_length=48, n_layer=2, n_head=2, d_model=32)
        )
        task = make_task(model, keras.optimizers.Adam(1e-2))
    x, y = np.tile(ids[None, :-1], (4, 1)), np.tile(ids[None, 1:], (4, 1))  # y = x shifted by one
    data = tf.data.Dataset.from_tensors((x, y)).repeat()
    config = TrainConfig(steps=150, steps_per_execution=50, progress="none")
    history = Trainer(task, config, strategy).fit(data)
    final = evaluate(model, [(x, y)])
    assert history.steps() == [150]
    assert final["loss"] < 0.05 < history.records[0].train["loss"]
    assert final["bits_per_token"] == pytest.approx(final["loss"] / math.log(2))
    recited = generate(model, ids[:1], len(ids) - 1, temperature=0, jit_compile=False).numpy()[0]
    assert "".join(chars[i] for i in recited) == text


def test_mixed_float16_training_steps_run_and_logits_stay_float32():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = GPT(TINY)
        x = random_tokens((4, TINY.context_length + 1))
        data = tf.data.Dataset.from_tensors((x[:, :-1], x[:, 1:])).repeat()
        trainer = Trainer(
            make_task(model, keras.optimizers.Adam(1e-3)),
            TrainConfig(steps=3, steps_per_execution=3, progress="none"),
        )
        history = trainer.fit(data)
        assert type(trainer.optimizers[0]).__name__ == "LossScaleOptimizer"
        assert math.isfinite(history.records[0].train["loss"])
        assert model.compute_dtype == "float16" and model(x[:, :-1]).dtype == tf.float32
        assert all(v.dtype == "float32" for v in model.weights)
    finally:
        keras.mixed_precision.set_global_policy("float32")


# --------------------------------------------------------------------------- weighted batches
def test_weighted_loss_scores_only_positions_with_weight_one_and_evaluate_counts_tokens_not_rows():
    from course_lib.gpt import evaluate, lm_loss_fn, weighted_next_token_loss

    keras.utils.set_random_seed(3)
    model = GPT(GPTConfig(vocab_size=11, context_length=8, n_layer=1, n_head=2, d_model=16))
    rng = np.random.default_rng(0)
    x, y = (
        rng.integers(0, 11, (3, 8)).astype(np.int32),
        rng.integers(0, 11, (3, 8)).astype(np.int32),
    )
    w = np.zeros((3, 8), np.float32)
    w[0, 5:] = 1.0  # 3 scored positions in row 0, 8 in row 1, none in row 2
    w[1, :] = 1.0
    logits = model(x).numpy().astype(np.float64)
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    ce = -np.take_along_axis(log_p, y[..., None], -1)[..., 0]  # (3, 8) by hand
    per_row = weighted_next_token_loss(logits, y, w).numpy()
    np.testing.assert_allclose(per_row, [ce[0, 5:].mean(), ce[1].mean(), 0.0], rtol=1e-5)
    loss, _ = lm_loss_fn(model)((tf.constant(x), tf.constant(y), tf.constant(w)), False)
    np.testing.assert_allclose(loss.numpy(), per_row, rtol=1e-6)
    exact = evaluate(model, [(x, y, w)])["loss"]
    assert exact == pytest.approx(
        (ce[0, 5:].sum() + ce[1].sum()) / 11, rel=1e-5
    )  # 11 scored tokens
    with pytest.raises(ValueError, match="same shape"):
        lm_loss_fn(model)((tf.constant(x), tf.constant(y), tf.constant(w[:, :4])), False)


def numpy_token_cross_entropy(model, batches):
    """Sum and count of -log softmax(logits)[y] over scored positions, in float64 NumPy."""
    total, count = 0.0, 0.0
    for batch in batches:
        x, y = batch[0], batch[1]
        w = batch[2] if len(batch) == 3 else np.ones(x.shape)
        logits = model(x).numpy().astype(np.float64)  # (B, T, V)
        shifted = logits - logits.max(-1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
        ce = -np.take_along_axis(log_p, y[..., None], -1)[..., 0]  # (B, T)
        total += float((ce * w).sum())
        count += float(np.sum(w))
    return total, count


def test_evaluate_and_the_task_give_the_per_token_mean_of_an_independent_numpy_computation():
    keras.utils.set_random_seed(4)
    model = GPT(GPTConfig(vocab_size=13, context_length=8, n_layer=1, n_head=2, d_model=16))
    rng = np.random.default_rng(1)
    batches = []
    for rows in (3, 2, 4):  # batches of different sizes, rows with different weights
        x = rng.integers(0, 13, (rows, 8)).astype(np.int32)
        y = rng.integers(0, 13, (rows, 8)).astype(np.int32)
        w = (rng.random((rows, 8)) < 0.6).astype(np.float32)
        batches.append((x, y, w))
    total, count = numpy_token_cross_entropy(model, batches)
    result = evaluate(model, batches)
    assert result["loss"] == pytest.approx(total / count, rel=1e-5)
    assert result["bits_per_token"] == pytest.approx(total / count / math.log(2), rel=1e-5)
    # the task hands the loop (sum, count) per batch, which it adds up
    task = make_task(model, keras.optimizers.Adam(1e-3))
    sums = [task.evaluate(tuple(tf.constant(a) for a in b)) for b in batches]
    assert all(isinstance(v["loss"], tuple) and len(v["loss"]) == 2 for v in sums)
    loss_sum = sum(float(v["loss"][0]) for v in sums)
    loss_count = sum(float(v["loss"][1]) for v in sums)
    assert loss_count == count
    assert loss_sum == pytest.approx(total, rel=1e-5)
    bits_sum = sum(float(v["bits_per_token"][0]) for v in sums)
    assert bits_sum == pytest.approx(total / math.log(2), rel=1e-5)
    # unweighted batches score every position
    plain = [(b[0], b[1]) for b in batches]
    total, count = numpy_token_cross_entropy(model, plain)
    assert count == 9 * 8
    assert evaluate(model, plain)["loss"] == pytest.approx(total / count, rel=1e-5)
    with pytest.raises(ValueError, match="no batches"):
        evaluate(model, [])


def test_trainer_validation_is_the_per_token_mean_of_an_independent_numpy_computation():
    keras.utils.set_random_seed(5)
    model = GPT(GPTConfig(vocab_size=13, context_length=8, n_layer=1, n_head=2, d_model=16))
    rng = np.random.default_rng(2)
    n = 7  # rows, batched 3 + 3 + 1: unequal batches, rows with 0..8 scored positions
    x = rng.integers(0, 13, (n, 8)).astype(np.int32)
    y = rng.integers(0, 13, (n, 8)).astype(np.int32)
    w = (np.arange(8)[None, :] < rng.integers(0, 9, (n, 1))).astype(np.float32)
    w[0] = 1.0
    val = tf.data.Dataset.from_tensor_slices((x, y, w)).batch(3)
    trainer = Trainer(
        make_task(model, keras.optimizers.Adam(1e-3)), TrainConfig(steps=1, progress="none")
    )
    total, count = numpy_token_cross_entropy(model, [(x, y, w)])
    result = trainer.evaluate(val)
    assert result["loss"] == pytest.approx(total / count, rel=1e-5)
    assert result["bits_per_token"] == pytest.approx(total / count / math.log(2), rel=1e-5)
    # the mean of per-row means (what a per-example average would give) is another number
    per_row = [
        numpy_token_cross_entropy(model, [(x[i : i + 1], y[i : i + 1], w[i : i + 1])])
        for i in range(n)
        if w[i].sum()
    ]
    assert abs(np.mean([t / c for t, c in per_row]) - total / count) > 1e-4


# ------------------------------------------------------------------- batched greedy completions
def test_greedy_completions_of_prompts_of_different_lengths_equal_generate_row_by_row(tiny):
    """... until the stop token."""
    from course_lib.gpt import greedy_completions

    n_new = 6
    prompts = [
        random_tokens((n,), seed=10 + n) for n in (1, 6, 3, 2, 4)
    ]  # different lengths, right-padded
    reference = [
        generate(tiny, p, n_new, temperature=0, jit_compile=False).numpy()[0, len(p) :]
        for p in prompts
    ]
    stop = int(reference[0][3])  # a token row 0 emits 4th: rows stop at once, midway, or never
    expected = [r[: list(r).index(stop)] if stop in r else r for r in reference]
    lengths = [len(e) for e in expected]
    assert 0 in lengths and n_new in lengths and any(0 < n < n_new for n in lengths), lengths
    for jit_compile, batch_size in (
        (True, 256),
        (False, 2),
    ):  # one group, and groups of 2 with a filler row
        got = greedy_completions(
            tiny,
            prompts,
            stop_token=stop,
            max_new_tokens=n_new,
            batch_size=batch_size,
            jit_compile=jit_compile,
        )
        assert len(got) == len(prompts)
        for g, e in zip(got, expected, strict=True):
            assert g.dtype == np.int32 and g.ndim == 1
            np.testing.assert_array_equal(g, e)
    assert greedy_completions(tiny, [], stop_token=0, max_new_tokens=3) == []
    assert [len(g) for g in greedy_completions(tiny, prompts[:2], 0, 0)] == [0, 0]


def test_greedy_completions_raise_clear_errors_for_too_long_empty_or_bad_prompts(tiny):
    from course_lib.gpt import greedy_completions

    C = TINY.context_length
    with pytest.raises(ValueError, match=r"prompts\[1\] has 10 tokens.*context length 12"):
        greedy_completions(
            tiny, [np.array([1, 2]), random_tokens((10,))], stop_token=0, max_new_tokens=3
        )
    greedy_completions(
        tiny, [random_tokens((C - 3,))], stop_token=0, max_new_tokens=3
    )  # exactly C: fine
    with pytest.raises(ValueError, match="non-empty 1-D"):
        greedy_completions(tiny, [np.array([], np.int32)], stop_token=0, max_new_tokens=2)
    with pytest.raises(ValueError, match="non-empty 1-D"):
        greedy_completions(tiny, [random_tokens((2, 3))], stop_token=0, max_new_tokens=2)
    with pytest.raises(ValueError, match="stop_token must be an integer >= 0 and <= 10"):
        greedy_completions(tiny, [np.array([1])], stop_token=TINY.vocab_size, max_new_tokens=2)
    with pytest.raises(ValueError, match="max_new_tokens must be an integer >= 0"):
        greedy_completions(tiny, [np.array([1])], stop_token=0, max_new_tokens=-1)
    with pytest.raises(ValueError, match=r"ids in 0\.\.10"):
        greedy_completions(tiny, [np.array([1, 99])], stop_token=0, max_new_tokens=2)


# --------------------------------------------------------------------------- weight tying
def test_tied_output_layer_gives_a_never_seen_token_a_gradient_but_unused_positions_none(tiny):
    """Chapter 6, part 2: a character that is never an input nor a target still has its
    embedding row trained through the tied output layer; position rows beyond the trained
    length get no gradient."""
    x = random_tokens((4, 8), vocab_size=TINY.vocab_size - 1)  # token V-1 never occurs ...
    y = random_tokens(
        (4, 8), vocab_size=TINY.vocab_size - 1, seed=1
    )  # ... neither as input nor as target
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(next_token_loss(tiny(x), y))
    g_tok, g_pos = tape.gradient(
        loss, [tiny.token_embedding.embeddings, tiny.position_embedding.embeddings]
    )
    g_tok, g_pos = tf.convert_to_tensor(g_tok).numpy(), tf.convert_to_tensor(g_pos).numpy()
    assert np.linalg.norm(g_tok[TINY.vocab_size - 1]) > 1e-6  # via logits = h E^T
    assert np.all(g_pos[8:] == 0) and np.all(
        np.linalg.norm(g_pos[:8], axis=1) > 0
    )  # positions 8..C-1 unused


# ------------------------------------------------------------------------ the benchmark's recipes
def test_benchmark_course_recipe_is_the_student_recipe_of_chapter_6_part_1():
    """benchmarks/gpt_shakespeare.py --recipes course must train exactly what 06/01 calls the
    course recipe."""
    import importlib.util
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location(
        "gpt_shakespeare", root / "benchmarks" / "gpt_shakespeare.py"
    )
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # dataclasses look their module up there
    spec.loader.exec_module(bench)
    from course_lib.recipes import gpt as gpt_recipe
    from course_lib.runtime import PROFILES

    # 06/01 builds its GPT and its run from course_lib.recipes.gpt, so the benchmark's course
    # recipe must be that recipe's student sizes.
    student = gpt_recipe.sizes(PROFILES["student"])
    course = bench.RECIPES["course"]
    assert (course.batch_size, course.steps, course.learning_rate, course.warmup_steps) == (
        student.batch_size,
        student.steps,
        student.learning_rate,
        student.warmup_steps,
    )
    assert course.min_learning_rate_ratio == student.final_lr_fraction == 0.1
    assert bench.RECIPES["nanogpt"] == bench.Recipe(
        batch_size=12, steps=2000, learning_rate=1e-3
    )  # nanoGPT's README
