"""What serving an LLM to many users costs: chapter 07's model of one serving scenario.

:func:`serving_estimate` answers, for one model on one kind of GPU and a set of stated
assumptions, the questions a provider asks: how many GPUs hold one copy (replica) of the
model, how many users fit next to the weights, how fast a decoding step is (lumped and per
operation, see :mod:`course_lib.hardware.cost_model`), tokens per second per user and per
GPU, the critical batch, the prefill time, the GPUs for all users, the energy per token and
the cost per conversation. Every time the roofline gives (a lower bound) is divided by an
assumed ``efficiency``.

The model, with ``T = prompt_tokens + reply_tokens`` (the KV cache at the end of a reply),
``W`` the weight bytes, ``K`` one user's KV cache of ``T`` tokens, ``M`` one GPU's memory:

* one replica is split over the smallest number ``g = ceil((W + batch K) / M)`` of GPUs
  that holds the weights and the batch's caches, and ``g`` GPUs are priced as one device
  with ``g`` times the FLOP/s and the bandwidth (ideal tensor parallelism: communication is
  free, which flatters a model split over several GPUs);
* the decoding step is :func:`~course_lib.hardware.cost_model.decode_step_time` at context
  ``T`` (the worst step of the reply), divided by ``efficiency``; each user gets one token
  per step, so ``1 / step`` tokens/s per user and ``batch / step / g`` per GPU;
* a conversation takes ``g (prefill + reply_tokens x step / batch)`` GPU-seconds: the
  prompt read in one pass (:func:`~course_lib.hardware.cost_model.prefill_time`), then the
  user's share of ``reply_tokens`` batched steps; its cost is that times the price per
  GPU-hour over 3600;
* the energy per token is ``g`` boards at their maximum power for ``step / batch`` seconds
  (an upper bound for the GPUs alone; nothing around them is counted).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from course_lib.runtime.validation import check_int, check_real

from .cost_model import (
    OperationTimes,
    StepEstimate,
    critical_batch_size,
    decode_step_time,
    decode_step_time_by_operation,
    energy_per_token,
    gemm_critical_batch,
    kv_cache_bytes_per_token,
    max_batch_in_memory,
    prefill_time,
    weight_bytes,
)
from .shapes import ModelShape, check_shape
from .specs import HardwareSpec

GIB = 2**30
MIB = 2**20


@dataclass(frozen=True)
class ServingEstimate:
    """The result of :func:`serving_estimate`: one scenario, priced.

    Attributes (SI units: bytes, seconds, joules; costs in the currency of the price):
        shape, gpu, precision, bytes_per_param, efficiency, price_per_gpu_hour,
        prompt_tokens, reply_tokens, batch, concurrent_users: the scenario.
        gpus_per_replica: ``g``, the GPUs that hold one copy of the model and the batch's
            KV caches.
        weight_bytes: ``W``, every parameter at ``bytes_per_param``.
        kv_bytes_per_token: the KV cache of one token; ``kv_bytes_per_user`` of ``T`` tokens.
        users_that_fit: the most users of ``T`` tokens whose caches fit next to the weights
            in ``g`` GPUs.
        decode: the lumped roofline of one decoding step on ``g`` GPUs (not yet divided by
            ``efficiency``); ``decode_by_operation`` the same step per operation.
        prefill: the roofline of reading one prompt.
        critical_batch: the batch from which the lumped step is compute-bound (``inf``: none).
        gemm_critical_batch: the batch from which the weight matrix products are.
    """

    shape: ModelShape
    gpu: HardwareSpec
    precision: str
    bytes_per_param: float
    efficiency: float
    price_per_gpu_hour: float
    prompt_tokens: int
    reply_tokens: int
    batch: int
    concurrent_users: int
    gpus_per_replica: int
    weight_bytes: float
    kv_bytes_per_token: float
    users_that_fit: int
    decode: StepEstimate
    decode_by_operation: OperationTimes
    prefill: StepEstimate
    critical_batch: float
    gemm_critical_batch: float

    @property
    def context(self) -> int:
        """``T = prompt_tokens + reply_tokens``, the KV cache at the end of a reply."""
        return self.prompt_tokens + self.reply_tokens

    @property
    def kv_bytes_per_user(self) -> float:
        return self.context * self.kv_bytes_per_token

    @property
    def step_seconds(self) -> float:
        """One decoding step (lumped bound) divided by ``efficiency``."""
        return self.decode.seconds / self.efficiency

    @property
    def step_seconds_by_operation(self) -> float:
        """One decoding step (per-operation bound) divided by ``efficiency``."""
        return self.decode_by_operation.seconds / self.efficiency

    @property
    def gemm_bound(self) -> str:
        """``"memory"`` or ``"compute"``: the bound of the weight matrix products."""
        index = [op.name for op in self.decode_by_operation.operations].index("MLP")
        return self.decode_by_operation.bounds[index]

    @property
    def attention_bound(self) -> str:
        """The bound of attention over the KV cache."""
        names = [op.name for op in self.decode_by_operation.operations]
        return self.decode_by_operation.bounds[names.index("attention over the KV cache")]

    @property
    def prefill_seconds(self) -> float:
        """Reading the prompt in one pass, divided by ``efficiency``."""
        return self.prefill.seconds / self.efficiency

    @property
    def tokens_per_second_per_user(self) -> float:
        return 1.0 / self.step_seconds

    @property
    def tokens_per_second_per_gpu(self) -> float:
        return self.batch / self.step_seconds / self.gpus_per_replica

    @property
    def gpus_for_all_users(self) -> int:
        """``ceil(concurrent_users / batch)`` replicas of ``g`` GPUs."""
        return math.ceil(self.concurrent_users / self.batch) * self.gpus_per_replica

    @property
    def energy_per_token(self) -> float | None:
        """Joules per token: ``g`` boards at maximum power for ``step / batch`` seconds
        (``None`` if the GPU's row has no power figure)."""
        if self.gpu.power_watts is None:
            return None
        power = self.gpus_per_replica * self.gpu.power_watts
        return energy_per_token(power, self.step_seconds / self.batch)

    @property
    def gpu_seconds_per_conversation(self) -> float:
        decode_share = self.reply_tokens * self.step_seconds / self.batch
        return self.gpus_per_replica * (self.prefill_seconds + decode_share)

    @property
    def cost_per_conversation(self) -> float:
        return self.gpu_seconds_per_conversation * self.price_per_gpu_hour / 3600

    @property
    def cost_per_1000_conversations(self) -> float:
        return 1000 * self.gpu_seconds_per_conversation * self.price_per_gpu_hour / 3600

    def rows(self) -> dict[str, float | int | str | None]:
        """The estimate as labelled values in readable units (GB, MiB, GiB, ms, J)."""
        return {
            "GPUs per replica": self.gpus_per_replica,
            "weights (GB)": self.weight_bytes / 1e9,
            "KV cache per token (MiB)": self.kv_bytes_per_token / MIB,
            "KV cache per user (GiB)": self.kv_bytes_per_user / GIB,
            "users that fit in memory": self.users_that_fit,
            "decode step (ms)": 1e3 * self.step_seconds,
            "decode bound": self.decode.bound,
            "decode step, per operation (ms)": 1e3
            * self.decode_by_operation.seconds
            / self.efficiency,
            "weight GEMMs / attention bound": f"{self.gemm_bound} / {self.attention_bound}",
            "tokens/s per user": self.tokens_per_second_per_user,
            "tokens/s per GPU": self.tokens_per_second_per_gpu,
            "critical batch size": self.critical_batch,
            "GEMMs compute-bound from batch": self.gemm_critical_batch,
            "prefill of the prompt (ms)": 1e3 * self.prefill_seconds,
            "prefill bound": self.prefill.bound,
            "GPUs for all concurrent users": self.gpus_for_all_users,
            "energy per token (J)": self.energy_per_token,
            "cost per conversation (USD)": self.cost_per_conversation,
            "cost per 1,000 conversations (USD)": self.cost_per_1000_conversations,
        }

    def table(self) -> str:
        """:meth:`rows` as aligned lines: integers with thousands separators, other numbers
        to 4 significant digits, an infinite critical batch as ``none (KV-bound)``."""
        lines = []
        for label, value in self.rows().items():
            lines.append(f"  {label:<36} {format_value(value)}")
        return "\n".join(lines)


def format_value(value: float | int | str | None) -> str:
    """How :meth:`ServingEstimate.table` writes one value."""
    if value is None:
        return "unknown (no power figure)"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return f"{value:,}"
    if value == math.inf:
        return "none (KV-bound)"
    return f"{value:,.4g}"


def serving_estimate(
    shape: ModelShape,
    gpu: HardwareSpec,
    *,
    precision: str = "bfloat16",
    bytes_per_param: float = 2,
    efficiency: float = 0.5,
    price_per_gpu_hour: float = 2.0,
    prompt_tokens: int = 500,
    reply_tokens: int = 300,
    batch: int = 32,
    concurrent_users: int = 10_000,
) -> ServingEstimate:
    """Price one serving scenario (see the module docstring for the model).

    Args:
        shape: the model.
        gpu: a row of :data:`~course_lib.hardware.specs.SPECS` with a memory capacity.
        precision: the peak FLOP/s used (``gpu.peak(precision)``).
        bytes_per_param: bytes per weight and per cached key or value (2: 16-bit).
        efficiency: the fraction of the roofline bound reached, in ``(0, 1]``; every time is
            divided by it. An assumption, not a measurement.
        price_per_gpu_hour: an assumed price (>= 0).
        prompt_tokens, reply_tokens: one conversation; their sum must fit the context length.
        batch: users decoded together in one step.
        concurrent_users: users to serve at once.

    Raises:
        TypeError, ValueError: an argument of the wrong type or out of range, a GPU without
            a memory capacity, or a conversation longer than the model's context length.
    """
    check_shape(shape)
    if not isinstance(gpu, HardwareSpec):
        raise TypeError(
            f"gpu must be a HardwareSpec (e.g. get_spec('NVIDIA H100 SXM')), "
            f"got {type(gpu).__name__}"
        )
    if gpu.memory_bytes is None:
        raise ValueError(
            f"gpu {gpu.name!r} has no fixed memory capacity: the weights and KV caches "
            "cannot be placed on it"
        )
    peak_one_gpu = gpu.peak(precision)
    bytes_per_param = check_real("bytes_per_param", bytes_per_param, minimum=0, strict=True)
    efficiency = check_real("efficiency", efficiency, minimum=0, maximum=1)
    if efficiency == 0:
        raise ValueError("efficiency must be > 0 and <= 1 (every time is divided by it), got 0")
    price_per_gpu_hour = check_real("price_per_gpu_hour", price_per_gpu_hour, minimum=0)
    prompt_tokens = check_int("prompt_tokens", prompt_tokens, minimum=1)
    reply_tokens = check_int("reply_tokens", reply_tokens, minimum=1)
    batch = check_int("batch", batch, minimum=1)
    concurrent_users = check_int("concurrent_users", concurrent_users, minimum=1)
    context = prompt_tokens + reply_tokens
    if context > shape.context_length:
        raise ValueError(
            f"prompt_tokens + reply_tokens = {context} exceeds {shape.name or 'the model'}'s "
            f"context_length {shape.context_length}"
        )

    w_bytes = weight_bytes(shape, bytes_per_param)
    kv_token = kv_cache_bytes_per_token(shape, bytes_per_param)
    kv_user = context * kv_token
    gpus = math.ceil((w_bytes + batch * kv_user) / gpu.memory_bytes)
    peak = gpus * peak_one_gpu
    bandwidth = gpus * gpu.memory_bandwidth
    roofline = dict(peak_flops=peak, bandwidth=bandwidth, bytes_per_param=bytes_per_param)
    decode = decode_step_time(shape, batch=batch, context=context, **roofline)
    by_operation = decode_step_time_by_operation(shape, batch=batch, context=context, **roofline)
    prefill = prefill_time(shape, prompt_length=prompt_tokens, **roofline)
    users = max_batch_in_memory(
        shape,
        context=context,
        memory_bytes=gpus * gpu.memory_bytes,
        bytes_per_param=bytes_per_param,
    )
    return ServingEstimate(
        shape=shape,
        gpu=gpu,
        precision=precision,
        bytes_per_param=bytes_per_param,
        efficiency=efficiency,
        price_per_gpu_hour=price_per_gpu_hour,
        prompt_tokens=prompt_tokens,
        reply_tokens=reply_tokens,
        batch=batch,
        concurrent_users=concurrent_users,
        gpus_per_replica=gpus,
        weight_bytes=w_bytes,
        kv_bytes_per_token=kv_token,
        users_that_fit=users,
        decode=decode,
        decode_by_operation=by_operation,
        prefill=prefill,
        critical_batch=critical_batch_size(shape, context=context, **roofline),
        gemm_critical_batch=gemm_critical_batch(peak, bandwidth, bytes_per_param),
    )
