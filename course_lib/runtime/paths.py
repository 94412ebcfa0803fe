"""Where the course finds its files: the repository, its shipped data, and its training runs."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from course_lib.runtime.validation import check_bool


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

    def run_dir(self, name: str, *, fresh: bool) -> Path:
        """The folder of one named training run (checkpoints, history), created on demand.

        ``fresh=True`` deletes what an earlier run left there, so training starts from
        step 0; ``fresh=False`` keeps it, so a :class:`~course_lib.training.Trainer` given
        this folder resumes from its newest checkpoint (or starts, if there is none). The
        argument has no default: whether a run resumes is a choice the caller states.
        """
        if (
            not isinstance(name, str)
            or not name
            or "/" in name
            or "\\" in name
            or name.startswith(".")
        ):
            raise ValueError(f"run name must be a plain folder name, got {name!r}")
        check_bool("fresh", fresh)
        path = self.runs / name
        if fresh and path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True, exist_ok=True)
        return path


def get_paths() -> Paths:
    """Paths of this checkout, with environment overrides applied."""
    root = Path(__file__).resolve().parents[2]
    data = Path(os.environ.get("COURSE_DATA_DIR", root / "data")).expanduser()
    runs = Path(os.environ.get("COURSE_RUNS_DIR", root / "runs")).expanduser()
    return Paths(root=root, data=data, runs=runs)


def chapter_notebooks(chapters: str | Path) -> list[Path]:
    """The chapter notebooks under ``chapters``, sorted, without JupyterLab's autosaved copies.

    JupyterLab keeps a copy of every notebook it opens in ``.ipynb_checkpoints/`` beside it,
    outputs included; those copies are not part of the course.
    """
    folder = Path(chapters)
    return sorted(
        path for path in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in path.parts
    )
