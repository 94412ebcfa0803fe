"""A one-line text progress bar for the course's long cells (layer 0, no TensorFlow).

::

    from course_lib.runtime.progress import progress

    for image in progress(images, desc="IWAE", unit="images"):
        ...

    with progress(total=n, desc="scoring", unit="samples") as bar:
        for batch in batches:
            ...
            bar.update(len(batch))

The bar is one line of text on ``sys.stdout``, redrawn in place with a carriage return::

    IWAE   37/100 images  37% [#######.............]  4.2 images/s, 9 s so far, about 15 s left

and it ends with a final line that gives the total time::

    IWAE  100/100 images 100% [####################]  4.2 images/s, done in 24 s

Why a small class and not a library: it writes to ``stdout`` (JupyterLab paints ``stderr``
red), it draws plain text (widgets break ``nbval`` and the offline HTML build), it redraws at
most twice a second (a saved notebook keeps every redraw), and it adds no dependency.

It is silent -- it still counts -- in the ``ci`` profile (``get_profile().show_progress`` is
false there, so tests compare no bar) and whenever ``COURSE_PROGRESS=0``.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

PROGRESS_ENV = "COURSE_PROGRESS"
"""Set ``COURSE_PROGRESS=0`` to silence every bar (``1`` or unset: the profile decides)."""

MIN_INTERVAL = 0.5
"""Seconds between two redraws at least (the first and the final line are always drawn)."""

BAR_WIDTH = 20

_now = time.monotonic  # the clock; tests replace it


def progress_enabled() -> bool:
    """Whether bars are drawn: the profile shows progress and ``COURSE_PROGRESS`` is not 0."""
    value = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if value in ("0", "false", "no", "off"):
        return False
    from course_lib.runtime.profiles import get_profile

    return get_profile().show_progress


def format_seconds(seconds: float) -> str:
    """``"9 s"``, ``"3 min 05 s"``, ``"1 h 02 min"``: a duration a reader takes in at a glance."""
    seconds = max(0.0, float(seconds))
    if seconds < 10:
        return f"{seconds:.1f} s"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def _format_rate(count: float, seconds: float, unit: str) -> str:
    if count <= 0 or seconds <= 0:
        return f"? {unit}/s"
    rate = count / seconds
    if rate >= 1:
        return f"{rate:.3g} {unit}/s"
    return f"{1 / rate:.3g} s each"


class Progress:
    """A progress bar over an iterable, or over units counted with :meth:`update`.

    Use it through :func:`progress`. ``n`` counts the units done, also when the bar is silent.
    """

    def __init__(
        self,
        iterable: Iterable[Any] | None = None,
        *,
        total: int | None = None,
        desc: str = "",
        unit: str = "it",
    ) -> None:
        if iterable is not None and not isinstance(iterable, Iterable):
            raise TypeError(
                f"progress() takes an iterable (a list, a range, a dataset), "
                f"got {type(iterable).__name__}; for a count use progress(total=n)"
            )
        if total is not None:
            if isinstance(total, bool) or not isinstance(total, int):
                raise TypeError(f"total must be an int (or None), got {total!r}")
            if total < 0:
                raise ValueError(f"total must be >= 0, got {total}")
        elif iterable is not None:
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except TypeError:
                total = None  # a generator: count without a percentage or a time estimate
        if not isinstance(desc, str):
            raise TypeError(f"desc must be a str, got {desc!r}")
        if not isinstance(unit, str) or not unit.strip():
            raise ValueError(f"unit must be a non-empty str such as 'images', got {unit!r}")
        self.iterable = iterable
        self.total = total
        self.desc = desc
        self.unit = unit.strip()
        self.n = 0
        self.enabled = progress_enabled()
        self.closed = False
        self._start = _now()
        self._last_draw = -math.inf
        self._width = 0  # length of the line on screen, so a shorter one can cover it
        self._used = False
        self._draw(force=True)

    # -- counting ---------------------------------------------------------------------------
    def update(self, n: int = 1) -> None:
        """Count ``n`` more units done (redraws at most every ``MIN_INTERVAL`` seconds)."""
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"update() takes an int count, got {n!r}")
        if n < 0:
            raise ValueError(f"update() takes a count >= 0, got {n}")
        if self.closed:
            raise RuntimeError(f"progress bar {self.desc!r} is closed; make a new one")
        self.n += n
        self._draw()

    @property
    def elapsed(self) -> float:
        """Seconds since the bar was made."""
        return _now() - self._start

    def __iter__(self) -> Iterator[Any]:
        if self.iterable is None:
            raise TypeError(
                "this progress bar wraps no iterable: use progress(items) to iterate, "
                "or bar.update(n) with progress(total=n)"
            )
        if self._used:
            raise RuntimeError(f"progress bar {self.desc!r} was already iterated; make a new one")
        self._used = True
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __len__(self) -> int:
        if self.total is None:
            raise TypeError("this progress bar has no total")
        return self.total

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Draw the final line (total time) once; later calls do nothing."""
        if self.closed:
            return
        self.closed = True
        self._draw(force=True, final=True)

    # -- drawing ----------------------------------------------------------------------------
    def line(self, final: bool = False) -> str:
        """The text of the bar as it stands (what is drawn, without the carriage return)."""
        elapsed = self.elapsed
        head = f"{self.desc}  " if self.desc else ""
        if self.total is not None:
            digits = len(str(self.total))
            head += f"{self.n:>{digits}}/{self.total} {self.unit}"
            if self.total > 0:
                fraction = min(1.0, self.n / self.total)
                filled = int(fraction * BAR_WIDTH)
                bar = "#" * filled + "." * (BAR_WIDTH - filled)
                head += f" {fraction:4.0%} [{bar}]"
        else:
            head += f"{self.n} {self.unit}"
        rate = _format_rate(self.n, elapsed, self.unit)
        if final:
            done = self.total is None or self.n >= self.total
            ending = "done" if done else "stopped"
            return f"{head}  {rate}, {ending} in {format_seconds(elapsed)}"
        tail = f"{format_seconds(elapsed)} so far"
        if self.n > 0:
            tail = f"{rate}, {tail}"
        if self.total is not None and 0 < self.n < self.total:
            left = elapsed / self.n * (self.total - self.n)
            tail += f", about {format_seconds(left)} left"
        return f"{head}  {tail}"

    def _draw(self, force: bool = False, final: bool = False) -> None:
        if not self.enabled:
            return
        now = _now()
        if not force and now - self._last_draw < MIN_INTERVAL:
            return
        self._last_draw = now
        text = self.line(final=final)
        pad = " " * max(0, self._width - len(text))
        self._width = len(text)
        stream = sys.stdout
        stream.write("\r" + text + pad + ("\n" if final else ""))
        stream.flush()


def progress(
    iterable: Iterable[Any] | None = None,
    *,
    total: int | None = None,
    desc: str = "",
    unit: str = "it",
) -> Progress:
    """A text progress bar with count, rate and time left, on ``stdout``; silent in ``ci``.

    Args:
        iterable: what to loop over (``for x in progress(xs)``); its ``len`` is the total when
            it has one. ``None`` for a bar counted with ``bar.update(n)``.
        total: how many units in all (overrides ``len(iterable)``); ``None`` when unknown (no
            percentage, no time estimate).
        desc: a short label in front of the bar.
        unit: what is counted, e.g. ``"images"``, ``"batches"``.

    Raises:
        TypeError: ``iterable`` is not iterable, ``total`` is not an int, ``desc`` is not a str.
        ValueError: ``total`` is negative, ``unit`` is empty.
    """
    return Progress(iterable, total=total, desc=desc, unit=unit)


__all__ = [
    "MIN_INTERVAL",
    "PROGRESS_ENV",
    "Progress",
    "format_seconds",
    "progress",
    "progress_enabled",
]
