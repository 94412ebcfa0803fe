"""``python -m course_lib release`` and ``python -m course_lib grade``: the instructor's commands.

``release [CHAPTER|NOTEBOOK ...] [--out DIR] [--format nbgrader|otter]`` writes the student
copies of the named chapters (default: all) into an nbgrader course directory (default
``_build/classroom``), or, with ``--format otter``, otter-grader master notebooks run through
``otter assign`` (default ``_build/otter``). ``grade SUBMISSION ... [--course DIR] [--csv F]``
autogrades submitted notebooks with nbgrader and writes one row per student and exercise.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from course_lib.classroom import nbgrader_course
from course_lib.classroom.otter import export_and_assign
from course_lib.runtime.paths import chapter_notebooks, get_paths


def select_notebooks(names: list[str]) -> list[Path]:
    """The chapter notebooks named by ``names``: chapter folders, notebook paths or stems.

    An empty list means every chapter notebook. Raises ``ValueError`` naming what matched
    nothing.
    """
    chapters = get_paths().root / "chapters"
    every = chapter_notebooks(chapters)
    if not names:
        return every
    chosen: list[Path] = []
    for name in names:
        path = Path(name)
        matches = [
            nb
            for nb in every
            if nb.resolve() == path.resolve()
            or nb.parent.name == path.name
            or nb.stem == path.stem
            or nb.parent.resolve() == path.resolve()
        ]
        if not matches:
            known = ", ".join(sorted({nb.parent.name for nb in every}))
            raise ValueError(f"{name!r} is neither a chapter ({known}) nor one of its notebooks")
        chosen.extend(nb for nb in matches if nb not in chosen)
    return chosen


def add_release_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("chapters", nargs="*", help="chapter folders or notebooks (default: all)")
    parser.add_argument("--out", type=Path, help="output folder")
    parser.add_argument(
        "--format", choices=("nbgrader", "otter"), default="nbgrader", help="default: nbgrader"
    )
    parser.add_argument(
        "--no-nbgrader",
        action="store_true",
        help="make the student copies with the course's own code even if nbgrader is installed",
    )


def release(args: argparse.Namespace) -> int:
    """Write student copies (nbgrader layout) or an otter-grader export; print a table."""
    try:
        notebooks = select_notebooks(args.chapters)
    except ValueError as e:
        print(f"release: {e}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    if args.format == "otter":
        return _release_otter(notebooks, args.out or get_paths().root / "_build" / "otter", start)
    out = args.out or get_paths().root / "_build" / "classroom"
    use_nbgrader = False if args.no_nbgrader else None
    released = nbgrader_course.release(notebooks, out, use_nbgrader=use_nbgrader)
    how = "nbgrader" if nbgrader_course.has_nbgrader() and not args.no_nbgrader else "course_lib"
    print(f"{'assignment':<26} {'notebook':<28} {'exercises':>9} {'points':>6}")
    for r in released:
        print(f"{r.assignment:<26} {r.notebook:<28} {r.exercises:>9} {r.points:>6}")
    total = sum(r.points for r in released)
    print(
        f"{len(released)} notebooks, {sum(r.exercises for r in released)} exercises, "
        f"{total} points; student copies ({how}) in {Path(out) / 'release'}; "
        f"{time.perf_counter() - start:.1f} s"
    )
    return 0


def _release_otter(notebooks: list[Path], out: Path, start: float) -> int:
    """One otter master notebook per course notebook, each run through ``otter assign``."""
    try:
        import otter  # noqa: F401
    except ImportError:
        print(f"release --format otter needs otter-grader: {nbgrader_course.INSTALL_HINT}")
        return 2
    out = Path(out).resolve()
    for path in notebooks:
        folder = out / path.parent.name / path.stem
        result = export_and_assign(path, folder)
        if result.returncode != 0:
            print(
                f"otter assign failed for {path}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
            )
            return 1
        print(
            f"{path.parent.name}/{path.stem}: otter assign passed; "
            f"student copy in {folder / 'dist' / 'student'}"
        )
    print(f"{len(notebooks)} notebooks exported for otter in {time.perf_counter() - start:.1f} s")
    return 0


def add_grade_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("submissions", nargs="+", type=Path, help="submitted notebooks")
    parser.add_argument(
        "--course",
        type=Path,
        help="the nbgrader course folder `release` wrote (default: _build/classroom)",
    )
    parser.add_argument("--student", help="the student's id (default: each file's folder name)")
    parser.add_argument("--csv", type=Path, help="score table (default: COURSE/grades.csv)")
    parser.add_argument("--profile", default="ci", help="profile the notebooks run in (default ci)")
    parser.add_argument(
        "--timeout",
        type=int,
        default=nbgrader_course.DEFAULT_TIMEOUT,
        help=f"seconds per cell (default {nbgrader_course.DEFAULT_TIMEOUT}; nbgrader's own is 30)",
    )


def grade(args: argparse.Namespace) -> int:
    """Autograde submissions; write the CSV; print one line per student and notebook."""
    course = args.course or get_paths().root / "_build" / "classroom"
    start = time.perf_counter()
    try:
        scores = nbgrader_course.grade(
            args.submissions,
            course,
            student=args.student,
            profile=args.profile,
            timeout=args.timeout,
        )
    except (ValueError, FileNotFoundError, ModuleNotFoundError) as e:
        print(f"grade: {e}", file=sys.stderr)
        return 2
    csv_path = args.csv or Path(course) / "grades.csv"
    nbgrader_course.write_scores(scores, csv_path)
    print(nbgrader_course.summary(scores))
    print(f"scores of {len(scores)} exercises in {csv_path}; {time.perf_counter() - start:.1f} s")
    return 0
