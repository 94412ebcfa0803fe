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

from course_lib.runtime.validation import check_choice, check_int

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
            raise ValueError(
                f"Timing needs at least one duration, each > 0 seconds, got {self.samples!r}"
            )

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
    if not tensors:
        return
    smallest = min(tensors, key=lambda t: t.shape.num_elements() or 0)
    if (smallest.shape.num_elements() or 0) > 1:
        smallest = tf.reshape(smallest, [-1])[0]
    smallest.numpy()


def time_op(fn: Callable[[], Any], warmup: int = 1, repeats: int = 5) -> Timing:
    """Call ``fn()`` ``warmup`` times, then time ``repeats`` calls, each until its result is
    ready (see the module docstring). ``fn`` takes no arguments: close over the inputs.

    Every timing in the course goes through here, so all of them use the same statistics
    (:class:`Timing`: median and minimum of the timed calls)."""
    if not callable(fn):
        raise TypeError(
            f"fn must be a function of no arguments (close over the inputs), "
            f"got {type(fn).__name__}"
        )
    warmup = check_int("warmup", warmup, minimum=0)
    repeats = check_int("repeats", repeats, minimum=1)
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
    are its work and minimum memory traffic. ``kind`` is ``"matmul"``, ``"matvec"``, ``"copy"``
    or ``"read"``; ``size`` is ``n`` for matmul and matvec, the bytes of the array for copy and
    read."""

    kind: str
    size: int
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


def _dtype_bytes(dtype: str) -> int:
    """Bytes per element of ``dtype`` (one of :data:`DTYPE_BYTES`)."""
    return DTYPE_BYTES[check_choice("dtype", dtype, DTYPE_BYTES)]


def _elements(n_bytes: int, dtype: str) -> int:
    """The number of ``dtype`` elements in an array of ``n_bytes`` (rounded down, at least 1)."""
    b = _dtype_bytes(dtype)
    n_bytes = check_int("n_bytes", n_bytes, minimum=b)
    return n_bytes // b


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

    b = _dtype_bytes(dtype)
    n = check_int("n", n, minimum=1)
    rng = tf.random.Generator.from_seed(seed)
    a = tf.cast(rng.normal([n, n]), dtype)
    c = tf.cast(rng.normal([n, n]), dtype)
    f = _compiled(tf.matmul, jit_compile)
    return BenchCase("matmul", n, dtype, 2.0 * n**3, 3.0 * n * n * b, lambda: f(a, c))


def matvec_case(
    n: int, dtype: str = "float32", *, seed: int = 0, jit_compile: bool = False
) -> BenchCase:
    """``(n, n) @ (n, 1)``: ``2 n^2`` FLOPs, ``n^2 + 2 n`` elements moved (about ``4 n^2``
    bytes in float32): the arithmetic of one LLM decoding step with batch 1."""
    import tensorflow as tf

    b = _dtype_bytes(dtype)
    n = check_int("n", n, minimum=1)
    rng = tf.random.Generator.from_seed(seed)
    a = tf.cast(rng.uniform([n, n], -1, 1), dtype)
    x = tf.cast(rng.uniform([n, 1], -1, 1), dtype)
    f = _compiled(tf.matmul, jit_compile)
    nbytes = float(n * n + 2 * n) * b
    return BenchCase("matvec", n, dtype, 2.0 * n * n, nbytes, lambda: f(a, x))


def copy_case(n_bytes: int, dtype: str = "float32") -> BenchCase:
    """STREAM's "scale" kernel ``y = s x`` on an array of ``n_bytes``: counted as ``2 n_bytes``
    (read ``x``, write ``y``). Writing a fresh ``y`` may cost an extra read of it on CPUs
    (write-allocate), which this count ignores, as STREAM does."""
    import tensorflow as tf

    b = _dtype_bytes(dtype)
    n = _elements(n_bytes, dtype)
    x = tf.ones([n], dtype)
    # s is an input, so there is nothing to constant-fold
    s = tf.constant(1.5, dtype)
    f = _compiled(tf.multiply, False)
    return BenchCase("copy", n * b, dtype, float(n), 2.0 * n * b, lambda: f(x, s))


def read_case(n_bytes: int, dtype: str = "float32") -> BenchCase:
    """A sum over an array of ``n_bytes``: counted as ``n_bytes`` read (the output is one
    number)."""
    import tensorflow as tf

    b = _dtype_bytes(dtype)
    n = _elements(n_bytes, dtype)
    x = tf.ones([n], dtype)
    f = tf.function(lambda x: tf.reduce_sum(x))
    return BenchCase("read", n * b, dtype, float(n), float(n * b), lambda: f(x))


def run_case(case: BenchCase, warmup: int = 1, repeats: int = 5) -> BenchResult:
    """Time ``case`` with :func:`time_op`."""
    timing = time_op(case.fn, warmup, repeats)
    return BenchResult(case.kind, case.size, case.dtype, case.flops, case.bytes, timing)


def _as_tuple(name: str, values: Any) -> tuple:
    """``values`` as a non-empty tuple (one value becomes a tuple of one)."""
    if isinstance(values, Sequence) and not isinstance(values, str):
        values = tuple(values)
    else:
        values = (values,)
    if not values:
        raise ValueError(f"{name} is empty: give at least one")
    return values


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
    sizes = _as_tuple("sizes", sizes)
    for dtype in _as_tuple("dtypes", dtypes):
        _dtype_bytes(dtype)
        for n in sizes:
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
    sizes = _as_tuple("sizes", sizes)
    return tuple(run_case(matvec_case(n, dtype), warmup, repeats) for n in sizes)


def memory_bandwidth(
    n_bytes: int, *, warmup: int = 1, repeats: int = 5
) -> tuple[BenchResult, BenchResult]:
    """``(copy, read)`` results on float32 arrays of ``n_bytes``; their ``bytes_per_second``
    is the bandwidth. Use sizes well above the last-level cache
    (:func:`suggested_bandwidth_bytes`)."""
    copy = run_case(copy_case(n_bytes), warmup, repeats)
    read = run_case(read_case(n_bytes), warmup, repeats)
    return copy, read


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
    """Array size for :func:`memory_bandwidth`: ``max(minimum, 8 x the last-level cache)``
    (:func:`last_level_cache_bytes`), or ``minimum`` when the cache size is unknown. Eight
    times the cache makes the cache's share of the reads negligible."""
    minimum = check_int("minimum", minimum, minimum=1)
    llc = last_level_cache_bytes()
    if llc is None:
        return minimum
    return max(minimum, 8 * llc)
