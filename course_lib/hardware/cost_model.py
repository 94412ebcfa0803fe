"""What running an LLM costs, from its shape and two numbers of the hardware.

(How long *training* takes, ``6 N D`` over the FLOP/s a cluster achieves, is
:mod:`course_lib.hardware.training_cost`.)

Every estimate is a roofline bound (see :mod:`course_lib.hardware.roofline`): a step takes at
least ``max(F / P, Q / B_mem)`` seconds, with ``F`` FLOPs, ``Q`` bytes moved, ``P`` peak
FLOP/s and ``B_mem`` bytes/s of memory bandwidth. It is a **lower bound on time**: kernels that
do not reach the peak, launch overheads and communication only add to it (chapter 01 measures
how far measured times land from the bound on your own machine).

Two ways to apply the roofline to a decode step:

* **lumped** (:func:`decode_step_time`): all the step's FLOPs and bytes in one point,
  ``max(sum F / P, sum Q / B_mem)``. This assumes the compute of one operation can hide the
  memory traffic of another.
* **per operation** (:func:`decode_step_operations`, :func:`decode_step_time_by_operation`):
  the weight matrix products (GEMMs) and attention over the KV cache are separate kernels
  that run one after the other, each bounded by its own roofline,
  ``sum_i max(F_i / P, Q_i / B_mem)`` -- never less than the lumped bound. The GEMMs have
  intensity ``2 B / bytes_per_param`` (``B`` = batch: the weights are read once for the whole
  batch) and become compute-bound for a batch beyond about the ridge point; attention reads
  every sequence's own cache, so its intensity ``2 H / (H_kv x kv bytes)`` does not depend on
  the batch (1 FLOP/byte for multi-head attention in 16-bit) and it never becomes
  compute-bound.

FLOPs of one token that attends to ``T`` tokens (forward pass)::

    F(T) = 2 N_mm + 4 L T d

``N_mm`` (:func:`~course_lib.hardware.shapes.matmul_parameter_count`) counts the weights the
token is multiplied by (one multiply and one add each); ``4 L T d`` is attention's ``q k^T``
and ``softmax(.) v`` (``2 T d`` each, per layer). This is the forward third of the
``6 N + 12 L T d`` of the PaLM paper (Chowdhery et al. 2022, arXiv:2204.02311, Appendix B),
used by :func:`training_flops_per_token` and nanoGPT.
Kaplan et al. 2020 (arXiv:2001.08361, Table 1) write ``C_forward ~ 2N + 2 n_layer n_ctx
d_attn``: their attention term is half of the ``4 L T d`` counted here. At GPT-3's
``T = 2048`` either is a few % of ``2N`` (``tests/test_hardware.py`` checks 3 %).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from course_lib.runtime.validation import check_int, check_positive

from .roofline import Operation
from .shapes import (
    ModelShape,
    check_shape,
    matmul_parameter_count,
    non_embedding_parameter_count,
    parameter_count,
)


def _context(shape: ModelShape, context: int, name: str = "context") -> int:
    """``context`` as an int in ``1..shape.context_length``."""
    check_shape(shape)
    context = check_int(name, context, minimum=1)
    if context > shape.context_length:
        raise ValueError(
            f"{name} {context} exceeds {shape.name or 'the model'}'s context_length "
            f"{shape.context_length}: the model was not built to attend that far"
        )
    return context


def flops_per_token(shape: ModelShape, context: int) -> float:
    """Forward-pass FLOPs of one token that attends to ``context`` tokens (itself included):
    ``2 N_mm + 4 L T d`` (see the module docstring)."""
    T = _context(shape, context)
    return 2.0 * matmul_parameter_count(shape) + 4.0 * shape.n_layer * T * shape.d_model


def training_flops_per_token(shape: ModelShape, seq_len: int | None = None) -> int:
    """FLOPs to train on one token (forward and backward) in a sequence of ``T = seq_len``
    tokens (default: the context length ``C``), the estimate of the PaLM paper's Appendix B
    (Chowdhery et al. 2022, arXiv:2204.02311) that nanoGPT's ``estimate_mfu`` uses:

    .. math:: F = 6 N + 12 L T d.

    ``N`` is :func:`~course_lib.hardware.shapes.non_embedding_parameter_count` (blocks and
    final norm, biases and norm scales included, as nanoGPT counts them) plus the ``V d``
    output matrix (the embedding lookups are not multiplications, the output layer is);
    ``6 = 2`` (multiply and add) ``x 3`` (forward; backward to activations and to weights),
    Kaplan et al. 2020's ``6 N`` (arXiv:2001.08361, Table 1); ``12 L T d`` is attention's
    ``q k^T`` and weights-times-``v``, forward and backward, for each of the ``T`` tokens.

    It differs from ``3 x`` :func:`flops_per_token` only by ``6`` FLOPs per bias and norm
    parameter, which :func:`flops_per_token` does not count (they are not matrix products).
    """
    T = shape.context_length if seq_len is None else _context(shape, seq_len, "seq_len")
    n = non_embedding_parameter_count(shape) + shape.vocab_size * shape.d_model
    return 6 * n + 12 * shape.n_layer * T * shape.d_model


def kv_cache_bytes_per_token(shape: ModelShape, bytes_per_value: float = 2) -> float:
    """Bytes the KV cache stores per token: ``2 (k and v) x L x H_kv x d_head x bytes``.
    Llama-2-7B in float16: ``2 * 32 * 32 * 128 * 2`` = 0.5 MiB per token."""
    check_shape(shape)
    b = check_positive("bytes_per_value", bytes_per_value)
    return 2.0 * shape.n_layer * shape.n_kv_head * shape.d_head * b


def kv_cache_bytes(
    shape: ModelShape, context: int, batch: int = 1, bytes_per_value: float = 2
) -> float:
    """The KV cache of ``batch`` sequences of ``context`` tokens, in bytes:
    ``batch x context x`` :func:`kv_cache_bytes_per_token`."""
    batch = check_int("batch", batch, minimum=1)
    context = _context(shape, context)
    return batch * context * kv_cache_bytes_per_token(shape, bytes_per_value)


def weight_bytes(shape: ModelShape, bytes_per_param: float = 2) -> float:
    """Memory to hold every parameter: ``N x bytes_per_param`` (2 for float16/bfloat16)."""
    return parameter_count(shape) * check_positive("bytes_per_param", bytes_per_param)


def _kv_bytes(bytes_per_param: float, kv_bytes_per_value: float | None) -> float:
    """Bytes per cached key or value: ``kv_bytes_per_value``, or ``bytes_per_param`` if None."""
    if kv_bytes_per_value is None:
        return check_positive("bytes_per_param", bytes_per_param)
    return check_positive("kv_bytes_per_value", kv_bytes_per_value)


@dataclass(frozen=True)
class StepEstimate:
    """A roofline estimate of one step: ``flops``, ``bytes`` moved, the time each would take
    alone (``compute_seconds = flops / P``, ``memory_seconds = bytes / B_mem``), and ``tokens``
    produced. ``seconds`` is the larger of the two; ``bound`` says which."""

    flops: float
    bytes: float
    compute_seconds: float
    memory_seconds: float
    tokens: int

    @property
    def seconds(self) -> float:
        return max(self.compute_seconds, self.memory_seconds)

    @property
    def bound(self) -> str:
        if self.memory_seconds >= self.compute_seconds:
            return "memory"
        return "compute"

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds

    @property
    def intensity(self) -> float:
        """FLOP per byte of the step (compare with the hardware's ridge point)."""
        return self.flops / self.bytes


def _estimate(
    flops: float, nbytes: float, peak_flops: float, bandwidth: float, tokens: int
) -> StepEstimate:
    compute_seconds = flops / check_positive("peak_flops", peak_flops)
    memory_seconds = nbytes / check_positive("bandwidth", bandwidth)
    return StepEstimate(flops, nbytes, compute_seconds, memory_seconds, tokens)


def decode_step_time(
    shape: ModelShape,
    *,
    batch: int,
    context: int,
    peak_flops: float,
    bandwidth: float,
    bytes_per_param: float = 2,
    kv_bytes_per_value: float | None = None,
) -> StepEstimate:
    """One decoding step: each of ``batch`` sequences adds one token that attends to
    ``context`` cached tokens.

    ``F = batch x F(context)`` and ``Q = N_mm x bytes_per_param + batch x context x kv``: the
    weights are streamed from memory once per step *for the whole batch* (that is what
    batching buys), but every sequence reads its own KV cache. Activations are ignored (a few
    vectors of ``d`` per token). ``kv_bytes_per_value`` defaults to ``bytes_per_param``."""
    batch = check_int("batch", batch, minimum=1)
    bpp = check_positive("bytes_per_param", bytes_per_param)
    kv = _kv_bytes(bpp, kv_bytes_per_value)
    flops = batch * flops_per_token(shape, context)
    weights = matmul_parameter_count(shape) * bpp
    cache = batch * kv_cache_bytes(shape, context, 1, kv)
    return _estimate(flops, weights + cache, peak_flops, bandwidth, batch)


def prefill_time(
    shape: ModelShape,
    *,
    prompt_length: int,
    peak_flops: float,
    bandwidth: float,
    batch: int = 1,
    bytes_per_param: float = 2,
    kv_bytes_per_value: float | None = None,
) -> StepEstimate:
    """Reading a prompt of ``L_p = prompt_length`` tokens in one pass (per sequence).

    With a causal mask token ``t`` attends to ``t`` tokens, so
    ``F = batch x (L_p 2 N_mm + 4 L d L_p (L_p + 1) / 2)``; ``Q`` = the weights once plus the
    KV cache written (``batch x L_p x kv``). Every weight is used ``L_p`` times per sequence,
    so with 16-bit weights the intensity is about ``L_p`` FLOP/byte: a prompt longer than
    about the ridge point ``P / B_mem`` (~300 tokens on an H100) is compute-bound, unlike
    decoding."""
    batch = check_int("batch", batch, minimum=1)
    T = _context(shape, prompt_length, "prompt_length")
    bpp = check_positive("bytes_per_param", bytes_per_param)
    kv = _kv_bytes(bpp, kv_bytes_per_value)
    n_mm = matmul_parameter_count(shape)
    matmul_flops = T * 2.0 * n_mm
    attention_flops = 4.0 * shape.n_layer * shape.d_model * T * (T + 1) / 2
    flops = batch * (matmul_flops + attention_flops)
    weights = n_mm * bpp
    cache = batch * kv_cache_bytes(shape, T, 1, kv)
    return _estimate(flops, weights + cache, peak_flops, bandwidth, batch * T)


def decode_step_operations(
    shape: ModelShape,
    *,
    batch: int,
    context: int,
    bytes_per_param: float = 2,
    kv_bytes_per_value: float | None = None,
) -> tuple[Operation, ...]:
    """The operations of one decoding step (``batch`` sequences, each adding one token that
    attends to ``context`` cached tokens), each with its FLOPs and bytes, summed over layers:

    * ``"attention projections"`` -- ``q, k, v`` and output:
      ``L (2 d^2 + 2 d H_kv d_head)`` weights;
    * ``"MLP"`` -- ``L k d d_ff`` weights (``k = 3`` gated, else 2);
    * ``"unembedding"`` -- the ``V x d`` output layer;
    * ``"attention over the KV cache"`` -- ``q k^T`` and ``softmax(.) v``: ``4 L T d`` FLOPs
      and the ``T x kv_cache_bytes_per_token`` cache **per sequence**.

    A weight GEMM does ``2 batch`` FLOPs per weight and reads it once (``bytes_per_param``):
    intensity ``2 batch / bytes_per_param``, i.e. exactly the batch size in 16-bit. Attention
    does ``4 L T d`` FLOPs per sequence on ``T 2 L H_kv d_head kv`` bytes: intensity
    ``2 H / (H_kv kv)`` whatever the batch (``H / H_kv`` in 16-bit: 1 without grouped-query
    attention). Like :func:`decode_step_time`, activations and the new token's cache write are
    ignored, so the FLOPs and bytes of the operations add up to the lumped step's exactly."""
    batch = check_int("batch", batch, minimum=1)
    T = _context(shape, context)
    bpp = check_positive("bytes_per_param", bytes_per_param)
    kv = _kv_bytes(bpp, kv_bytes_per_value)
    d = shape.d_model
    L = shape.n_layer
    weights = {
        "attention projections": L * (2 * d * d + 2 * d * shape.kv_dim),
        "MLP": L * (3 if shape.gated_mlp else 2) * d * shape.d_ff,
        "unembedding": shape.vocab_size * d,
    }
    ops = [Operation(name, 2.0 * batch * n, float(n) * bpp) for name, n in weights.items()]
    attention = Operation(
        "attention over the KV cache",
        batch * 4.0 * L * T * d,
        batch * T * kv_cache_bytes_per_token(shape, kv),
    )
    ops.append(attention)
    return tuple(ops)


@dataclass(frozen=True)
class OperationTimes:
    """The per-operation roofline of one step: each operation's bound
    ``max(F_i / P, Q_i / B_mem)`` with the operations run one after the other, so ``seconds``
    is their sum. ``tokens`` is the tokens the step produces."""

    operations: tuple[Operation, ...]
    peak_flops: float
    bandwidth: float
    tokens: int

    @property
    def seconds_each(self) -> tuple[float, ...]:
        return tuple(
            max(op.flops / self.peak_flops, op.bytes / self.bandwidth) for op in self.operations
        )

    @property
    def bounds(self) -> tuple[str, ...]:
        bounds = []
        for op in self.operations:
            if op.bytes / self.bandwidth >= op.flops / self.peak_flops:
                bounds.append("memory")
            else:
                bounds.append("compute")
        return tuple(bounds)

    @property
    def seconds(self) -> float:
        return sum(self.seconds_each)

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds

    @property
    def flops(self) -> float:
        return sum(op.flops for op in self.operations)

    @property
    def bytes(self) -> float:
        return sum(op.bytes for op in self.operations)

    def operation(self, name: str) -> Operation:
        """The operation called ``name`` (``ValueError`` listing the names otherwise)."""
        for op in self.operations:
            if op.name == name:
                return op
        names = ", ".join(op.name for op in self.operations)
        raise ValueError(f"no operation {name!r}; have: {names}")


def decode_step_time_by_operation(
    shape: ModelShape,
    *,
    batch: int,
    context: int,
    peak_flops: float,
    bandwidth: float,
    bytes_per_param: float = 2,
    kv_bytes_per_value: float | None = None,
) -> OperationTimes:
    """The per-operation roofline of a decoding step (see :func:`decode_step_operations`):
    ``sum_i max(F_i / P, Q_i / B_mem)``. It is never below :func:`decode_step_time`'s lumped
    bound ``max(sum F / P, sum Q / B_mem)`` and equals it when every operation is on the same
    side of the ridge point."""
    ops = decode_step_operations(
        shape,
        batch=batch,
        context=context,
        bytes_per_param=bytes_per_param,
        kv_bytes_per_value=kv_bytes_per_value,
    )
    peak = check_positive("peak_flops", peak_flops)
    bw = check_positive("bandwidth", bandwidth)
    return OperationTimes(ops, peak, bw, batch)


def gemm_critical_batch(peak_flops: float, bandwidth: float, bytes_per_param: float = 2) -> float:
    """The batch at which a decode step's weight GEMMs become compute-bound: their intensity
    ``2 B / bytes_per_param`` equals the ridge point ``P / B_mem``, so
    ``B = (P / B_mem) x bytes_per_param / 2`` (the ridge point itself for 16-bit weights)."""
    ridge = check_positive("peak_flops", peak_flops) / check_positive("bandwidth", bandwidth)
    return ridge * check_positive("bytes_per_param", bytes_per_param) / 2


def fits_in_memory(
    shape: ModelShape,
    *,
    batch: int,
    context: int,
    memory_bytes: float,
    bytes_per_param: float = 2,
    kv_bytes_per_value: float | None = None,
) -> bool:
    """Whether the weights (:func:`weight_bytes`) and ``batch`` KV caches of ``context`` tokens
    fit in ``memory_bytes`` (activations and the runtime's own memory are ignored, so this is
    optimistic)."""
    memory = check_positive("memory_bytes", memory_bytes)
    kv = _kv_bytes(bytes_per_param, kv_bytes_per_value)
    need = weight_bytes(shape, bytes_per_param) + kv_cache_bytes(shape, context, batch, kv)
    return need <= memory


def max_batch_in_memory(
    shape: ModelShape,
    *,
    context: int,
    memory_bytes: float,
    bytes_per_param: float = 2,
    kv_bytes_per_value: float | None = None,
) -> int:
    """The largest number of sequences of ``context`` tokens whose KV caches fit in
    ``memory_bytes`` next to the weights (0 if the weights alone do not fit)."""
    kv = _kv_bytes(bytes_per_param, kv_bytes_per_value)
    free = check_positive("memory_bytes", memory_bytes) - weight_bytes(shape, bytes_per_param)
    return max(0, math.floor(free / kv_cache_bytes(shape, context, 1, kv)))


def critical_batch_size(
    shape: ModelShape,
    *,
    context: int,
    peak_flops: float,
    bandwidth: float,
    bytes_per_param: float = 2,
    kv_bytes_per_value: float | None = None,
) -> float:
    """The decode batch at which compute time equals memory time (above it, compute-bound).

    With ``W = N_mm x bytes_per_param`` (weights), ``K = context x kv`` (one sequence's KV
    cache) and ``F = F(context)``, compute ``b F / P`` equals memory ``(W + b K) / B_mem`` at

    ``b* = W / (F B_mem / P - K)``.

    Ignoring attention and the KV cache (``F = 2 N_mm``, ``K = 0``) this is
    ``b* = (P / B_mem) x bytes_per_param / 2``: the ridge point times bytes per weight over 2.
    If ``K >= F B_mem / P`` the KV cache alone is memory-bound and no batch makes the lumped
    step compute-bound: ``math.inf`` is returned. The result is a real number; round it up for
    a batch size. This is the *lumped* view (:func:`decode_step_time`); per operation, the
    weight GEMMs become compute-bound beyond :func:`gemm_critical_batch` whatever the KV
    cache does, while attention over the cache never does (:func:`decode_step_operations`)."""
    kv = _kv_bytes(bytes_per_param, kv_bytes_per_value)
    W = matmul_parameter_count(shape) * check_positive("bytes_per_param", bytes_per_param)
    K = kv_cache_bytes(shape, context, 1, kv)
    ridge = check_positive("peak_flops", peak_flops) / check_positive("bandwidth", bandwidth)
    margin = flops_per_token(shape, context) / ridge - K
    if margin > 0:
        return W / margin
    return math.inf


def energy_per_token(power_watts: float, seconds_per_token: float) -> float:
    """Joules per token, ``E = P t`` (watts x seconds). With a batch, ``seconds_per_token``
    is the step time divided by the tokens the step produces."""
    power = check_positive("power_watts", power_watts)
    return power * check_positive("seconds_per_token", seconds_per_token)
