"""Release and grade the course's exercises with nbgrader, in nbgrader's own course layout.

An nbgrader course directory holds ``source/<assignment>/`` (the instructor notebooks),
``release/<assignment>/`` (the student copies), ``submitted/<student>/<assignment>/``,
``autograded/...`` and the gradebook ``gradebook.db``. Here an assignment is a chapter
(``04_math``) and its notebooks are the chapter's notebooks. :func:`release` copies the
chapter notebooks into ``source/`` (checked and tagged), then runs nbgrader's own
``generate_assignment`` (its preprocessors clear the solutions, remove the hidden tests,
clear outputs, lock cells and record checksums in the gradebook). Without nbgrader installed
(the ``instructor`` extra), it writes the same student copies with
:func:`course_lib.classroom.student.student_copy`, and no gradebook.

:func:`grade` copies submitted notebooks into ``submitted/``, runs nbgrader's ``autograde``
(which puts the source's version of every locked and graded cell back, including cells the
student deleted, then executes the notebook), and reads each exercise's score from the
gradebook. Known pitfalls handled here:

* nbgrader creates the gradebook by calling the ``alembic`` command, which is found only if
  the Python environment's ``bin`` folder is on ``PATH`` (not so for ``/path/venv/bin/python -m
  course_lib``): :func:`_environment` puts it there.
* a copied cell carries the same ``grade_id``: :func:`release` refuses the source notebook
  (naming the cells), and nbgrader's ``DeduplicateIds`` keeps one per id in a submission.
* a student who deletes a graded cell: ``OverwriteCells.add_missing_cells`` is on, so the
  cell is put back from the source and graded.
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course_lib.classroom.exercises import (
    duplicate_grade_ids,
    find_exercises,
    metadata_problems,
    total_points,
)
from course_lib.classroom.student import student_copy
from course_lib.runtime.paths import get_paths
from course_lib.runtime.profiles import PROFILES

INSTALL_HINT = "install the instructor tools: pip install -e '.[instructor]'"
# Seconds per cell when grading. nbgrader's default is 30 s, which every exercise's answer and
# checks meet by far in the `ci` profile (tests/test_classroom_release.py measures them); but
# a chapter's training cells take up to about 20 s in `ci` on an idle 2-core machine and more
# on a loaded grading server, and a timed-out training cell would fail every later cell.
DEFAULT_TIMEOUT = 120
EXERCISE_CELL_LIMIT = 30.0  # seconds: what one answer or checks cell may take in `ci`


@dataclass(frozen=True)
class Released:
    """One released notebook: its assignment (chapter), name, exercises, points and path."""

    assignment: str
    notebook: str
    exercises: int
    points: int
    path: Path


@dataclass(frozen=True)
class Score:
    """One graded exercise of one student's notebook."""

    student: str
    assignment: str
    notebook: str
    exercise: str
    score: float
    max_score: float


def has_nbgrader() -> bool:
    """True if nbgrader can be imported (the ``instructor`` extra is installed)."""
    try:
        import nbgrader  # noqa: F401
    except ImportError:
        return False
    return True


@contextlib.contextmanager
def _environment(**variables: str) -> Iterator[None]:
    """This environment's ``bin`` first on ``PATH`` (for ``alembic``), plus ``variables``.

    Kernels that nbgrader starts inherit the process environment, so ``COURSE_PROFILE`` set
    here is the profile the graded notebooks run in.
    """
    saved = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    os.environ.update(variables)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _config(root: Path, timeout: int):
    from traitlets.config import Config

    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.course_id = "llms-architecture-of-computing"
    config.OverwriteCells.add_missing_cells = True
    config.Execute.timeout = timeout
    return config


def _write_config_file(root: Path, timeout: int) -> None:
    """An ``nbgrader_config.py``, so that the instructor can also run ``nbgrader`` here."""
    (root / "nbgrader_config.py").write_text(
        "# Written by `python -m course_lib release`: nbgrader's settings for this course.\n"
        "c = get_config()  # noqa: F821\n"
        'c.CourseDirectory.course_id = "llms-architecture-of-computing"\n'
        "# put back graded cells a student deleted, and grade them\n"
        "c.OverwriteCells.add_missing_cells = True\n"
        f"c.Execute.timeout = {timeout}  # seconds per cell\n",
        encoding="utf-8",
    )


def assignment_of(notebook: Path) -> str:
    """The assignment a chapter notebook belongs to: its chapter folder's name."""
    return notebook.resolve().parent.name


def check_source(nb: nbformat.NotebookNode, name: str) -> None:
    """Raise ``ValueError`` if ``nb`` cannot be released: broken format, stale or duplicate ids."""
    find_exercises(nb, name)
    problems = duplicate_grade_ids(nb, name) + metadata_problems(nb, name)
    if problems:
        raise ValueError("\n".join(problems))


def release(
    notebooks: Sequence[Path],
    root: Path,
    *,
    use_nbgrader: bool | None = None,
    timeout: int = DEFAULT_TIMEOUT,
) -> list[Released]:
    """Write ``root/source/<chapter>/`` and the student copies in ``root/release/<chapter>/``.

    ``use_nbgrader=None`` uses nbgrader when it is installed; ``True`` requires it; ``False``
    uses the course's own student copy. Existing folders of these chapters are replaced.
    """
    if use_nbgrader is None:
        use_nbgrader = has_nbgrader()
    elif use_nbgrader and not has_nbgrader():
        raise ModuleNotFoundError(f"nbgrader is not installed: {INSTALL_HINT}")
    root = Path(root).resolve()
    by_assignment: dict[str, list[Path]] = {}
    for path in notebooks:
        by_assignment.setdefault(assignment_of(Path(path)), []).append(Path(path))
    released = []
    for assignment, paths in by_assignment.items():
        for folder in (root / "source" / assignment, root / "release" / assignment):
            shutil.rmtree(folder, ignore_errors=True)
        (root / "source" / assignment).mkdir(parents=True)
        for path in paths:
            nb = nbformat.read(path, as_version=4)
            check_source(nb, str(path))
            nbformat.write(nb, root / "source" / assignment / path.name)
            if not use_nbgrader:
                out = root / "release" / assignment / path.name
                out.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(student_copy(nb, name=str(path)), out)
        if use_nbgrader:
            _generate_assignment(root, assignment, timeout)
        for path in paths:
            exercises = find_exercises(nbformat.read(path, as_version=4), str(path))
            released.append(
                Released(
                    assignment,
                    path.stem,
                    len(exercises),
                    total_points(exercises),
                    root / "release" / assignment / path.name,
                )
            )
    errata = get_paths().root / "chapters" / "errata.md"
    if errata.exists():  # the notebooks link ../errata.md
        shutil.copyfile(errata, root / "release" / "errata.md")
    if use_nbgrader:
        _write_config_file(root, timeout)
    return released


def _generate_assignment(root: Path, assignment: str, timeout: int) -> None:
    from nbgrader.apps import NbGraderAPI

    with _environment():
        api = NbGraderAPI(config=_config(root, timeout))
        result = api.generate_assignment(assignment, force=True, create=True)
    if not result["success"]:
        raise RuntimeError(
            f"nbgrader generate_assignment failed for {assignment}:\n{result.get('error')}\n"
            f"{result.get('log', '')}"
        )


def _find_assignment(root: Path, notebook: str) -> str:
    matches = sorted(p.parent.name for p in (root / "source").glob(f"*/{notebook}.ipynb"))
    if len(matches) != 1:
        known = sorted(p.stem for p in (root / "source").glob("*/*.ipynb"))
        raise ValueError(
            f"no released notebook is called {notebook!r} in {root}/source "
            f"(found {matches or 'none'}); submissions keep the released file name, one of {known}"
        )
    return matches[0]


def grade(
    submissions: Sequence[Path],
    root: Path,
    *,
    student: str | None = None,
    profile: str = "ci",
    timeout: int = DEFAULT_TIMEOUT,
) -> list[Score]:
    """Autograde ``submissions`` with nbgrader and return one :class:`Score` per exercise.

    Each submission is a notebook file named as released; its student is ``student`` or,
    by default, the name of the folder it sits in (as in an LMS download,
    ``submissions/<student>/<notebook>.ipynb``). Notebooks run in ``profile`` (the exercises'
    checks are written for ``ci``), with ``timeout`` seconds per cell.
    """
    if not has_nbgrader():
        raise ModuleNotFoundError(f"grading needs nbgrader: {INSTALL_HINT}")
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI

    root = Path(root).resolve()
    if not (root / "gradebook.db").exists():
        raise FileNotFoundError(
            f"{root} has no gradebook: run `python -m course_lib release --out {root}` first"
        )
    jobs: dict[tuple[str, str], list[str]] = {}
    for path in map(Path, submissions):
        if not path.is_file():
            raise FileNotFoundError(f"no submission at {path}")
        who = student or path.resolve().parent.name
        assignment = _find_assignment(root, path.stem)
        target = root / "submitted" / who / assignment / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nb = nbformat.read(path, as_version=4)
        for message in drop_duplicate_ids(nb):
            print(f"grade: {path}: {message}", file=sys.stderr)
        nbformat.write(nb, target)
        jobs.setdefault((who, assignment), []).append(path.stem)
    scores: list[Score] = []
    with _environment(COURSE_PROFILE=profile, COURSE_WIDGETS="0"):
        api = NbGraderAPI(config=_config(root, timeout))
        for (who, assignment), notebooks in jobs.items():
            result = api.autograde(assignment, who, force=True, create=True)
            if not result["success"]:
                raise RuntimeError(
                    f"nbgrader autograde failed for {who}/{assignment}:\n"
                    f"{result.get('error')}\n{result.get('log', '')}"
                )
            with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
                for notebook in notebooks:
                    submitted = gradebook.find_submission_notebook(notebook, assignment, who)
                    scores.extend(
                        Score(who, assignment, notebook, g.name, g.score, g.max_score)
                        for g in sorted(submitted.grades, key=lambda g: _exercise_order(g.name))
                    )
    return scores


def exercise_cell_seconds(nb: nbformat.NotebookNode) -> dict[str, float]:
    """``{grade_id: seconds}`` of every executed answer and checks cell of ``nb``.

    From the timestamps the kernel client records in each cell's ``metadata.execution``
    (``iopub.execute_input`` to ``shell.execute_reply``), as in an autograded notebook.
    """
    from datetime import datetime

    seconds = {}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        times = cell.metadata.get("execution", {})
        if grade_id.split("-")[-1] in {"answer", "checks"} or "-answer-" in grade_id:
            start, end = times.get("iopub.execute_input"), times.get("shell.execute_reply")
            if start and end:
                seconds[grade_id] = (
                    datetime.fromisoformat(end.replace("Z", "+00:00"))
                    - datetime.fromisoformat(start.replace("Z", "+00:00"))
                ).total_seconds()
    return seconds


def drop_duplicate_ids(nb: nbformat.NotebookNode) -> list[str]:
    """Keep the nbgrader metadata of the last cell per ``grade_id``; drop it from earlier copies.

    A student who copies a graded cell submits two cells with one id. nbgrader's own
    ``DeduplicateIds`` empties the earlier copy's metadata to ``{}``, which then crashes its
    ``OverwriteCells`` when a cell was also deleted (nbgrader 0.9.6: ``KeyError: 'grade_id'``);
    removing the key instead grades the same way without the crash. Changes ``nb`` in place
    and returns one message per dropped copy.
    """
    seen: set[str] = set()
    messages = []
    for index in reversed(range(len(nb.cells))):
        cell = nb.cells[index]
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is None:
            continue
        if grade_id in seen:
            del cell.metadata["nbgrader"]
            messages.append(f"cell {index} repeats grade_id {grade_id!r}; it is graded once")
        seen.add(grade_id)
    return messages


def _exercise_order(grade_id: str) -> tuple[int, str]:
    number = grade_id.removeprefix("ex").split("-")[0]
    return (int(number), grade_id) if number.isdigit() else (10**6, grade_id)


def write_scores(scores: Sequence[Score], path: Path) -> None:
    """The score table as CSV: student, assignment, notebook, exercise, score, max_score."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "assignment", "notebook", "exercise", "score", "max_score"])
        for s in scores:
            writer.writerow([s.student, s.assignment, s.notebook, s.exercise, s.score, s.max_score])


def summary(scores: Sequence[Score]) -> str:
    """One line per student and notebook: points scored of points possible, and per exercise."""
    rows: dict[tuple[str, str], list[Score]] = {}
    for s in scores:
        rows.setdefault((s.student, s.notebook), []).append(s)
    lines = []
    for (who, notebook), items in rows.items():
        got, out_of = sum(s.score for s in items), sum(s.max_score for s in items)
        parts = "  ".join(
            f"{s.exercise.removesuffix('-checks')} {s.score:g}/{s.max_score:g}" for s in items
        )
        lines.append(f"{who:<16} {notebook:<28} {got:g}/{out_of:g}   {parts}")
    return "\n".join(lines)
