"""Write (or, with --check, verify) the nbgrader metadata of every graded exercise.

Usage: python tools/tag_exercises.py [--check] [NOTEBOOK ...]   (default: every chapter)

The exercise format is described in course_lib/classroom/exercises.py. The tool reads the
exercises from the cells' text, refuses a notebook whose format is broken (naming the cell),
and writes nbgrader schema-3 metadata on exactly the exercise cells. It prints one line per
notebook: its exercises and points.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from course_lib.classroom.exercises import (
    ExerciseFormatError,
    find_exercises,
    metadata_problems,
    tag,
    total_points,
)
from course_lib.runtime.paths import chapter_notebooks, get_paths


def exercise_table(paths: list[Path]) -> str:
    """The README's markdown table: per notebook, its exercises, points and titles; a total."""
    lines = [
        "| notebook | exercises | points | the exercises (points) |",
        "| --- | --- | --- | --- |",
    ]
    count = points = 0
    for path in paths:
        exercises = find_exercises(nbformat.read(path, as_version=4), str(path))
        titles = "; ".join(f"{e.number}. {e.title} ({e.points})" for e in exercises)
        total = total_points(exercises)
        lines.append(
            f"| `{path.parent.name}/{path.stem}` | {len(exercises)} | {total} | {titles} |"
        )
        count, points = count + len(exercises), points + total
    lines.append(f"| all notebooks | {count} | {points} | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only verify; change nothing")
    parser.add_argument(
        "--table", action="store_true", help="print the README's table of exercises and stop"
    )
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.notebooks or chapter_notebooks(get_paths().root / "chapters")
    if args.table:
        print(exercise_table(paths))
        return 0
    failed = 0
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        try:
            exercises = find_exercises(nb, str(path))
            problems = metadata_problems(nb, str(path))
        except ExerciseFormatError as e:
            print(f"ERROR {e}", file=sys.stderr)
            failed += 1
            continue
        if len(exercises) < 2:
            print(
                f"ERROR {path}: {len(exercises)} exercise(s); every notebook needs at least 2",
                file=sys.stderr,
            )
            failed += 1
        if problems and args.check:
            print("\n".join(f"ERROR {p}" for p in problems), file=sys.stderr)
            failed += 1
        elif problems:
            nbformat.write(tag(nb, str(path)), path)
        points = ", ".join(f"{e.number}: {e.points}" for e in exercises)
        state = "retagged" if problems and not args.check else "ok"
        total = total_points(exercises)
        print(f"{path}: {len(exercises)} exercises ({points}), {total} points, {state}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
