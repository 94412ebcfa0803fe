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

from course_lib.runtime.validation import check_array, check_int, check_positive, check_real


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
        if not isinstance(self.name, str):
            raise TypeError(f"Operation.name must be a string, got {self.name!r}")
        where = f"Operation {self.name!r}"
        object.__setattr__(self, "flops", check_real(f"{where}: flops", self.flops, minimum=0))
        object.__setattr__(self, "bytes", check_positive(f"{where}: bytes", self.bytes))

    @property
    def intensity(self) -> float:
        """Arithmetic intensity ``I = flops / bytes`` (FLOP/byte)."""
        return self.flops / self.bytes


def _operation(op: object) -> Operation:
    if not isinstance(op, Operation):
        raise TypeError(
            f"op must be an Operation (e.g. matmul_op(m, k, n)), got {type(op).__name__}"
        )
    return op


def ridge_point(peak_flops: float, bandwidth: float) -> float:
    """The intensity ``I* = P / B_mem`` (FLOP/byte) where the memory roof meets the compute roof.
    Operations with ``I < I*`` are memory-bound on this machine, those with ``I > I*``
    compute-bound."""
    return check_positive("peak_flops", peak_flops) / check_positive("bandwidth", bandwidth)


def attainable_flops(
    intensity: float | np.ndarray, peak_flops: float, bandwidth: float
) -> float | np.ndarray:
    """The roofline: ``min(P, B_mem * I)`` FLOP/s for arithmetic intensity ``I`` (FLOP/byte).
    ``intensity`` may be a number or an array (then an array comes back)."""
    peak = check_positive("peak_flops", peak_flops)
    bw = check_positive("bandwidth", bandwidth)
    values = check_array("intensity", intensity, kind="number", finite=True, dtype=float)
    if np.any(values < 0):
        raise ValueError(f"intensity must be >= 0, got {intensity!r}")
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
    intensities = check_array(
        "intensities", intensities, ndim=1, kind="number", nonempty=True, dtype=float
    )
    return intensities, np.asarray(attainable_flops(intensities, peak_flops, bandwidth))


def compute_time(op: Operation, peak_flops: float) -> float:
    """Seconds to do the work at the peak rate, ``F / P``."""
    return _operation(op).flops / check_positive("peak_flops", peak_flops)


def memory_time(op: Operation, bandwidth: float) -> float:
    """Seconds to move the bytes at full bandwidth, ``Q / B_mem``."""
    return _operation(op).bytes / check_positive("bandwidth", bandwidth)


def predict_time(
    op: Operation, peak_flops: float, bandwidth: float, *, overhead_seconds: float = 0.0
) -> float:
    """The roofline's time bound ``max(F / P, Q / B_mem)`` in seconds, plus an optional fixed
    ``overhead_seconds`` (e.g. a measured launch/dispatch latency, which the roofline itself
    ignores: it assumes compute and data movement overlap perfectly and nothing else costs)."""
    overhead = check_real("overhead_seconds", overhead_seconds, minimum=0)
    return max(compute_time(op, peak_flops), memory_time(op, bandwidth)) + overhead


def bound(op: Operation, peak_flops: float, bandwidth: float) -> str:
    """``"memory"`` if the operation sits left of the ridge point (``Q / B_mem >= F / P``), else
    ``"compute"``."""
    if memory_time(op, bandwidth) >= compute_time(op, peak_flops):
        return "memory"
    return "compute"


def matmul_op(m: int, k: int, n: int, dtype_bytes: int = 4, name: str | None = None) -> Operation:
    """``(m, k) @ (k, n)``: ``F = 2 m k n`` (one multiply and one add per term) and
    ``Q = (m k + k n + m n) * dtype_bytes`` (read A and B once, write C once).

    For square ``n x n`` float32 matrices ``I = 2 n^3 / (12 n^2) = n / 6``: intensity grows
    with size, so large matrix products are compute-bound."""
    m = check_int("m", m, minimum=1)
    k = check_int("k", k, minimum=1)
    n = check_int("n", n, minimum=1)
    b = check_int("dtype_bytes", dtype_bytes, minimum=1)
    flops = 2.0 * m * k * n
    nbytes = float((m * k + k * n + m * n) * b)
    return Operation(name or f"matmul ({m},{k})@({k},{n})", flops, nbytes)


def matvec_op(m: int, n: int, dtype_bytes: int = 4, name: str | None = None) -> Operation:
    """``(m, n) @ (n, 1)``: ``F = 2 m n`` and ``Q = (m n + n + m) * dtype_bytes``.

    ``I = 2 m n / (4 (m n + n + m)) -> 1/2`` FLOP/byte in float32 for large matrices, however
    big they are: every weight is read once and used once. This is the shape of one step of
    LLM decoding with batch 1, and why that step is memory-bound."""
    m = check_int("m", m, minimum=1)
    n = check_int("n", n, minimum=1)
    b = check_int("dtype_bytes", dtype_bytes, minimum=1)
    flops = 2.0 * m * n
    nbytes = float((m * n + n + m) * b)
    return Operation(name or f"matvec ({m},{n})@({n},1)", flops, nbytes)
