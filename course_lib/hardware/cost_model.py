"""What running and training an LLM costs, from its shape and two numbers of the hardware.

Every estimate is a roofline bound (see :mod:`course_lib.hardware.roofline`): a step takes at
least ``max(F / P, Q / B)`` seconds, with ``F`` FLOPs, ``Q`` bytes moved, ``P`` peak FLOP/s and
``B`` bytes/s. Real systems reach 30-80 % of either roof, so read the results as lower bounds.

FLOPs of one token that attends to ``T`` tokens (forward pass)::

    F(T) = 2 N_mm + 4 L T d

``N_mm`` (:func:`~course_lib.hardware.shapes.matmul_parameter_count`) counts the weights the
token is multiplied by (one multiply and one add each); ``4 L T d`` is attention's ``q k^T``
and ``softmax(.) v`` (``2 T d`` each, per layer). This is the forward third of the
``6 N + 12 L T d`` used by ``course_lib.transformer.training_flops_per_token`` and nanoGPT;
Kaplan et al. 2020 (arXiv:2001.08361, sec. 2.1) write ``C_forward ~ 2N + 2 L n_ctx d_attn``,
counting the attention term once; at GPT-3's ``T = 2048`` either is a few % of ``2N``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .shapes import ModelShape, matmul_parameter_count, parameter_count


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def _count(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def _context(shape: ModelShape, context: int) -> int:
    _count("context", context)
    if context > shape.context_length:
        raise ValueError(f"context {context} exceeds {shape.name or 'the model'}'s context_length "
                         f"{shape.context_length}: the model was not built to attend that far")
    return context


def flops_per_token(shape: ModelShape, context: int) -> float:
    """Forward-pass FLOPs of one token that attends to ``context`` tokens (itself included):
    ``2 N_mm + 4 L T d`` (see the module docstring)."""
    T = _context(shape, context)
    return 2.0 * matmul_parameter_count(shape) + 4.0 * shape.n_layer * T * shape.d_model


def kv_cache_bytes_per_token(shape: ModelShape, bytes_per_value: float = 2) -> float:
    """Bytes the KV cache stores per token: ``2 (k and v) x L x H_kv x d_head x bytes``.
    Llama-2-7B in float16: ``2 * 32 * 32 * 128 * 2`` = 0.5 MiB per token."""
    b = _positive("bytes_per_value", bytes_per_value)
    return 2.0 * shape.n_layer * shape.n_kv_head * shape.d_head * b


def kv_cache_bytes(shape: ModelShape, context: int, batch: int = 1, bytes_per_value: float = 2) -> float:
    """The KV cache of ``batch`` sequences of ``context`` tokens, in bytes."""
    return _count("batch", batch) * _context(shape, context) * kv_cache_bytes_per_token(shape, bytes_per_value)


def weight_bytes(shape: ModelShape, bytes_per_param: float = 2) -> float:
    """Memory to hold every parameter: ``N x bytes_per_param`` (2 for float16/bfloat16)."""
    return parameter_count(shape) * _positive("bytes_per_param", bytes_per_param)


@dataclass(frozen=True)
class StepEstimate:
    """A roofline estimate of one step: ``flops``, ``bytes`` moved, the time each would take
    alone (``compute_seconds = flops / P``, ``memory_seconds = bytes / B``), and ``tokens``
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
        return "memory" if self.memory_seconds >= self.compute_seconds else "compute"

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds

    @property
    def intensity(self) -> float:
        """FLOP per byte of the step (compare with the hardware's ridge point)."""
        return self.flops / self.bytes


def _estimate(flops: float, nbytes: float, peak_flops: float, bandwidth: float, tokens: int) -> StepEstimate:
    return StepEstimate(flops, nbytes, flops / _positive("peak_flops", peak_flops),
                        nbytes / _positive("bandwidth", bandwidth), tokens)


def decode_step_time(shape: ModelShape, *, batch: int, context: int, peak_flops: float, bandwidth: float,
                     bytes_per_param: float = 2, kv_bytes_per_value: float | None = None) -> StepEstimate:
    """One decoding step: each of ``batch`` sequences adds one token that attends to
    ``context`` cached tokens.

    ``F = batch x F(context)`` and ``Q = N_mm x bytes_per_param + batch x context x kv``: the
    weights are streamed from memory once per step *for the whole batch* (that is what
    batching buys), but every sequence reads its own KV cache. Activations are ignored (a few
    vectors of ``d`` per token). ``kv_bytes_per_value`` defaults to ``bytes_per_param``."""
    _count("batch", batch)
    kv = bytes_per_param if kv_bytes_per_value is None else kv_bytes_per_value
    flops = batch * flops_per_token(shape, context)
    nbytes = (matmul_parameter_count(shape) * _positive("bytes_per_param", bytes_per_param)
              + batch * kv_cache_bytes(shape, context, 1, kv))
    return _estimate(flops, nbytes, peak_flops, bandwidth, batch)


def prefill_time(shape: ModelShape, *, prompt_length: int, peak_flops: float, bandwidth: float, batch: int = 1,
                 bytes_per_param: float = 2, kv_bytes_per_value: float | None = None) -> StepEstimate:
    """Reading a prompt of ``L_p = prompt_length`` tokens in one pass (per sequence).

    With a causal mask token ``t`` attends to ``t`` tokens, so
    ``F = batch x (L_p 2 N_mm + 4 L d L_p (L_p + 1) / 2)``; ``Q`` = the weights once plus the
    KV cache written (``batch x L_p x kv``). The weights are reused ``L_p`` times, so the
    prompt is usually compute-bound, unlike decoding."""
    _count("batch", batch)
    T = _context(shape, prompt_length)
    kv = bytes_per_param if kv_bytes_per_value is None else kv_bytes_per_value
    per_seq = T * 2.0 * matmul_parameter_count(shape) + 4.0 * shape.n_layer * shape.d_model * T * (T + 1) / 2
    nbytes = (matmul_parameter_count(shape) * _positive("bytes_per_param", bytes_per_param)
              + batch * kv_cache_bytes(shape, T, 1, kv))
    return _estimate(batch * per_seq, nbytes, peak_flops, bandwidth, batch * T)


def critical_batch_size(shape: ModelShape, *, context: int, peak_flops: float, bandwidth: float,
                        bytes_per_param: float = 2, kv_bytes_per_value: float | None = None) -> float:
    """The decode batch at which compute time equals memory time (above it, compute-bound).

    With ``W = N_mm x bytes_per_param`` (weights), ``K = context x kv`` (one sequence's KV
    cache) and ``F = F(context)``, compute ``b F / P`` equals memory ``(W + b K) / B`` at

    ``b* = W / (F B / P - K)``.

    Ignoring attention and the KV cache (``F = 2 N_mm``, ``K = 0``) this is
    ``b* = (P / B) x bytes_per_param / 2``: the ridge point times bytes per weight over 2.
    If ``K >= F B / P`` the KV cache alone is memory-bound and no batch is compute-bound:
    ``math.inf`` is returned. The result is a real number; round it up for a batch size."""
    kv = bytes_per_param if kv_bytes_per_value is None else kv_bytes_per_value
    W = matmul_parameter_count(shape) * _positive("bytes_per_param", bytes_per_param)
    K = kv_cache_bytes(shape, context, 1, kv)
    ridge = _positive("peak_flops", peak_flops) / _positive("bandwidth", bandwidth)
    margin = flops_per_token(shape, context) / ridge - K
    return W / margin if margin > 0 else math.inf


def training_flops(n_params: float, n_tokens: float) -> float:
    """``C = 6 N D``: 2 FLOPs per weight per token forward, 4 backward (gradients with
    respect to activations and to weights). GPT-3: ``6 x 175e9 x 300e9 = 3.15e23``."""
    return 6.0 * _positive("n_params", n_params) * _positive("n_tokens", n_tokens)


def training_time(flops: float, *, n_devices: int, peak_flops: float, utilisation: float) -> float:
    """Seconds to do ``flops`` on ``n_devices`` each reaching ``utilisation x peak_flops``
    (the model FLOPs utilisation, MFU; 0.3-0.5 is typical for large training runs)."""
    if isinstance(utilisation, bool) or not (isinstance(utilisation, (int, float)) and 0 < utilisation <= 1):
        raise ValueError(f"utilisation must be in (0, 1], got {utilisation!r}")
    return _positive("flops", flops) / (_count("n_devices", n_devices) * _positive("peak_flops", peak_flops)
                                        * utilisation)


def energy_per_token(power_watts: float, seconds_per_token: float) -> float:
    """Joules per token, ``E = P t`` (watts x seconds). With a batch, ``seconds_per_token``
    is the step time divided by the tokens the step produces."""
    return _positive("power_watts", power_watts) * _positive("seconds_per_token", seconds_per_token)
