"""The graded exercises of a notebook: find them, check their format, and tag them for nbgrader.

An exercise is a run of consecutive cells of the source (instructor) notebook:

1. a **prompt**, a markdown cell whose first line is ``### Exercise N (P points): title``;
2. one or more **answer** code cells, in which the learner's part sits between the
   single-hash markers ``# BEGIN SOLUTION`` and ``# END SOLUTION`` (the form both nbgrader
   and otter-grader accept);
3. a **checks** code cell whose first line is ``# Checks for exercise N``: visible checks
   first, then the grading checks between ``### BEGIN HIDDEN TESTS`` and
   ``### END HIDDEN TESTS``.

:func:`find_exercises` reads this structure from the cells' text alone and raises
:class:`ExerciseFormatError`, naming the notebook, the cell and what is wrong, when it is
broken. :func:`tag` writes the nbgrader schema-3 metadata that follows from it (the prompt
``locked``; answers ``solution``; the checks ``grade`` with ``points``), with ``grade_id``\\s
``exN-prompt``, ``exN-answer`` (``exN-answer-2``, ...) and ``exN-checks``, unique per notebook
by construction. :func:`metadata_problems` says where committed metadata differs from that.

nbgrader treats *any* line containing ``BEGIN SOLUTION``, ``END SOLUTION``,
``BEGIN HIDDEN TESTS`` or ``END HIDDEN TESTS`` as a marker, in markdown cells too, so the
check also refuses that text anywhere outside the cells where it is a marker.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

import nbformat

SCHEMA_VERSION = 3
BEGIN_SOLUTION = "BEGIN SOLUTION"
END_SOLUTION = "END SOLUTION"
BEGIN_HIDDEN = "BEGIN HIDDEN TESTS"
END_HIDDEN = "END HIDDEN TESTS"
MARKER_TEXTS = (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN)

_HEADING = re.compile(r"^### Exercise (\d+) \((\d+) points?\): (\S.*)$")
_HEADING_LOOSE = re.compile(r"^#+\s*Exercise\b", re.IGNORECASE)
_CHECKS = re.compile(r"^# Checks for exercise (\d+)\b")
_SOLUTION_LINE = {BEGIN_SOLUTION: "# BEGIN SOLUTION", END_SOLUTION: "# END SOLUTION"}
_HIDDEN_LINE = {BEGIN_HIDDEN: "### BEGIN HIDDEN TESTS", END_HIDDEN: "### END HIDDEN TESTS"}


class ExerciseFormatError(ValueError):
    """An exercise of a notebook does not follow the course's format (the message says where)."""


@dataclass(frozen=True)
class Exercise:
    """One graded exercise: its number, points, title and the indices of its cells."""

    number: int
    points: int
    title: str
    prompt: int
    answers: tuple[int, ...]
    checks: int

    @property
    def grade_ids(self) -> dict[int, str]:
        """``{cell index: grade_id}`` for the prompt, the answer cells and the checks."""
        ids = {self.prompt: f"ex{self.number}-prompt", self.checks: f"ex{self.number}-checks"}
        for k, index in enumerate(self.answers):
            ids[index] = f"ex{self.number}-answer" + (f"-{k + 1}" if k else "")
        return ids

    @property
    def cells(self) -> range:
        """The indices of all the exercise's cells, prompt to checks."""
        return range(self.prompt, self.checks + 1)


def _where(name: str, index: int, cell: Any) -> str:
    first = cell.source.strip().splitlines()[0] if cell.source.strip() else "(empty cell)"
    return f"{name}, cell {index} ({cell.cell_type}: {first[:60]!r})"


def _marker_lines(source: str, markers: dict[str, str], where: str) -> list[tuple[int, str]]:
    """The (line number, marker) pairs of ``source``; each marker line must be exactly the form."""
    found = []
    for number, line in enumerate(source.splitlines()):
        for text, form in markers.items():
            if text in line:
                if line.strip() != form:
                    raise ExerciseFormatError(
                        f"{where}: line {number + 1} {line.strip()!r} must be exactly {form!r} "
                        "(indentation allowed; otter-grader rejects the '### ... SOLUTION' form, "
                        "and nbgrader takes any line containing the text as a marker)"
                    )
                found.append((number, text))
    return found


def _check_pairs(pairs: list[tuple[int, str]], begin: str, end: str, where: str) -> int:
    """Markers alternate begin/end, start with begin, end closed; return the number of regions."""
    expected = begin
    for number, text in pairs:
        if text != expected:
            raise ExerciseFormatError(
                f"{where}: line {number + 1}: found {text!r} where {expected!r} was expected "
                "(regions must not nest and must be closed)"
            )
        expected = end if text == begin else begin
    if expected == end:
        raise ExerciseFormatError(f"{where}: {begin!r} is never closed by {end!r}")
    return len(pairs) // 2


def regions(source: str, begin: str, end: str) -> tuple[list[str | None], list[list[str]]]:
    """Split ``source`` at the lines holding ``begin`` and ``end`` (as nbgrader does).

    Returns the lines outside the regions, with ``None`` where each region stood, and the
    regions, each a list of its lines from the ``begin`` line to the ``end`` line. Raises
    ``ValueError`` if a region is never closed.
    """
    outside: list[str | None] = []
    found: list[list[str]] = []
    inside = False
    for line in source.split("\n"):
        if begin in line:
            inside = True
            found.append([line])
            outside.append(None)
        elif end in line:
            inside = False
            found[-1].append(line)
        elif inside:
            found[-1].append(line)
        else:
            outside.append(line)
    if inside:
        raise ValueError(f"{begin!r} is never closed by {end!r} in:\n{source}")
    return outside, found


def _hidden_block_is_empty(source: str) -> bool:
    body = [
        line
        for region in regions(source, BEGIN_HIDDEN, END_HIDDEN)[1]
        for line in region[1:-1]
        if line.strip() and not line.strip().startswith("#")
    ]
    return not body


def find_exercises(nb: nbformat.NotebookNode, name: str = "notebook") -> list[Exercise]:
    """The exercises of ``nb``, in order, after checking the whole notebook's format.

    Raises :class:`ExerciseFormatError` naming ``name``, the cell and the problem: a prompt
    heading in the wrong form, numbers not 1, 2, 3, ..., an exercise without answer or checks
    cell, markers that are malformed, unpaired or outside the cells where they belong, a
    checks cell without hidden tests.
    """
    cells = nb.cells
    exercises: list[Exercise] = []
    claimed: set[int] = set()
    i = 0
    while i < len(cells):
        cell = cells[i]
        first = cell.source.lstrip().splitlines()[0] if cell.source.strip() else ""
        if cell.cell_type != "markdown" or not _HEADING_LOOSE.match(first):
            i += 1
            continue
        where = _where(name, i, cell)
        heading = _HEADING.match(first.strip())
        if heading is None:
            raise ExerciseFormatError(
                f"{where}: an exercise heading must read '### Exercise N (P points): title'"
            )
        number, points, title = int(heading[1]), int(heading[2]), heading[3].strip()
        if number != len(exercises) + 1:
            raise ExerciseFormatError(
                f"{where}: exercise {number} follows exercise {len(exercises)}; number them "
                "1, 2, 3, ... (a copied exercise keeps its number: renumber it)"
            )
        if points < 1:
            raise ExerciseFormatError(f"{where}: an exercise is worth at least 1 point")
        answers = []
        j = i + 1
        while j < len(cells) and cells[j].cell_type == "code" and BEGIN_SOLUTION in cells[j].source:
            answers.append(j)
            j += 1
        if not answers:
            raise ExerciseFormatError(
                f"{where}: the prompt must be followed by an answer cell (code with the "
                "solution markers)"
            )
        if j >= len(cells) or cells[j].cell_type != "code":
            raise ExerciseFormatError(f"{where}: the answer cell(s) must be followed by checks")
        checks_match = _CHECKS.match(cells[j].source.lstrip())
        if checks_match is None or int(checks_match[1]) != number:
            raise ExerciseFormatError(
                f"{_where(name, j, cells[j])}: the cell after exercise {number}'s answer must "
                f"start with '# Checks for exercise {number}'"
            )
        exercises.append(Exercise(number, points, title, i, tuple(answers), j))
        claimed.update(range(i, j + 1))
        i = j + 1

    for index, cell in enumerate(cells):
        where = _where(name, index, cell)
        if cell.cell_type != "code":
            lines = cell.source.splitlines()
            for number, line in enumerate(lines):
                marker = next((text for text in MARKER_TEXTS if text in line), None)
                if marker:
                    raise ExerciseFormatError(
                        f"{where}: line {number + 1} contains {marker!r}; nbgrader takes any "
                        "line holding that text for a marker, even in markdown (write 'the "
                        "solution markers' or 'the hidden-tests block' instead)"
                    )
                if number > 0 and _HEADING_LOOSE.match(line):
                    raise ExerciseFormatError(
                        f"{where}: line {number + 1} {line.strip()!r}: an exercise heading must "
                        "be the first line of its own markdown cell"
                    )
            continue
        solution = _marker_lines(cell.source, _SOLUTION_LINE, where) if cell.source else []
        hidden = _marker_lines(cell.source, _HIDDEN_LINE, where) if cell.source else []
        role = next(
            (
                "answer" if index in ex.answers else "checks" if index == ex.checks else "prompt"
                for ex in exercises
                if index in ex.cells
            ),
            None,
        )
        if role == "answer":
            if hidden:
                raise ExerciseFormatError(f"{where}: hidden tests belong in the checks cell")
            _check_pairs(solution, BEGIN_SOLUTION, END_SOLUTION, where)
        elif role == "checks":
            if solution:
                raise ExerciseFormatError(f"{where}: a checks cell holds no solution region")
            if _check_pairs(hidden, BEGIN_HIDDEN, END_HIDDEN, where) == 0:
                raise ExerciseFormatError(
                    f"{where}: a checks cell needs a hidden-tests block (the checks that grade)"
                )
            if _hidden_block_is_empty(cell.source):
                raise ExerciseFormatError(f"{where}: the hidden-tests block is empty")
        elif solution or hidden:
            raise ExerciseFormatError(
                f"{where}: marker text outside an exercise's answer/checks cell; nbgrader "
                "would take it for a marker (in prose, write 'the solution markers')"
            )
    return exercises


def nbgrader_metadata(exercise: Exercise, index: int) -> dict[str, Any]:
    """The nbgrader schema-3 cell metadata of cell ``index`` of ``exercise``."""
    grade_id = exercise.grade_ids[index]
    if index == exercise.checks:
        return {
            "grade": True,
            "grade_id": grade_id,
            "locked": True,
            "points": exercise.points,
            "schema_version": SCHEMA_VERSION,
            "solution": False,
        }
    is_answer = index in exercise.answers
    return {
        "grade": False,
        "grade_id": grade_id,
        "locked": not is_answer,
        "schema_version": SCHEMA_VERSION,
        "solution": is_answer,
    }


def expected_metadata(nb: nbformat.NotebookNode, name: str = "notebook") -> dict[int, dict]:
    """``{cell index: nbgrader metadata}`` for every exercise cell (other cells: none)."""
    out: dict[int, dict] = {}
    for exercise in find_exercises(nb, name):
        for index in exercise.grade_ids:
            out[index] = nbgrader_metadata(exercise, index)
    return out


def tag(nb: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """A copy of ``nb`` with nbgrader metadata on exactly the exercise cells (others: removed)."""
    expected = expected_metadata(nb, name)
    tagged = copy.deepcopy(nb)
    for index, cell in enumerate(tagged.cells):
        cell.metadata.pop("nbgrader", None)
        if index in expected:
            cell.metadata["nbgrader"] = expected[index]
    return tagged


def metadata_problems(nb: nbformat.NotebookNode, name: str = "notebook") -> list[str]:
    """Where ``nb``'s nbgrader metadata differs from what :func:`tag` writes (empty: none)."""
    expected = expected_metadata(nb, name)
    problems = []
    for index, cell in enumerate(nb.cells):
        have = cell.metadata.get("nbgrader")
        want = expected.get(index)
        if have != want:
            problems.append(
                f"{_where(name, index, cell)}: nbgrader metadata {have} should be {want} "
                "(run tools/tag_exercises.py)"
            )
    return problems


def duplicate_grade_ids(nb: nbformat.NotebookNode, name: str = "notebook") -> list[str]:
    """One message per ``grade_id`` that more than one cell of ``nb`` carries (a copied cell).

    nbgrader keeps the last such cell and silently drops the others' metadata, so a copied
    checks cell would grade the wrong code; :func:`tag` rewrites the ids from the structure.
    """
    seen: dict[str, list[int]] = {}
    for index, cell in enumerate(nb.cells):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id:
            seen.setdefault(grade_id, []).append(index)
    return [
        f"{name}: grade_id {grade_id!r} is on cells {indices} (a copied cell?); "
        "run tools/tag_exercises.py to rewrite the ids"
        for grade_id, indices in seen.items()
        if len(indices) > 1
    ]


def total_points(exercises: list[Exercise]) -> int:
    """The points of all ``exercises``."""
    return sum(exercise.points for exercise in exercises)
