"""Hardware: measure this machine, draw its roofline, and price an LLM on any machine.

Modules (importing this package does not import TensorFlow; the benchmarks do, lazily):

* ``roofline``   -- ``attainable_flops = min(P, B_mem I)``, ``ridge_point = P / B_mem``,
  ``predict_time = max(F / P, Q / B_mem)``; FLOPs and bytes of matmul and matvec.
* ``microbench`` -- timed TensorFlow kernels: matmul, matvec, copy, read.
* ``machine``    -- :func:`measure_machine` (plans ``tiny``, ``quick``, ``thorough``) and the
  check of the roofline's predictions against measured times.
* ``specs``      -- published, sourced numbers of A100, H100, H200, TPU v4/v5e/v5p, RTX 4090
  and one server CPU (dense FLOP/s, bandwidth, memory in bytes as the device reports it, power).
* ``shapes``     -- :class:`ModelShape` of a decoder-only Transformer and its parameter count
  (the course's one sizing formula: ``GPTConfig.shape`` gives the GPT's shape);
  GPT-2 small, GPT-3 175B, Llama-2-7B.
* ``cost_model`` -- FLOPs per token (forward; training ``6 N + 12 L T d``), KV cache,
  decode and prefill time bounds (lumped, and per operation: weight GEMMs vs attention),
  critical batch, what fits in memory, energy per token.
* ``training_cost`` -- training FLOPs ``6 N D`` and the training-time estimator
  ``6 N D / (n P u)`` with its inverse, the utilisation a reported run implies.
* ``serving``    -- :func:`serving_estimate`: chapter 07's cost of serving a model to many
  users (GPUs per replica, users that fit, tokens/s, energy, cost per conversation).
"""

from .cost_model import (
    OperationTimes,
    StepEstimate,
    critical_batch_size,
    decode_step_operations,
    decode_step_time,
    decode_step_time_by_operation,
    energy_per_token,
    fits_in_memory,
    flops_per_token,
    gemm_critical_batch,
    kv_cache_bytes,
    kv_cache_bytes_per_token,
    max_batch_in_memory,
    prefill_time,
    training_flops_per_token,
    weight_bytes,
)
from .machine import (
    PLANS,
    MachineMeasurement,
    MeasurementPlan,
    RooflineCheck,
    measure_machine,
    roofline_check,
)
from .microbench import (
    BenchCase,
    BenchResult,
    Timing,
    matmul_flops,
    matvec_flops,
    memory_bandwidth,
    time_op,
)
from .roofline import (
    Operation,
    attainable_flops,
    bound,
    matmul_op,
    matvec_op,
    predict_time,
    ridge_point,
    roofline_curve,
)
from .serving import ServingEstimate, serving_estimate
from .shapes import (
    GPT2_SMALL,
    GPT3_175B,
    LLAMA2_7B,
    LLAMA2_70B,
    PUBLISHED_SHAPES,
    ModelShape,
    check_shape,
    matmul_parameter_count,
    non_embedding_parameter_count,
    parameter_breakdown,
    parameter_count,
)
from .specs import SPECS, HardwareSpec, get_spec, spec_names
from .training_cost import implied_utilisation, training_flops, training_seconds, training_time

__all__ = [
    "GPT2_SMALL",
    "GPT3_175B",
    "LLAMA2_7B",
    "LLAMA2_70B",
    "PLANS",
    "PUBLISHED_SHAPES",
    "SPECS",
    "BenchCase",
    "BenchResult",
    "HardwareSpec",
    "MachineMeasurement",
    "MeasurementPlan",
    "ModelShape",
    "Operation",
    "OperationTimes",
    "RooflineCheck",
    "ServingEstimate",
    "StepEstimate",
    "Timing",
    "attainable_flops",
    "bound",
    "check_shape",
    "critical_batch_size",
    "decode_step_operations",
    "decode_step_time",
    "decode_step_time_by_operation",
    "energy_per_token",
    "fits_in_memory",
    "flops_per_token",
    "gemm_critical_batch",
    "get_spec",
    "implied_utilisation",
    "kv_cache_bytes",
    "kv_cache_bytes_per_token",
    "matmul_flops",
    "matmul_op",
    "matmul_parameter_count",
    "matvec_flops",
    "matvec_op",
    "max_batch_in_memory",
    "measure_machine",
    "memory_bandwidth",
    "non_embedding_parameter_count",
    "parameter_breakdown",
    "parameter_count",
    "predict_time",
    "prefill_time",
    "ridge_point",
    "roofline_check",
    "roofline_curve",
    "serving_estimate",
    "spec_names",
    "time_op",
    "training_flops",
    "training_flops_per_token",
    "training_seconds",
    "training_time",
    "weight_bytes",
]
