"""Measure this machine once (:func:`measure_machine`) and check the roofline against it.

A :class:`MeasurementPlan` says which sizes to run; three are predefined in :data:`PLANS`:
``tiny`` (for tests: sizes so small that only the dispatch overhead is measured), ``quick``
and ``thorough`` (the slowest: adds float16/bfloat16 and larger sizes). The result, a
:class:`MachineMeasurement`, holds every benchmark and the two numbers the roofline needs:
``peak_flops`` (the best float32 matmul rate) and ``bandwidth`` (the read rate of a large
sum, the access pattern of a matrix-vector product and of LLM decoding).

Bandwidth is the noisier number: on a virtual machine the memory system is shared with the
host's other tenants, and on the course's 2-vCPU machine the read rate of the same kernel has
differed by tens of percent between runs a few minutes apart (chapter 01's Expected results
table lists dated runs). Measure twice.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from course_lib.runtime.validation import check_choice, check_int, check_nonempty, check_real

from . import microbench
from .microbench import BenchResult
from .roofline import bound, predict_time


@dataclass(frozen=True)
class MeasurementPlan:
    """Sizes of one measurement run. ``bandwidth_bytes=None`` picks 8 x the last-level cache
    (at least 256 MiB); ``warmup`` and ``repeats`` apply to every benchmark."""

    name: str
    matmul_sizes: tuple[int, ...]
    matmul_dtypes: tuple[str, ...]
    matvec_sizes: tuple[int, ...]
    bandwidth_bytes: int | None
    warmup: int
    repeats: int

    def __post_init__(self) -> None:
        for field in ("matmul_sizes", "matvec_sizes"):
            sizes = getattr(self, field)
            if not isinstance(sizes, tuple) or not sizes:
                raise ValueError(
                    f"MeasurementPlan.{field} must be a non-empty tuple of positive ints, "
                    f"got {sizes!r}"
                )
            for i, n in enumerate(sizes):
                check_int(f"MeasurementPlan.{field}[{i}]", n, minimum=1)
        dtypes = self.matmul_dtypes
        if not isinstance(dtypes, tuple) or "float32" not in dtypes:
            raise ValueError(
                f"MeasurementPlan.matmul_dtypes must be a tuple that includes 'float32', "
                f"got {dtypes!r}"
            )
        for i, dtype in enumerate(dtypes):
            check_choice(f"MeasurementPlan.matmul_dtypes[{i}]", dtype, microbench.DTYPE_BYTES)
        if self.bandwidth_bytes is not None:
            check_int("MeasurementPlan.bandwidth_bytes", self.bandwidth_bytes, minimum=4)
        check_int("MeasurementPlan.warmup", self.warmup, minimum=0)
        check_int("MeasurementPlan.repeats", self.repeats, minimum=1)


PLANS: dict[str, MeasurementPlan] = {
    "tiny": MeasurementPlan("tiny", (32, 64), ("float32",), (64, 128), 4 * microbench.MIB, 1, 2),
    "quick": MeasurementPlan(
        "quick", (256, 512, 1024, 2048), ("float32",), (1024, 2048, 4096, 8192), None, 1, 5
    ),
    "thorough": MeasurementPlan(
        "thorough",
        (256, 512, 1024, 2048, 4096),
        ("float32", "bfloat16", "float16"),
        (1024, 2048, 4096, 8192, 16384),
        4 * 256 * microbench.MIB,
        1,
        7,
    ),
}


def get_plan(plan: str | MeasurementPlan) -> MeasurementPlan:
    """``plan`` itself, or the plan of :data:`PLANS` with that name (``ValueError`` if unknown)."""
    if isinstance(plan, MeasurementPlan):
        return plan
    if not isinstance(plan, str) or plan not in PLANS:
        raise ValueError(f"Unknown measurement plan {plan!r}. Valid: {', '.join(PLANS)}")
    return PLANS[plan]


@dataclass(frozen=True)
class MachineMeasurement:
    """Everything :func:`measure_machine` measured. Rates use median times; ``peak_flops`` is
    the best float32 matmul rate over the sizes, ``bandwidth`` the read rate."""

    plan: str
    matmul: tuple[BenchResult, ...]
    matvec: tuple[BenchResult, ...]
    copy: BenchResult
    read: BenchResult
    dispatch_seconds: float
    usable_cpus: int | None
    seconds: float

    @property
    def peak_flops(self) -> float:
        return max(r.flops_per_second for r in self.matmul if r.dtype == "float32")

    @property
    def bandwidth(self) -> float:
        return self.read.bytes_per_second

    @property
    def copy_bandwidth(self) -> float:
        return self.copy.bytes_per_second

    @property
    def ridge_point(self) -> float:
        """``peak_flops / bandwidth`` (FLOP/byte)."""
        return self.peak_flops / self.bandwidth

    def summary(self) -> str:
        """A few readable lines: peak, bandwidths, ridge point, best rate per dtype."""
        lines = [
            f"plan {self.plan!r}, {self.usable_cpus} usable CPU(s), {self.seconds:.1f} s",
            f"peak float32 matmul  {self.peak_flops / 1e9:8.1f} GFLOP/s",
            f"read bandwidth       {self.bandwidth / 1e9:8.1f} GB/s",
            f"copy bandwidth       {self.copy_bandwidth / 1e9:8.1f} GB/s (read + write counted)",
            f"ridge point          {self.ridge_point:8.1f} FLOP/byte",
            f"dispatch overhead    {self.dispatch_seconds * 1e6:8.0f} us per call",
        ]
        for dtype in dict.fromkeys(r.dtype for r in self.matmul):
            of_dtype = [r for r in self.matmul if r.dtype == dtype]
            best = max(of_dtype, key=lambda r: r.flops_per_second)
            rate = best.flops_per_second / 1e9
            lines.append(f"best {dtype:<9} matmul {rate:8.1f} GFLOP/s at n={best.size}")
        return "\n".join(lines)


def measure_machine(plan: str | MeasurementPlan = "quick") -> MachineMeasurement:
    """Run the plan's matmul, matvec, copy and read benchmarks and the dispatch probe."""
    p = get_plan(plan)
    start = time.perf_counter()
    n_bytes = p.bandwidth_bytes or microbench.suggested_bandwidth_bytes()
    copy, read = microbench.memory_bandwidth(n_bytes, warmup=p.warmup, repeats=p.repeats)
    matmul = microbench.matmul_flops(
        p.matmul_sizes, p.matmul_dtypes, warmup=p.warmup, repeats=p.repeats
    )
    matvec = microbench.matvec_flops(p.matvec_sizes, warmup=p.warmup, repeats=p.repeats)
    dispatch = microbench.dispatch_overhead()
    if hasattr(os, "sched_getaffinity"):
        cpus = len(os.sched_getaffinity(0))
    else:
        cpus = os.cpu_count()
    seconds = time.perf_counter() - start
    return MachineMeasurement(p.name, matmul, matvec, copy, read, dispatch, cpus, seconds)


@dataclass(frozen=True)
class RooflineCheck:
    """A measured time next to the roofline's prediction; ``error = predicted / measured - 1``
    (negative: the machine was slower than the bound, which is the usual case)."""

    name: str
    measured_seconds: float
    predicted_seconds: float
    bound: str

    @property
    def error(self) -> float:
        return self.predicted_seconds / self.measured_seconds - 1.0


def roofline_check(
    results: tuple[BenchResult, ...],
    peak_flops: float,
    bandwidth: float,
    *,
    overhead_seconds: float = 0.0,
) -> tuple[RooflineCheck, ...]:
    """Predict each result's time with :func:`~course_lib.hardware.roofline.predict_time`
    (optionally adding a fixed ``overhead_seconds``) and pair it with the measured median."""
    check_nonempty("results", results)
    for i, r in enumerate(results):
        if not isinstance(r, BenchResult):
            raise TypeError(f"results[{i}] must be a BenchResult, got {type(r).__name__}")
    peak_flops = check_real("peak_flops", peak_flops, minimum=0, strict=True)
    bandwidth = check_real("bandwidth", bandwidth, minimum=0, strict=True)
    overhead = check_real("overhead_seconds", overhead_seconds, minimum=0)
    checks = []
    for r in results:
        predicted = predict_time(r.operation, peak_flops, bandwidth, overhead_seconds=overhead)
        kind = bound(r.operation, peak_flops, bandwidth)
        checks.append(RooflineCheck(r.operation.name, r.timing.median, predicted, kind))
    return tuple(checks)
