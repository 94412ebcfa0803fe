"""Where the course finds its files: the repository, its shipped data, and its training runs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Paths:
    """Where the course finds its files.

    Attributes:
        root: the repository root (the folder holding ``course_lib/``).
        data: the course's shipped data (``root/data``; ``$COURSE_DATA_DIR`` overrides).
        runs: checkpoints and logs of training runs (``root/runs``; ``$COURSE_RUNS_DIR``
            overrides). Git ignores it.
    """

    root: Path
    data: Path
    runs: Path

    def run_dir(self, name: str) -> Path:
        """A folder for one named run's checkpoints, created on demand."""
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"run name must be a plain folder name, got {name!r}")
        path = self.runs / name
        path.mkdir(parents=True, exist_ok=True)
        return path


def get_paths() -> Paths:
    """Paths of this checkout, with environment overrides applied."""
    root = Path(__file__).resolve().parents[2]
    data = Path(os.environ.get("COURSE_DATA_DIR", root / "data")).expanduser()
    runs = Path(os.environ.get("COURSE_RUNS_DIR", root / "runs")).expanduser()
    return Paths(root=root, data=data, runs=runs)
