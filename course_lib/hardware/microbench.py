"""Microbenchmarks in TensorFlow: this machine's peak FLOP/s and memory bandwidth, measured.

Each benchmark is a :class:`BenchCase`: a compiled ``tf.function`` with its inputs already
made, the FLOPs it does and the bytes it must move (counted as in
:mod:`course_lib.hardware.roofline`). :func:`time_op` runs it ``warmup`` times untimed (the
first call traces and compiles), then ``repeats`` times timed. A case returns ``(result,
probe)`` where ``probe`` is one element of the result, so reading it with ``.numpy()`` forces
the work to finish (needed on GPUs, where kernels run asynchronously) without copying the
whole result to the host.

The numbers include TensorFlow's per-call dispatch cost (tenths of a millisecond), which
dominates small sizes; :func:`dispatch_overhead` measures it. TensorFlow is imported lazily.
"""

from __future__ import annotations

import os
import statistics
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .roofline import Operation

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}
MIB = 2**20


@dataclass(frozen=True)
class Timing:
    """Wall-clock durations of the timed calls, in seconds (``samples``), with their median
    and minimum. The median resists interference from other processes; the minimum is the
    closest to what the hardware can do."""

    samples: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.samples or any(not s > 0 for s in self.samples):
            raise ValueError(f"Timing needs at least one positive duration, got {self.samples!r}")

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)


def _force(result: Any) -> None:
    """Wait for ``result`` by reading its smallest tensor (the probe) on the host."""
    import tensorflow as tf

    tensors = [t for t in tf.nest.flatten(result) if hasattr(t, "numpy")]
    if tensors:
        smallest = min(tensors, key=lambda t: t.shape.num_elements() or 0)
        (
            smallest if (smallest.shape.num_elements() or 0) <= 1 else tf.reshape(smallest, [-1])[0]
        ).numpy()


def time_op(fn: Callable[[], Any], warmup: int = 1, repeats: int = 5) -> Timing:
    """Call ``fn()`` ``warmup`` times, then time ``repeats`` calls, each until its result is
    ready (see the module docstring). ``fn`` takes no arguments: close over the inputs."""
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be an int >= 0, got {warmup!r}")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be an int >= 1, got {repeats!r}")
    for _ in range(warmup):
        _force(fn())
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        _force(fn())
        samples.append(time.perf_counter() - start)
    return Timing(tuple(samples))


@dataclass(frozen=True)
class BenchCase:
    """A ready-to-run benchmark: ``fn()`` returns ``(result, probe)``; ``flops`` and ``bytes``
    are its work and minimum memory traffic."""

    kind: str  # "matmul", "matvec", "copy", "read"
    size: int  # n for matmul/matvec, bytes of the array for copy/read
    dtype: str
    flops: float
    bytes: float
    fn: Callable[[], Any]

    @property
    def operation(self) -> Operation:
        return Operation(f"{self.kind} {self.dtype} {self.size}", self.flops, self.bytes)


@dataclass(frozen=True)
class BenchResult:
    """A :class:`BenchCase` (without its function) and its :class:`Timing`. Rates use the
    median time."""

    kind: str
    size: int
    dtype: str
    flops: float
    bytes: float
    timing: Timing

    @property
    def flops_per_second(self) -> float:
        return self.flops / self.timing.median

    @property
    def bytes_per_second(self) -> float:
        return self.bytes / self.timing.median

    @property
    def operation(self) -> Operation:
        return Operation(f"{self.kind} {self.dtype} {self.size}", self.flops, self.bytes)


def _check_dtype(dtype: str) -> int:
    if dtype not in DTYPE_BYTES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPE_BYTES)}, got {dtype!r}")
    return DTYPE_BYTES[dtype]


def _check_size(name: str, n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{name} must be a positive int, got {n!r}")
    return n


def _compiled(op: Callable, jit_compile: bool) -> Callable:
    import tensorflow as tf

    def with_probe(*args):
        y = op(*args)
        return y, tf.reshape(y, [-1])[0]

    return tf.function(with_probe, jit_compile=jit_compile)


def matmul_case(
    n: int, dtype: str = "float32", *, seed: int = 0, jit_compile: bool = False
) -> BenchCase:
    """``(n, n) @ (n, n)`` with random normal inputs: ``2 n^3`` FLOPs, ``3 n^2`` elements moved."""
    import tensorflow as tf

    b, n = _check_dtype(dtype), _check_size("n", n)
    rng = tf.random.Generator.from_seed(seed)
    a, c = (tf.cast(rng.normal([n, n]), dtype) for _ in range(2))
    f = _compiled(tf.matmul, jit_compile)
    return BenchCase("matmul", n, dtype, 2.0 * n**3, 3.0 * n * n * b, lambda: f(a, c))


def matvec_case(
    n: int, dtype: str = "float32", *, seed: int = 0, jit_compile: bool = False
) -> BenchCase:
    """``(n, n) @ (n, 1)``: ``2 n^2`` FLOPs, ``n^2 + 2 n`` elements moved (about ``4 n^2``
    bytes in float32): the arithmetic of one LLM decoding step with batch 1."""
    import tensorflow as tf

    b, n = _check_dtype(dtype), _check_size("n", n)
    rng = tf.random.Generator.from_seed(seed)
    a, x = tf.cast(rng.uniform([n, n], -1, 1), dtype), tf.cast(rng.uniform([n, 1], -1, 1), dtype)
    f = _compiled(tf.matmul, jit_compile)
    return BenchCase("matvec", n, dtype, 2.0 * n * n, float(n * n + 2 * n) * b, lambda: f(a, x))


def copy_case(n_bytes: int, dtype: str = "float32") -> BenchCase:
    """STREAM's "scale" kernel ``y = s x`` on an array of ``n_bytes``: counted as ``2 n_bytes``
    (read ``x``, write ``y``). Writing a fresh ``y`` may cost an extra read of it on CPUs
    (write-allocate), which this count ignores, as STREAM does."""
    import tensorflow as tf

    b = _check_dtype(dtype)
    n = max(_check_size("n_bytes", n_bytes) // b, 1)
    x, s = tf.ones([n], dtype), tf.constant(1.5, dtype)  # s is an input: nothing to constant-fold
    f = _compiled(tf.multiply, False)
    return BenchCase("copy", n * b, dtype, float(n), 2.0 * n * b, lambda: f(x, s))


def read_case(n_bytes: int, dtype: str = "float32") -> BenchCase:
    """A sum over an array of ``n_bytes``: counted as ``n_bytes`` read (the output is one number)."""
    import tensorflow as tf

    b = _check_dtype(dtype)
    n = max(_check_size("n_bytes", n_bytes) // b, 1)
    x = tf.ones([n], dtype)
    f = tf.function(lambda x: tf.reduce_sum(x))
    return BenchCase("read", n * b, dtype, float(n), float(n * b), lambda: f(x))


def run_case(case: BenchCase, warmup: int = 1, repeats: int = 5) -> BenchResult:
    """Time ``case`` with :func:`time_op`."""
    timing = time_op(case.fn, warmup, repeats)
    return BenchResult(case.kind, case.size, case.dtype, case.flops, case.bytes, timing)


def _as_tuple(values: Any) -> tuple:
    return (
        tuple(values) if isinstance(values, Sequence) and not isinstance(values, str) else (values,)
    )


def matmul_flops(
    sizes: int | Sequence[int],
    dtypes: str | Sequence[str] = "float32",
    *,
    warmup: int = 1,
    repeats: int = 5,
) -> tuple[BenchResult, ...]:
    """Square matmuls for every size and dtype. A dtype this TensorFlow build cannot multiply
    is skipped with a warning; one it multiplies slowly is measured. How fast each dtype runs
    depends on the CPU and the build: oneDNN has bfloat16 kernels for CPUs with AVX512-BF16,
    and for float16 TensorFlow may fall back to a generic (Eigen) kernel, which it says in a
    log message."""
    import tensorflow as tf

    results = []
    for dtype in _as_tuple(dtypes):
        for n in _as_tuple(sizes):
            try:
                results.append(run_case(matmul_case(n, dtype), warmup, repeats))
            except (
                tf.errors.NotFoundError,
                tf.errors.InvalidArgumentError,
                tf.errors.UnimplementedError,
            ) as e:
                warnings.warn(
                    f"matmul in {dtype} is not supported here ({type(e).__name__}); skipped",
                    stacklevel=2,
                )
                break
    return tuple(results)


def matvec_flops(
    sizes: int | Sequence[int], dtype: str = "float32", *, warmup: int = 1, repeats: int = 5
) -> tuple[BenchResult, ...]:
    """Matrix-vector products ``(n, n) @ (n, 1)`` for every size."""
    return tuple(run_case(matvec_case(n, dtype), warmup, repeats) for n in _as_tuple(sizes))


def memory_bandwidth(
    n_bytes: int, *, warmup: int = 1, repeats: int = 5
) -> tuple[BenchResult, BenchResult]:
    """``(copy, read)`` results on float32 arrays of ``n_bytes``; their ``bytes_per_second``
    is the bandwidth. Use sizes well above the last-level cache (:func:`suggested_bandwidth_bytes`)."""
    return run_case(copy_case(n_bytes), warmup, repeats), run_case(
        read_case(n_bytes), warmup, repeats
    )


def dispatch_overhead(repeats: int = 20) -> float:
    """Median seconds of a compiled one-element add: the fixed cost of calling TensorFlow."""
    import tensorflow as tf

    x = tf.ones([1])
    f = tf.function(lambda x: x + 1.0)
    return time_op(lambda: f(x), warmup=2, repeats=repeats).median


_CACHE_ROOT = "/sys/devices/system/cpu/cpu0/cache"


def _parse_cache_size(text: str) -> int | None:
    """``"32768K"`` -> 33554432; ``None`` for anything that is not a positive size."""
    text = text.strip().upper().removesuffix("B")
    scale = {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1:], 1)
    digits = text.rstrip("KMG")
    if not digits.isdigit() or int(digits) <= 0:
        return None
    return int(digits) * scale


def last_level_cache_bytes(root: str = _CACHE_ROOT) -> int | None:
    """Size of the largest CPU cache in bytes, or ``None`` if unknown.

    Reads ``<root>/index*/size`` (Linux sysfs, cpu0 by default). Only the ``index*`` entries
    are looked at (the folder also holds ``uevent`` and the like), and an entry whose ``size``
    is missing, unreadable or not a size is skipped rather than spoiling the others: some
    virtual machines list cache levels without a size. When ``/sys`` gives nothing, the C
    library's ``sysconf`` values (``SC_LEVEL3_CACHE_SIZE`` ... ``SC_LEVEL1_DCACHE_SIZE``) are
    tried."""
    sizes = []
    try:
        entries = sorted(e for e in os.listdir(root) if e.startswith("index"))
    except OSError:
        entries = []
    for entry in entries:
        try:
            with open(os.path.join(root, entry, "size")) as f:
                size = _parse_cache_size(f.read())
        except (OSError, UnicodeDecodeError):
            continue
        if size:
            sizes.append(size)
    if sizes:
        return max(sizes)
    for name in ("SC_LEVEL3_CACHE_SIZE", "SC_LEVEL2_CACHE_SIZE", "SC_LEVEL1_DCACHE_SIZE"):
        try:
            value = os.sysconf(name)
        except (AttributeError, ValueError, OSError):
            continue
        if value and value > 0:
            return int(value)
    return None


def suggested_bandwidth_bytes(minimum: int = 256 * MIB) -> int:
    """Array size for :func:`memory_bandwidth`: 8 x the last-level cache, at least ``minimum``."""
    llc = last_level_cache_bytes()
    return max(minimum, 8 * llc) if llc else minimum
