"""A quiet TensorFlow start: known start-up lines of its C++ runtime are dropped, nothing else.

On a CPU machine TensorFlow 2.21 prints, on standard error, while it is being imported and
while it looks for devices (measured with :func:`start_tensorflow`'s steps one at a time):

* at ``import tensorflow`` (or ``import keras``), twice, once per copy of absl's logging in
  TensorFlow's two shared libraries::

      WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
      I0000 00:00:... port.cc:153] oneDNN custom operations are on. You may see slightly ...
      I0000 00:00:... cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU ...

* at the first device listing (``tf.config.list_physical_devices()``), once::

      E0000 00:00:... cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: ...

Nothing more is printed by the first op or the first XLA compilation at
``TF_CPP_MIN_LOG_LEVEL=2``. These lines come from C++ (absl logging, ``printf``) before absl
reads ``TF_CPP_MIN_LOG_LEVEL``, so that variable cannot hide them, and they bypass Python's
``sys.stderr``: in a notebook they show as a red block under the first cell.

:func:`quiet_stderr` therefore points the process's file descriptor 2 at a temporary file
around the code that prints them (``os.dup2``; this also works inside ipykernel, which
captures file descriptor 2 through a pipe of its own), and afterwards writes every line that
is **not** on the short list :data:`KNOWN_NOISE` back to ``sys.stderr``: a real warning, a
Python traceback or an unknown C++ line still shows. :func:`start_tensorflow` is the quiet
import and device listing used by :func:`course_lib.start` and by commands that use TensorFlow.

Set ``COURSE_QUIET=0`` to see everything (nothing is filtered); a ``TF_CPP_MIN_LOG_LEVEL``
of ``0`` or ``1`` (you asked for TensorFlow's INFO lines) also turns the filter off.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

QUIET_ENV = "COURSE_QUIET"

# absl's prefix of a C++ log line: severity letter, MMDD, time, thread id, file:line]
_ABSL = r"^[IWEF]\d{4} [\d:.]+\s+\d+ "


@dataclass(frozen=True)
class Noise:
    """One known start-up line: a name, the regular expression it matches, and why it is
    harmless. ``after``: the line counts as noise only when a line named ``after`` was seen
    first (in the same process)."""

    name: str
    pattern: re.Pattern[str]
    why: str
    after: str | None = None

    def matches(self, line: str) -> bool:
        """True when ``line`` (without its newline) is this noise."""
        return self.pattern.search(line) is not None


#: The start-up lines of TensorFlow 2.21 on a CPU machine; each is harmless there.
KNOWN_NOISE: tuple[Noise, ...] = (
    Noise(
        "absl-preinit",
        re.compile(
            r"^WARNING: All log messages before absl::InitializeLog\(\) is called "
            r"are written to STDERR$"
        ),
        # absl's own notice that TensorFlow logged before configuring absl: a fact about
        # TensorFlow's start-up order, not about this machine or the course's code.
        "absl notes that TensorFlow logs before it initialised logging; says nothing "
        "about this machine",
    ),
    Noise(
        "onednn-on",
        re.compile(_ABSL + r"port\.cc:\d+\] oneDNN custom operations are on\."),
        # INFO: TensorFlow uses Intel's oneDNN kernels on x86 CPUs (the default since 2.9);
        # results may differ from the Eigen kernels in the last bits of floating point.
        "INFO: oneDNN CPU kernels are in use (TensorFlow's default on x86); round-off may "
        "differ in the last bits",
    ),
    Noise(
        "no-cuda-driver",
        re.compile(
            _ABSL + r"cudart_stub\.cc:\d+\] Could not find cuda drivers on your machine, "
            r"GPU will not be used\.$"
        ),
        # INFO: no NVIDIA driver is installed, so TensorFlow runs on the CPU, which is what
        # the course expects on a laptop (the environment report lists the devices found).
        "INFO: no NVIDIA driver, TensorFlow uses the CPU (the course's default)",
    ),
    Noise(
        "cuinit-failed",
        re.compile(_ABSL + r"cuda_platform\.cc:\d+\] failed call to cuInit: "),
        # ERROR-level, but only the consequence of the line above: TensorFlow's CUDA
        # plugin tries to start a driver that is not there. Dropped only after
        # "no-cuda-driver" was seen, so on a machine WITH a driver a failing cuInit (a real
        # problem: broken driver, no device visible) still shows.
        "the CUDA plugin cannot start a driver that is not installed (dropped only after "
        "'Could not find cuda drivers')",
        after="no-cuda-driver",
    ),
)

#: Lines TensorFlow's graph optimiser (grappler) prints when it first optimises a training
#: step, known to be harmless: dropped around a Trainer's first compiled call only.
GRAPH_NOISE: tuple[Noise, ...] = (
    Noise(
        "remapper-leakyrelu",
        re.compile(
            _ABSL + r"meta_optimizer\.cc:\d+\] remapper failed: INVALID_ARGUMENT: "
            r"Mutation::Apply error: fanout '[^']*LeakyReluGrad' exist for missing node "
            r"'[^']*BiasAdd'"
        ),
        # grappler's remapper tries to fuse Conv2D + BiasAdd + LeakyRelu into one oneDNN
        # kernel, but the gradient (LeakyReluGrad) still needs the BiasAdd output, so the
        # rewrite is refused; the meta-optimiser logs it as an ERROR and keeps the graph as
        # it was before that pass. The step computes the same values, unfused (the DCGAN of
        # chapter 05 part 3 meets it on every CPU run).
        "an optional fusion (Conv2D + BiasAdd + LeakyRelu) that the gradient prevents; the "
        "graph runs unfused, with the same results",
    ),
)

#: oneDNN's note that it has no float16 kernels for this CPU: not noise (it explains why
#: ``mixed_float16`` is slow on a CPU), so nothing drops it by default; chapter 00 catches it
#: around its precision timing and prints it as part of the lesson instead of a red block.
ONEDNN_HALF_FALLBACK = Noise(
    "onednn-half-fallback",
    re.compile(_ABSL + r"util\.cc:\d+\] oneDNN supports DT_HALF only on platforms with"),
    "oneDNN has no float16 kernels for this CPU, so TensorFlow falls back to slower Eigen "
    "kernels (the check needs AVX512BW with AVX512_FP16, AMX_FP16 or AVX_NE_CONVERT)",
)

# Names of the noise lines this process has seen, for Noise.after
_seen: set[str] = set()


def filter_lines(text: str, noise: Sequence[Noise] = KNOWN_NOISE) -> tuple[list[str], list[str]]:
    """Split ``text`` into its lines ``(kept, dropped)``; each line keeps its newline.

    A line is dropped when one entry of ``noise`` matches it (and, for an entry with
    ``after``, the entry it names was seen before in this process); every other line is
    kept, in order, blank lines included.
    """
    kept: list[str] = []
    dropped: list[str] = []
    for line in text.splitlines(keepends=True):
        bare = line.rstrip("\r\n")
        entry = next(
            (n for n in noise if n.matches(bare) and (n.after is None or n.after in _seen)),
            None,
        )
        if entry is None:
            kept.append(line)
        else:
            _seen.add(entry.name)
            dropped.append(line)
    return kept, dropped


def quiet_enabled() -> bool:
    """False when ``COURSE_QUIET=0``, or ``TF_CPP_MIN_LOG_LEVEL`` is 0 or 1 (you asked for
    TensorFlow's INFO lines); True otherwise."""
    if os.environ.get(QUIET_ENV, "").strip() == "0":
        return False
    return os.environ.get("TF_CPP_MIN_LOG_LEVEL", "").strip() not in ("0", "1")


@dataclass
class Captured:
    """What :func:`quiet_stderr` caught: the lines it wrote back and those it dropped."""

    kept: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def _flush_python_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


@contextlib.contextmanager
def quiet_stderr(
    noise: Sequence[Noise] = KNOWN_NOISE, *, enabled: bool | None = None
) -> Iterator[Captured]:
    """Catch everything written to file descriptor 2 inside the block; afterwards write the
    lines that are not ``noise`` to ``sys.stderr``.

    C++ code writes to file descriptor 2 directly, not through ``sys.stderr``, so the
    descriptor itself is pointed at a temporary file (``os.dup2``) and restored at the end,
    also when the block raises. Python writes to ``sys.stderr`` in a terminal land in the
    same file and are written back, in order, after the block; inside ipykernel
    ``sys.stderr`` is not descriptor 2 and shows as usual. ``enabled=False`` (default:
    :func:`quiet_enabled`) catches nothing. Yields a :class:`Captured`, filled on exit.
    """
    captured = Captured()
    if enabled is None:
        enabled = quiet_enabled()
    fd = 2  # where C++ writes, whatever sys.stderr is
    if not enabled:
        yield captured
        return
    _flush_python_streams()
    try:
        saved = os.dup(fd)
    except OSError:  # no file descriptor 2 at all (a detached process): nothing to catch
        yield captured
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), fd)
        try:
            yield captured
        finally:
            _flush_python_streams()
            os.dup2(saved, fd)
            os.close(saved)
            sink.seek(0)
            text = sink.read().decode("utf-8", errors="replace")
            captured.kept, captured.dropped = filter_lines(text, noise)
            if captured.kept:
                sys.stderr.write("".join(captured.kept))
                _flush_python_streams()


def start_tensorflow() -> Any:
    """Import TensorFlow and list its devices, without its known start-up lines.

    These are the two steps that print them (see the module's docstring); afterwards
    TensorFlow prints only what ``TF_CPP_MIN_LOG_LEVEL`` lets through (``2`` is set here
    when unset: warnings and INFO hidden, errors shown). Returns the ``tensorflow`` module.
    Call it before anything else imports TensorFlow (or Keras): a later call has nothing
    left to hide.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with quiet_stderr():
        import keras  # noqa: F401  (Keras imports TensorFlow: the same lines)
        import tensorflow as tf

        tf.config.list_physical_devices()
    return tf
