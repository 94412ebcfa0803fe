"""What one build of the site does (:class:`BuildOptions`) and what it did (:class:`BuildResult`).

Standard library and :mod:`course_lib.runtime` only, so that the command line can describe a
build without the build's tools installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from course_lib.runtime.profiles import PROFILES
from course_lib.runtime.validation import check_bool, check_choice, check_real

DEFAULT_TIMEOUT = 600.0  # seconds per cell, as the tests' nbval run allows


@dataclass(frozen=True)
class BuildOptions:
    """What one build does.

    Attributes:
        profile: the run profile the notebooks execute in.
        out: the folder of the HTML site.
        build_dir: the build's working folder: ``cache/<profile>/`` (executed notebooks),
            ``src/<profile>/`` (the generated Sphinx project), ``runs/<profile>/`` (the
            training runs of the executed notebooks, apart from a learner's own ``runs/``),
            ``logs/<profile>/`` (kernel and Sphinx messages), ``doctrees/``.
        chapters: the folder of chapter notebooks; the folder above it is the course's root
            (its ``README.md`` and ``data/`` are used when they exist).
        selected: the notebooks to execute; ``None``: all of them.
        instructor: render the solutions and hidden tests (an instructor's site).
        timeout: the longest one cell may run, in seconds.
        use_cache: take an unchanged notebook's outputs from the cache.
    """

    profile: str
    out: Path
    build_dir: Path
    chapters: Path
    selected: tuple[Path, ...] | None = None
    instructor: bool = False
    timeout: float = DEFAULT_TIMEOUT
    use_cache: bool = True

    def __post_init__(self) -> None:
        check_choice("profile", self.profile, tuple(PROFILES))
        check_real("timeout", self.timeout, minimum=1.0)
        check_bool("instructor", self.instructor)
        check_bool("use_cache", self.use_cache)
        for name in ("out", "build_dir", "chapters"):
            object.__setattr__(self, name, Path(getattr(self, name)))
        if not self.chapters.is_dir():
            raise ValueError(f"chapters must be a folder; {self.chapters} is not one")
        if self.selected is not None:
            object.__setattr__(self, "selected", tuple(Path(p) for p in self.selected))


@dataclass
class BuildResult:
    """What a build did: a record per chapter notebook (in the chapters' order), the problems
    that fail the build (one line each), and where the site is."""

    records: list = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    index: Path | None = None
    report: Path | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems
