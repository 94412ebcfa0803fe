"""Autoregressive generation, with and without a key/value cache, in one compiled loop.

Both paths use the same sampler (:func:`~course_lib.gpt.sampling.draw`) with the
seed ``(seed, i)`` for new token ``i``, so with equal logits they draw equal tokens.

* ``use_cache=False`` (nanoGPT's loop): for every new token, run the whole model on the
  last ``min(n, C)`` of the ``n`` tokens so far and take the last position's logits:
  ``O(n)`` projections and ``O(n^2)`` attention per token.
* ``use_cache=True``: *prefill* the last ``min(T_0, C)`` prompt tokens once, keeping every
  layer's keys and values in caches ``(B, L, H, C, d_head)``; then each new token runs
  through the model alone (``O(1)`` projections), attending to the cached keys and values
  (``O(C)``). Within the context window its logits equal the full recomputation's.

**Beyond the context window** (more than ``C`` tokens in total) the two differ, by design:
without the cache the model always reads the last ``C`` tokens (positions ``0..C-1``);
with the cache, when all ``C`` slots are full the cache is rebuilt by prefilling the last
``keep = max(1, C // 2)`` tokens (the newest included, at positions ``0..keep-1``) and
decoding continues from there. So the cached model reads a window of the last
``keep..C`` tokens, which slides by ``C - keep`` tokens at a time; it costs one prefill
every ``C - keep + 1`` tokens instead of a full model run for every token.

The whole loop (prefill, ``max_new_tokens`` draws, every model step) is one
``tf.function`` compiled by XLA (``jit_compile=True``): fixed shapes, a preallocated cache
updated in place, the position as a tensor, unfilled cache slots masked; the refills are an
outer loop around the decoding loop (in the graph only if the sequence can outgrow ``C``).
It is traced and compiled once per ``(B, T_0, max_new_tokens, use_cache, return_logits)``
(a few seconds); later calls with those shapes, at any temperature, top-k, top-p or seed,
reuse it. Under XLA the uncached loop runs a fixed window of
``min(T_0 + max_new_tokens - 1, C)`` positions (padding after the newest token, which
causality keeps out of its logits); without XLA it runs exactly ``min(n, C)`` positions.
XLA draws other random numbers than TensorFlow's kernels, so the same seed gives other
tokens with ``jit_compile=False`` (each setting on its own is reproducible).

:func:`greedy_completions` decodes many prompts of *different* lengths greedily, in one
right-padded batch and without a cache (its docstring says why the padding is harmless).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from course_lib.gpt.model import GPT, check_tokens
from course_lib.gpt.sampling import INT32_MAX, check_temperature, check_top_k, check_top_p, draw
from course_lib.runtime.validation import check_int


def _compiled(model: GPT, name: str, builder: Callable, jit_compile: bool) -> Callable:
    """A ``tf.function`` kept on the model (outside Keras' attribute tracking), built once."""
    cache = model.__dict__.setdefault("_course_compiled_fns", {})
    key = (name, jit_compile)
    if key not in cache:
        cache[key] = tf.function(
            builder(model, jit_compile), jit_compile=jit_compile, autograph=False
        )
    return cache[key]


Emit = Callable[[object, tf.Tensor, tf.Tensor, object], tuple[tf.Tensor, object]]


def _feed_cached(model: GPT, buffer: tf.Tensor, start: int, stop: int, emit: Emit, carry):
    """The cached pass over ``buffer (B, S)``: prefill the last ``min(start, C)`` of tokens
    ``0..start-1``, then feed tokens ``start..stop-1`` one at a time. After the model has
    read position ``n`` (the prefill's last, then each fed token) it calls
    ``emit(n, features at n (B, d), buffer, carry) -> (buffer, carry)``, which may write
    token ``n + 1`` into ``buffer`` before it is fed. Returns ``(prefill features, buffer, carry)``.

    An inner loop decodes while cache slots are free; an outer loop (in the graph only if
    ``stop > C``) rebuilds a full cache from the last ``keep`` tokens and decodes on. Two
    nested loops instead of a ``tf.cond`` per token, which under XLA would copy the caches.
    """
    C = model.cfg.context_length
    keep = max(1, C // 2)
    w0 = min(start, C)
    # (B, w0, d), caches (B, L, H, C, d_head)
    h0, k_cache, v_cache = model.prefill(buffer[:, start - w0 : start])
    buffer, carry = emit(start - 1, h0[:, -1], buffer, carry)

    def decode(n, buffer, carry, k_cache, v_cache, filled):
        def body(n, buffer, carry, k_cache, v_cache, filled):
            # (B, d)
            h, k_cache, v_cache = model.decode_step(buffer[:, n], k_cache, v_cache, filled)
            buffer, carry = emit(n, h, buffer, carry)
            return n + 1, buffer, carry, k_cache, v_cache, filled + 1

        return tf.while_loop(
            lambda n, *state: (n < stop) & (state[-1] < C),
            body,
            (n, buffer, carry, k_cache, v_cache, filled),
        )

    state = decode(tf.constant(start), buffer, carry, k_cache, v_cache, tf.constant(w0))
    if stop > C:  # the cache can fill up: rebuild it from the newest `keep` tokens, go on

        def rebuild(n, buffer, carry, k_cache, v_cache, filled):
            # (B, keep, d)
            h, k_cache, v_cache = model.prefill(tf.slice(buffer, [0, n + 1 - keep], [-1, keep]))
            buffer, carry = emit(n, h[:, -1], buffer, carry)
            return decode(n + 1, buffer, carry, k_cache, v_cache, tf.constant(keep))

        state = tf.while_loop(lambda n, *_: n < stop, rebuild, state)
    return h0, state[1], state[2]


def _uncached_features(
    model: GPT, buffer: tf.Tensor, n: tf.Tensor, window: int | None
) -> tf.Tensor:
    """Features ``(B, d)`` at position ``n`` from the model run on the last ``min(n + 1, C)``
    tokens ``..n``; ``window`` (static, for XLA) pads the run to a fixed length, else it is
    exact."""
    start = tf.maximum(0, n + 1 - model.cfg.context_length)
    size = window if window is not None else n + 1 - start
    h = model.features(tf.slice(buffer, [0, start], [-1, size]))  # (B, size, d)
    return h[:, n - start]  # (B, d)


def _build_loop(model: GPT, jit_compile: bool):
    cfg = model.cfg

    def loop(
        prompt,
        max_new_tokens: int,
        use_cache: bool,
        return_logits: bool,
        temperature,
        top_k,
        top_p,
        seed,
    ):
        B, t0 = tf.shape(prompt)[0], prompt.shape[1]
        total = t0 + max_new_tokens
        # (B, T_0 + N)
        buffer = tf.pad(prompt, [[0, 0], [0, max_new_tokens]])
        # (B, N, V)
        all_logits = tf.zeros([B, max_new_tokens if return_logits else 0, cfg.vocab_size])
        # carry: the logits so far and whether any of them was NaN or +inf
        carry = (all_logits, tf.constant(False))
        rows = tf.range(B)

        def emit(n, h, buffer, carry):
            # features at position n -> draw token n + 1
            all_logits, nonfinite = carry
            i = n + 1 - t0  # index of the new token
            logits = model.to_logits(h)  # (B, V)
            bad = tf.math.is_nan(logits) | tf.equal(logits, np.inf)
            nonfinite = nonfinite | tf.reduce_any(bad)
            token_seed = tf.stack([seed, tf.cast(i, tf.int64)])
            token = draw(logits, temperature, top_k, top_p, token_seed)  # (B,)
            where = tf.stack([rows, tf.fill([B], n + 1)], -1)
            buffer = tf.tensor_scatter_nd_update(buffer, where, token)
            if return_logits:
                at = tf.stack([rows, tf.fill([B], i)], -1)
                all_logits = tf.tensor_scatter_nd_update(all_logits, at, logits)
            return buffer, (all_logits, nonfinite)

        if use_cache:
            _, buffer, carry = _feed_cached(model, buffer, t0, total - 1, emit, carry)
            return buffer, carry
        window = min(total - 1, cfg.context_length) if jit_compile else None
        first = _uncached_features(model, buffer, tf.constant(t0 - 1), window)
        buffer, carry = emit(t0 - 1, first, buffer, carry)

        def body(n, buffer, carry):
            features = _uncached_features(model, buffer, n, window)
            return (n + 1, *emit(n, features, buffer, carry))

        _, buffer, carry = tf.while_loop(
            lambda n, *_: n < total - 1, body, (tf.constant(t0), buffer, carry)
        )
        return buffer, carry

    return loop


def _as_batch(tokens, model: GPT, name: str) -> tf.Tensor:
    """``tokens`` ``(T,)`` or ``(B, T)`` as an int32 batch ``(B, T)`` with ``T >= 1``."""
    if not tf.is_tensor(tokens):
        try:
            tokens = np.asarray(tokens)
        except ValueError as error:
            raise ValueError(
                f"{name} must be a rectangular array of token ids (rows of equal length): {error}"
            ) from None
        if tokens.dtype == object:
            raise ValueError(f"{name} must be a rectangular array of token ids, got ragged rows")
    shape = tuple(tokens.shape)
    if len(shape) in (1, 2) and shape[-1] == 0:
        raise ValueError(
            f"{name} is empty (shape {shape}): generation continues a prompt, so it needs at "
            "least one token (start from a newline id, for instance)"
        )
    if len(shape) == 1:
        tokens = tokens[None]
    check_tokens(tokens, model.cfg, name, max_length=INT32_MAX)
    return tf.cast(tokens, tf.int32)


def generate(
    model: GPT,
    prompt_tokens,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int = 0,
    use_cache: bool = True,
    return_logits: bool = False,
    jit_compile: bool = True,
):
    """Continue ``prompt_tokens`` ``(B, T_0)`` (or ``(T_0,)``, taken as ``B = 1``) by
    ``max_new_tokens`` tokens: returns tokens ``(B, T_0 + max_new_tokens)`` int32, the prompt first.

    Token ``i`` is drawn by :func:`~course_lib.gpt.sampling.sample_next` from the
    logits of the last position (``temperature = 0``: greedy) with seed ``(seed, i)``.
    ``use_cache`` picks the loop (see the module docstring, also for sequences longer than
    the context length). ``return_logits=True`` also returns the logits each token was drawn
    from, ``(B, max_new_tokens, V)`` float32. The prompt may be longer than ``C`` (only its
    last ``C`` tokens are read).

    Raises ``ValueError`` for an empty prompt, token ids outside ``0..V-1``, a prompt of rank
    other than 1 or 2, settings out of range (``temperature < 0``, ``top_k < 1``, ``top_p``
    outside ``(0, 1]``, a negative seed or ``max_new_tokens``), and when the model's logits
    are NaN or ``+inf`` (the tokens would be meaningless); ``TypeError`` for non-integer ids
    or settings (``bool`` included).
    """
    prompt = _as_batch(prompt_tokens, model, "prompt_tokens")
    max_new_tokens = check_int("max_new_tokens", max_new_tokens, minimum=0)
    temperature = check_temperature(temperature)
    top_k = check_top_k(top_k)
    top_p = check_top_p(top_p)
    seed = check_int("seed", seed, minimum=0)
    if max_new_tokens == 0:
        empty = tf.zeros([prompt.shape[0], 0, model.cfg.vocab_size])
        return (prompt, empty) if return_logits else prompt
    loop = _compiled(model, "generate", _build_loop, jit_compile)
    tokens, (logits, nonfinite) = loop(
        prompt,
        int(max_new_tokens),
        bool(use_cache),
        bool(return_logits),
        tf.constant(temperature, tf.float32),
        tf.constant(top_k if top_k is not None else INT32_MAX, tf.int32),
        tf.constant(1.0 if top_p is None else top_p, tf.float32),
        tf.constant(seed, tf.int64),
    )
    if bool(nonfinite):
        raise ValueError(
            "the model produced NaN or +inf logits (are its weights finite?): the sampled "
            "tokens would be meaningless"
        )
    return (tokens, logits) if return_logits else tokens


def _build_incremental(model: GPT, jit_compile: bool):
    def incremental(tokens, prompt_length: int):
        B, T = tf.shape(tokens)[0], tokens.shape[1]
        rows = tf.range(B)

        def emit(n, h, tokens, logits):  # logits of position n into row n
            return tokens, tf.tensor_scatter_nd_update(
                logits, tf.stack([rows, tf.fill([B], n)], -1), model.to_logits(h)
            )

        logits = tf.zeros([B, T, model.cfg.vocab_size])  # (B, T, V)
        h0, _, logits = _feed_cached(model, tokens, prompt_length, T, emit, logits)
        w0 = h0.shape[1]  # prompt rows the prefill computed; earlier ones stay 0
        prompt_rows = model.to_logits(h0[:, :-1])  # (B, w0 - 1, V)
        return tf.concat(
            [logits[:, : prompt_length - w0], prompt_rows, logits[:, prompt_length - 1 :]], axis=1
        )

    return incremental


def incremental_logits(
    model: GPT, tokens, prompt_length: int = 1, jit_compile: bool = True
) -> tf.Tensor:
    """Logits ``(B, T, V)`` of ``tokens (B, T)`` computed the way the cached generator does:
    the first ``prompt_length`` tokens by one prefill, then one token at a time through the
    key/value cache (teacher forcing: the given tokens, not sampled ones).

    For ``T <= C`` this equals ``model(tokens)`` up to float rounding: the check that the
    cache is right. Beyond ``C`` it follows the cached generator's sliding policy (module
    docstring). If ``prompt_length > C`` only its last ``C`` rows are computed, the earlier
    rows are zeros.
    """
    tokens = _as_batch(tokens, model, "tokens")
    T = tokens.shape[1]
    prompt_length = check_int("prompt_length", prompt_length, minimum=1, maximum=T)
    return _compiled(model, "incremental", _build_incremental, jit_compile)(
        tokens, int(prompt_length)
    )


def _build_greedy_step(model: GPT, jit_compile: bool):
    def step(buffer, lengths, done, stop_token):
        h = model.features(buffer)  # (B, T, d): one full pass over the right-padded buffer
        # (B, d): each row at its own last position
        h_last = tf.gather(h, lengths - 1, batch_dims=1)
        token = tf.argmax(model.to_logits(h_last), axis=-1, output_type=tf.int32)  # (B,) greedy
        # (B, 2)
        at = tf.stack([tf.range(tf.shape(buffer)[0]), tf.minimum(lengths, buffer.shape[1] - 1)], -1)
        buffer = tf.tensor_scatter_nd_update(
            buffer, at, tf.where(done, tf.gather_nd(buffer, at), token)
        )
        grow = tf.logical_and(tf.logical_not(done), tf.not_equal(token, stop_token))
        return (
            buffer,
            lengths + tf.cast(grow, tf.int32),
            tf.logical_or(done, tf.equal(token, stop_token)),
        )

    return step


def greedy_completions(
    model: GPT,
    prompts,
    stop_token: int,
    max_new_tokens: int,
    batch_size: int = 256,
    jit_compile: bool = True,
) -> list[np.ndarray]:
    """Greedy (argmax) continuations of many prompts of *different* lengths, in batches.

    ``prompts``: a list of 1-D int arrays (token ids). Returns one 1-D int32 array per prompt,
    in order: the new tokens up to, not including, the first ``stop_token``, or
    ``max_new_tokens`` tokens if it never comes. Row by row the tokens equal
    ``generate(model, prompt, max_new_tokens, temperature=0)`` cut before the first stop token.

    **How.** Each group of ``batch_size`` prompts is *right*-padded into one buffer
    ``(B, T)``, ``T = longest prompt + max_new_tokens``; ``lengths[b]`` counts row ``b``'s
    tokens. One step runs the whole model once on the buffer, reads each row's logits at its
    own last position ``lengths[b] - 1``, writes the argmax at ``lengths[b]`` and grows only the
    rows that have not stopped. The padding after a row's end cannot change that row's logits:
    the causal mask lets position ``t`` attend to positions ``<= t`` only, so what lies to its
    right is invisible (whatever the padding id). And every token keeps the position it would
    have alone (position embeddings are absolute), which left-padding would shift. The price:
    each step recomputes all ``T`` positions (no key/value cache), fine for short outputs.
    The step is a ``tf.function`` (XLA with ``jit_compile``) on a fixed buffer shape
    ``(min(batch_size, len(prompts)), T)``: traced once per shape, the last group filled with
    rows that start stopped. The loop ends early when every row of a group has stopped.

    Raises ``ValueError`` if a prompt is empty or not 1-D, if ``len(prompt) + max_new_tokens``
    exceeds the context length ``C``, or if ``stop_token`` is not a token id.
    """
    cfg = model.cfg
    max_new_tokens = check_int("max_new_tokens", max_new_tokens, minimum=0)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    stop_token = check_int("stop_token", stop_token, minimum=0, maximum=cfg.vocab_size - 1)
    rows = [np.asarray(p.numpy() if tf.is_tensor(p) else p) for p in prompts]
    for i, p in enumerate(rows):
        if p.ndim != 1 or p.size == 0:
            raise ValueError(
                f"prompts[{i}] must be a non-empty 1-D array of token ids, got shape {p.shape}"
            )
        check_tokens(p[None], cfg, f"prompts[{i}]")
        if p.size + max_new_tokens > cfg.context_length:
            raise ValueError(
                f"prompts[{i}] has {p.size} tokens; with max_new_tokens={max_new_tokens} that is "
                f"{p.size + max_new_tokens} positions, more than the context length "
                f"{cfg.context_length}: shorten the prompt or lower max_new_tokens"
            )
    if not rows or max_new_tokens == 0:
        return [np.zeros(0, np.int32) for _ in rows]
    B = min(batch_size, len(rows))
    T = max(p.size for p in rows) + max_new_tokens
    step = _compiled(model, "greedy_step", _build_greedy_step, jit_compile)
    stop = tf.constant(stop_token, tf.int32)
    out = []
    for first in range(0, len(rows), B):
        group = rows[first : first + B]
        buffer = np.zeros((B, T), np.int32)  # padding id 0: never seen by a real position
        lengths = np.ones(B, np.int32)
        for b, p in enumerate(group):
            buffer[b, : p.size], lengths[b] = p, p.size
        done = np.arange(B) >= len(group)  # filler rows of the last group start stopped
        buffer, lengths, done = tf.constant(buffer), tf.constant(lengths), tf.constant(done)
        for _ in range(max_new_tokens):
            buffer, lengths, done = step(buffer, lengths, done, stop)
            if bool(tf.reduce_all(done)):
                break
        buffer = buffer.numpy()
        lengths = lengths.numpy()
        out += [buffer[b, p.size : lengths[b]].copy() for b, p in enumerate(group)]
    return out
