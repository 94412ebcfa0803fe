"""The first line of every chapter: ``nb = course_lib.start()``.

Before a notebook computes anything it needs the same six things, in this order:

1. a clock, started first, so the notebook can report its own run time;
2. TensorFlow's C++ log level, set *before* TensorFlow is imported (``TF_CPP_MIN_LOG_LEVEL``,
   kept if the learner set it) and Python-side TensorFlow warnings limited to real ones;
3. the run profile (``COURSE_PROFILE``), which sizes every experiment;
4. seeds for Python, NumPy, TensorFlow and Keras, so a run repeats;
5. the device set-up (``tf.distribute`` strategy, precision policy), chosen from the
   hardware found; TensorFlow's import and device set-up run inside
   :func:`~course_lib.runtime.quiet.quiet_stderr`, so its known start-up lines (absl,
   oneDNN, "no CUDA driver") do not show as a red block, while any other line still does;
6. a CJK font as matplotlib's fallback, so Chinese labels in figures are readable
   (:func:`~course_lib.runtime.fonts.use_cjk_fallback`; one line says what to install when
   the machine has none).

:func:`start` does all six, prints a two-line banner and returns a :class:`Notebook`
that holds the results. A notebook that never uses TensorFlow passes ``tensorflow=False``
and stays light: it seeds Python's ``random`` only, and imports neither TensorFlow nor Keras.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course_lib.runtime.fonts import use_cjk_fallback
from course_lib.runtime.paths import Paths, get_paths
from course_lib.runtime.profiles import Profile, get_profile
from course_lib.runtime.quiet import quiet_stderr
from course_lib.runtime.validation import check_int

TF_LOG_LEVEL = "2"  # hide TensorFlow's C++ INFO and WARNING lines, keep its errors


@dataclass
class Notebook:
    """What :func:`start` set up for one notebook.

    Attributes:
        profile: the run profile (sizes of every experiment).
        paths: the repository, its data and its training runs.
        seed: the seed every generator got.
        setup: the device set-up (strategy, precision, hardware) or ``None`` without TensorFlow.
        started: ``time.perf_counter()`` when :func:`start` was called.
        cpu_started: ``time.process_time()`` at the same moment.
    """

    profile: Profile
    paths: Paths
    seed: int
    setup: Any = None  # course_lib.runtime.devices.RuntimeSetup
    started: float = field(default_factory=time.perf_counter)
    cpu_started: float = field(default_factory=time.process_time)

    @property
    def strategy(self) -> Any:
        """The ``tf.distribute.Strategy`` to build models under (``with nb.strategy.scope():``)."""
        if self.setup is None:
            raise RuntimeError("start(tensorflow=False) set up no strategy: TensorFlow is unused")
        return self.setup.strategy

    def run_dir(self, name: str, *, fresh: bool) -> Path:
        """The folder of a training run; ``fresh=True`` empties it first (:meth:`Paths.run_dir`)."""
        return self.paths.run_dir(name, fresh=fresh)

    def elapsed(self) -> float:
        """Wall-clock seconds since :func:`start`."""
        return time.perf_counter() - self.started

    def cpu_seconds(self) -> float:
        """CPU seconds this process used since :func:`start` (all threads, all cores)."""
        return time.process_time() - self.cpu_started

    def run_time(self) -> str:
        """One line for the end of a notebook: wall-clock and CPU time since :func:`start`."""
        return (
            f"whole notebook {self.elapsed():.0f} s wall clock, {self.cpu_seconds():.0f} s CPU "
            f"(profile {self.profile.name!r})"
        )


def start(
    seed: int = 0,
    *,
    tensorflow: bool = True,
    precision: str | None = None,
    strategy: str | None = None,
    deterministic_ops: bool = False,
) -> Notebook:
    """Start a chapter: clock, log level, profile, seeds, devices, fonts; print a banner.

    Args:
        seed: seed for Python's ``random``, NumPy's legacy global generator, TensorFlow and
            Keras (see :func:`~course_lib.runtime.seeding.set_seed`).
        tensorflow: set up TensorFlow (strategy and precision). ``False`` for notebooks that
            do not use it: nothing imports TensorFlow then.
        precision: a Keras precision policy, overriding ``$COURSE_PRECISION`` and the choice
            made from the hardware (``"float32"``, ``"mixed_float16"``, ``"mixed_bfloat16"``).
        strategy: a strategy kind (``"default"``, ``"mirrored"``, ...), overriding the choice
            made from the hardware.
        deterministic_ops: ask TensorFlow for deterministic kernels (slower; cannot be undone).

    Returns:
        A :class:`Notebook` with the profile, paths, seed and device set-up.

    Raises:
        ValueError: ``COURSE_PROFILE`` names no profile, or the seed is negative.
    """
    started, cpu_started = time.perf_counter(), time.process_time()
    seed = check_int("seed", seed, minimum=0)
    profile = get_profile()  # fails early, with the valid names, on a bad COURSE_PROFILE
    nb = Notebook(profile, get_paths(), seed, None, started, cpu_started)
    if not tensorflow:
        random.seed(seed)
        print(f"profile {profile.name!r}: {profile.description}")
        use_cjk_fallback()
        return nb
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", TF_LOG_LEVEL)
    with quiet_stderr():  # TensorFlow's C++ start-up lines: import and first device listing
        import keras
        import tensorflow as tf

        from course_lib.runtime.devices import RuntimeSetup
        from course_lib.runtime.seeding import set_seed

        tf.get_logger().setLevel("WARNING")
        set_seed(seed, deterministic_ops=deterministic_ops)
        nb.setup = RuntimeSetup.setup(precision=precision, strategy=strategy)
    replicas = nb.setup.strategy.num_replicas_in_sync
    print(f"profile {profile.name!r}: {profile.description}")
    print(
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}, precision {nb.setup.precision}, "
        f"strategy {nb.setup.strategy_kind} ({replicas} replica{'s' if replicas > 1 else ''})"
    )
    use_cjk_fallback()
    return nb
