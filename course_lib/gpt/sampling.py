"""Choosing the next token from logits: temperature, top-k, nucleus (top-p), and the draw.

All functions take ``logits`` ``(B, V)`` (one row per sequence) and are pure: the draw is
*stateless*, a function of ``seed`` only, so the same seed gives the same tokens.

* temperature ``tau``: sample from ``softmax(logits / tau)``; ``tau -> 0`` concentrates all
  mass on the argmax (``tau = 0`` *is* the argmax: greedy decoding), ``tau > 1`` flattens.
* top-k: keep the ``k`` largest logits, set the rest to ``-inf`` (probability 0).
* top-p (nucleus, Holtzman et al. 2020): sort the probabilities ``p_(1) >= p_(2) >= ...``
  and keep the smallest prefix whose mass reaches ``p``: tokens ``1..m`` with
  ``m = min{m : p_(1) + ... + p_(m) >= p}``. The most likely token is always kept.

Order (as in Hugging Face's samplers): temperature, then top-k, then top-p on what top-k
left. Tokens tied with the last kept logit are kept too, so with ties a filter can keep
more than ``k`` tokens (or a little more mass than needed).

The draw uses the Gumbel-max trick: ``argmax_i (z_i + g_i)`` with ``g_i = -log(-log u_i)``,
``u_i ~ U(0, 1)`` i.i.d., is an exact sample of ``softmax(z)``; ``-inf`` logits are never
drawn. It needs only a uniform draw and an argmax, so it also compiles with XLA; the
uniforms come from the Philox generator, which gives the same numbers with and without XLA.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from course_lib.runtime.validation import check_int, check_real

INT32_MAX = int(np.iinfo(np.int32).max)


def _check_logits(logits) -> tf.Tensor:
    """``logits`` as float32 ``(B, V)``, or a clear error. Eager values are checked too: NaN
    or ``+inf`` is refused (the argmax of a NaN row is meaningless), and so is a row that is
    ``-inf`` everywhere (no token left to draw)."""
    logits = tf.convert_to_tensor(logits)
    if logits.shape.rank != 2:
        raise ValueError(
            f"logits must have shape (B, V), got {tuple(logits.shape)}"
            + (" (add a batch axis: logits[None])" if logits.shape.rank == 1 else "")
        )
    if not logits.dtype.is_floating:
        raise TypeError(f"logits must be floating point, got {logits.dtype.name}")
    logits = tf.cast(logits, tf.float32)
    if hasattr(logits, "numpy"):
        values = logits.numpy()
        if np.any(np.isnan(values) | (values == np.inf)):
            raise ValueError("logits contain NaN or +inf: no distribution to sample from")
        if values.size and np.any(np.all(values == -np.inf, axis=-1)):
            raise ValueError("a row of logits is -inf everywhere: no token has probability > 0")
    return logits


def check_temperature(temperature: float) -> float:
    """``temperature`` as a float ``>= 0`` (``0`` = greedy argmax), or a clear error."""
    return check_real("temperature", temperature, minimum=0.0)


def check_top_k(k: int | None) -> int | None:
    """``k`` as an int ``>= 1`` or ``None`` (no top-k), or a clear error."""
    return None if k is None else check_int("top_k", k, minimum=1, maximum=INT32_MAX)


def check_top_p(p: float | None) -> float | None:
    """``p`` as a float in ``(0, 1]`` or ``None`` (no nucleus filter), or a clear error."""
    if p is None:
        return None
    p = check_real("top_p", p, minimum=0.0)
    if p == 0.0 or p > 1.0:
        raise ValueError(f"top_p must be in (0, 1] (1 keeps every token), got {p}")
    return p


def apply_temperature(logits, temperature: float) -> tf.Tensor:
    """``logits / temperature`` ``(B, V)``, float32; ``temperature`` must be ``> 0`` (for
    ``0``, greedy decoding, use :func:`sample_next`, which takes the argmax)."""
    if check_temperature(temperature) == 0:
        raise ValueError(
            "temperature 0 means greedy decoding (argmax), which has no scaled logits: "
            "use sample_next(logits, temperature=0)"
        )
    return _check_logits(logits) / temperature


def filter_logits(logits: tf.Tensor, top_k: tf.Tensor, top_p: tf.Tensor) -> tf.Tensor:
    """Top-k, then top-p, on ``logits (B, V)`` float32 with *tensor* settings (``top_k`` int32
    ``>= 1``, values ``>= V`` keep all; ``top_p`` in ``(0, 1]``, ``1`` keeps all). One sort
    serves both filters; the kept set is every logit ``>=`` the last kept one, so no scatter
    back to vocabulary order is needed. Unchecked: the building block of the compiled loop."""
    V = tf.shape(logits)[-1]
    ranked = tf.sort(logits, axis=-1, direction="DESCENDING")  # (B, V), largest first
    in_top_k = tf.range(V) < tf.minimum(top_k, V)  # (V,)
    # (B, V), renormalised over top-k
    probs = tf.nn.softmax(tf.where(in_top_k, ranked, -np.inf), axis=-1)
    mass_before = tf.math.cumsum(probs, axis=-1, exclusive=True)  # (B, V): p_(1) + ... + p_(i-1)
    keep = in_top_k & ((mass_before < top_p) | (top_p >= 1.0))  # (B, V); rank 1 always kept
    n_keep = tf.reduce_sum(tf.cast(keep, tf.int32), axis=-1)  # (B,), >= 1
    # (B, 1): last kept logit
    threshold = tf.gather(ranked, n_keep - 1, axis=-1, batch_dims=1)[:, None]
    return tf.where(logits < threshold, -np.inf, logits)  # (B, V)


def top_k_filter(logits, k: int) -> tf.Tensor:
    """Keep the ``k`` largest logits of each row (ties with the ``k``-th are kept), the rest
    ``-inf``: ``(B, V) -> (B, V)``. ``k >= V`` keeps everything."""
    k = check_int("k", k, minimum=1, maximum=INT32_MAX)
    return filter_logits(_check_logits(logits), tf.constant(k, tf.int32), tf.constant(1.0))


def top_p_filter(logits, p: float) -> tf.Tensor:
    """Keep the smallest set of most likely tokens whose probability ``softmax(logits)``
    sums to ``>= p`` (always at least the most likely one), the rest ``-inf``:
    ``(B, V) -> (B, V)``. ``p = 1`` keeps everything."""
    if p is None:
        raise TypeError("p must be a number in (0, 1], got None")
    p = check_top_p(p)
    logits = _check_logits(logits)
    return filter_logits(logits, tf.shape(logits)[-1], tf.constant(p, tf.float32))


def _seed_pair(seed) -> tf.Tensor:
    if not tf.is_tensor(seed) and not isinstance(seed, np.ndarray):
        return tf.constant([check_int("seed", seed, minimum=0), 0], tf.int64)
    seed = tf.convert_to_tensor(seed)
    if seed.shape != (2,) or not seed.dtype.is_integer:
        raise ValueError(f"seed must be an int >= 0 or a (2,) int tensor, got {seed!r}")
    return tf.cast(seed, tf.int64)


def draw(
    logits: tf.Tensor, temperature: tf.Tensor, top_k: tf.Tensor, top_p: tf.Tensor, seed: tf.Tensor
) -> tf.Tensor:
    """The unchecked sampler (tensor arguments, compiles with XLA): ``logits (B, V)`` float32
    -> tokens ``(B,)`` int32. ``temperature == 0`` returns the argmax; otherwise Gumbel-max
    on ``filter_logits(logits / temperature)`` with noise from ``seed`` (``(2,)`` int)."""
    greedy = tf.argmax(logits, axis=-1, output_type=tf.int32)  # (B,)
    tau = tf.where(temperature > 0, temperature, 1.0)  # avoid 0/0 on the unused branch
    z = filter_logits(logits / tau, top_k, top_p)  # (B, V)
    tiny = np.finfo(np.float32).tiny
    # (B, V), u in (0, 1)
    u = tf.random.stateless_uniform(tf.shape(z), seed=seed, minval=tiny, maxval=1.0, alg="philox")
    sampled = tf.argmax(z - tf.math.log(-tf.math.log(u)), axis=-1, output_type=tf.int32)  # (B,)
    return tf.where(temperature > 0, sampled, greedy)


def sample_next(
    logits, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None, seed=0
) -> tf.Tensor:
    """One token per row of ``logits (B, V)``: tokens ``(B,)`` int32.

    ``temperature = 0`` is greedy decoding (argmax; ``top_k`` and ``top_p`` then change
    nothing). Otherwise a draw from ``softmax(filtered(logits / temperature))``, with
    ``top_k`` (``None``: off) and ``top_p`` (``None``: off) as in :func:`top_k_filter` and
    :func:`top_p_filter`. ``seed`` is an int or a ``(2,)`` int tensor; the same seed gives the
    same tokens.
    """
    logits = _check_logits(logits)
    temperature, top_k, top_p = (
        check_temperature(temperature),
        check_top_k(top_k),
        check_top_p(top_p),
    )
    return draw(
        logits,
        tf.constant(temperature, tf.float32),
        tf.constant(top_k if top_k is not None else INT32_MAX, tf.int32),
        tf.constant(1.0 if top_p is None else top_p, tf.float32),
        _seed_pair(seed),
    )
