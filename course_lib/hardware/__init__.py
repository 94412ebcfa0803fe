"""Hardware: measure this machine, draw its roofline, and price an LLM on any machine.

Modules (importing this package does not import TensorFlow; the benchmarks do, lazily):

* ``roofline``   -- ``attainable_flops = min(P, B I)``, ``ridge_point = P / B``,
  ``predict_time = max(F / P, Q / B)``; FLOPs and bytes of matmul and matvec.
* ``microbench`` -- timed TensorFlow kernels: matmul, matvec, copy, read.
* ``machine``    -- :func:`measure_machine` (plans ``tiny``, ``quick``, ``thorough``) and the
  check of the roofline's predictions against measured times.
* ``specs``      -- published, sourced numbers of A100, H100, H200, TPU v4/v5e/v5p, RTX 4090
  and one server CPU (dense FLOP/s, bandwidth, memory, power).
* ``shapes``     -- :class:`ModelShape` of a decoder-only Transformer and its parameter count;
  GPT-2 small, GPT-3 175B, Llama-2-7B.
* ``cost_model`` -- FLOPs per token, KV cache, decode and prefill time bounds, critical batch,
  training FLOPs ``6 N D``, training time, energy per token.
"""

from .cost_model import (
    StepEstimate,
    critical_batch_size,
    decode_step_time,
    energy_per_token,
    flops_per_token,
    kv_cache_bytes,
    kv_cache_bytes_per_token,
    prefill_time,
    training_flops,
    training_time,
    weight_bytes,
)
from .machine import PLANS, MachineMeasurement, MeasurementPlan, RooflineCheck, measure_machine, roofline_check
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
from .shapes import (
    GPT2_SMALL,
    GPT3_175B,
    LLAMA2_7B,
    PUBLISHED_SHAPES,
    ModelShape,
    from_gpt_config,
    matmul_parameter_count,
    parameter_breakdown,
    parameter_count,
)
from .specs import SPECS, HardwareSpec, get_spec, spec_names


__all__ = [
    "attainable_flops",
    "BenchCase",
    "BenchResult",
    "bound",
    "critical_batch_size",
    "decode_step_time",
    "energy_per_token",
    "flops_per_token",
    "from_gpt_config",
    "get_spec",
    "GPT2_SMALL",
    "GPT3_175B",
    "HardwareSpec",
    "kv_cache_bytes",
    "kv_cache_bytes_per_token",
    "LLAMA2_7B",
    "MachineMeasurement",
    "matmul_flops",
    "matmul_op",
    "matmul_parameter_count",
    "matvec_flops",
    "matvec_op",
    "measure_machine",
    "MeasurementPlan",
    "memory_bandwidth",
    "ModelShape",
    "Operation",
    "parameter_breakdown",
    "parameter_count",
    "PLANS",
    "predict_time",
    "prefill_time",
    "PUBLISHED_SHAPES",
    "ridge_point",
    "roofline_check",
    "roofline_curve",
    "RooflineCheck",
    "spec_names",
    "SPECS",
    "StepEstimate",
    "time_op",
    "Timing",
    "training_flops",
    "training_time",
    "weight_bytes",
]
