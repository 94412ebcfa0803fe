"""The roofline model: how fast an operation *can* run, given only two numbers of a machine.

A machine is summarised by its peak arithmetic rate ``P`` (FLOP/s) and its memory bandwidth
``B_mem`` (bytes/s). An operation is summarised by its work ``F`` (FLOPs) and the bytes ``Q`` it
must move between memory and the processor; its *arithmetic intensity* is ``I = F / Q``
(FLOP/byte). Then (Williams, Waterman & Patterson, "Roofline", CACM 2009):

* attainable rate  ``min(P, B_mem * I)``  -- the memory roof rises with ``I`` until it meets
  the compute roof at the *ridge point* ``I* = P / B_mem``;
* time lower bound ``max(F / P, Q / B_mem)`` -- an operation left of the ridge is memory-bound.

Everything here is plain arithmetic in SI units (FLOPs, bytes, seconds); no TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def _check_positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def _check_count(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class Operation:
    """One operation for the roofline: ``flops`` of work (FLOPs) on ``bytes`` of memory traffic.

    ``bytes`` is the *minimum* traffic (every input read once, every output written once);
    caches that are too small can only add to it. ``flops`` may be 0 (a pure copy).
    """

    name: str
    flops: float
    bytes: float

    def __post_init__(self) -> None:
        if isinstance(self.flops, bool) or not (
            isinstance(self.flops, (int, float, np.integer, np.floating))
            and math.isfinite(self.flops)
            and self.flops >= 0
        ):
            raise ValueError(
                f"Operation {self.name!r}: flops must be a finite number >= 0, got {self.flops!r}"
            )
        _check_positive(f"Operation {self.name!r}: bytes", self.bytes)

    @property
    def intensity(self) -> float:
        """Arithmetic intensity ``I = flops / bytes`` (FLOP/byte)."""
        return self.flops / self.bytes


def ridge_point(peak_flops: float, bandwidth: float) -> float:
    """The intensity ``I* = P / B_mem`` (FLOP/byte) where the memory roof meets the compute roof.
    Operations with ``I < I*`` are memory-bound on this machine, those with ``I > I*``
    compute-bound."""
    return _check_positive("peak_flops", peak_flops) / _check_positive("bandwidth", bandwidth)


def attainable_flops(
    intensity: float | np.ndarray, peak_flops: float, bandwidth: float
) -> float | np.ndarray:
    """The roofline: ``min(P, B_mem * I)`` FLOP/s for arithmetic intensity ``I`` (FLOP/byte).
    ``intensity`` may be a number or an array (then an array comes back)."""
    peak, bw = _check_positive("peak_flops", peak_flops), _check_positive("bandwidth", bandwidth)
    values = np.asarray(intensity, dtype=float)
    if np.any(~np.isfinite(values)) or np.any(values < 0):
        raise ValueError(f"intensity must be finite and >= 0, got {intensity!r}")
    result = np.minimum(peak, bw * values)
    return float(result) if result.ndim == 0 else result


def roofline_curve(
    peak_flops: float, bandwidth: float, intensities: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(I, attainable FLOP/s)`` arrays for a log-log roofline plot. By default ``I`` spans
    three decades either side of the ridge point (200 log-spaced points)."""
    if intensities is None:
        ridge = ridge_point(peak_flops, bandwidth)
        intensities = np.logspace(math.log10(ridge) - 3, math.log10(ridge) + 3, 200)
    intensities = np.asarray(intensities, dtype=float)
    return intensities, np.asarray(attainable_flops(intensities, peak_flops, bandwidth))


def compute_time(op: Operation, peak_flops: float) -> float:
    """Seconds to do the work at the peak rate, ``F / P``."""
    return op.flops / _check_positive("peak_flops", peak_flops)


def memory_time(op: Operation, bandwidth: float) -> float:
    """Seconds to move the bytes at full bandwidth, ``Q / B_mem``."""
    return op.bytes / _check_positive("bandwidth", bandwidth)


def predict_time(
    op: Operation, peak_flops: float, bandwidth: float, *, overhead_seconds: float = 0.0
) -> float:
    """The roofline's time bound ``max(F / P, Q / B_mem)`` in seconds, plus an optional fixed
    ``overhead_seconds`` (e.g. a measured launch/dispatch latency, which the roofline itself
    ignores: it assumes compute and data movement overlap perfectly and nothing else costs)."""
    if isinstance(overhead_seconds, bool) or not (
        math.isfinite(overhead_seconds) and overhead_seconds >= 0
    ):
        raise ValueError(f"overhead_seconds must be a finite number >= 0, got {overhead_seconds!r}")
    return max(compute_time(op, peak_flops), memory_time(op, bandwidth)) + overhead_seconds


def bound(op: Operation, peak_flops: float, bandwidth: float) -> str:
    """``"memory"`` if the operation sits left of the ridge point (``Q / B_mem >= F / P``), else
    ``"compute"``."""
    return "memory" if memory_time(op, bandwidth) >= compute_time(op, peak_flops) else "compute"


def matmul_op(m: int, k: int, n: int, dtype_bytes: int = 4, name: str | None = None) -> Operation:
    """``(m, k) @ (k, n)``: ``F = 2 m k n`` (one multiply and one add per term) and
    ``Q = (m k + k n + m n) * dtype_bytes`` (read A and B once, write C once).

    For square ``n x n`` float32 matrices ``I = 2 n^3 / (12 n^2) = n / 6``: intensity grows
    with size, so large matrix products are compute-bound."""
    m, k, n = _check_count("m", m), _check_count("k", k), _check_count("n", n)
    b = _check_count("dtype_bytes", dtype_bytes)
    return Operation(
        name or f"matmul ({m},{k})@({k},{n})", 2.0 * m * k * n, float((m * k + k * n + m * n) * b)
    )


def matvec_op(m: int, n: int, dtype_bytes: int = 4, name: str | None = None) -> Operation:
    """``(m, n) @ (n, 1)``: ``F = 2 m n`` and ``Q = (m n + n + m) * dtype_bytes``.

    ``I = 2 m n / (4 (m n + n + m)) -> 1/2`` FLOP/byte in float32 for large matrices, however
    big they are: every weight is read once and used once. This is the shape of one step of
    LLM decoding with batch 1, and why that step is memory-bound."""
    m, n = _check_count("m", m), _check_count("n", n)
    b = _check_count("dtype_bytes", dtype_bytes)
    return Operation(name or f"matvec ({m},{n})@({n},1)", 2.0 * m * n, float((m * n + n + m) * b))
