"""The student copy of a notebook: answers replaced by a stub, hidden tests removed.

This is what nbgrader's ``ClearSolutions`` and ``ClearHiddenTests`` preprocessors do, written
out so that the course can make student copies without nbgrader installed (the HTML build,
``release`` without the instructor extra) and so that a test can compare the two. A solution
region, from the line holding ``# BEGIN SOLUTION`` to the one holding ``# END SOLUTION``, becomes
nbgrader's stub at the marker's indentation (:data:`STUB`: a ``# YOUR CODE HERE`` comment
and a line that raises ``NotImplementedError``), and a hidden-tests block, from
``### BEGIN HIDDEN TESTS`` to ``### END HIDDEN TESTS``, disappears.
"""

from __future__ import annotations

import copy
import re

import nbformat

from course_lib.classroom.exercises import (
    BEGIN_HIDDEN,
    BEGIN_SOLUTION,
    END_HIDDEN,
    END_SOLUTION,
    find_exercises,
    regions,
)

# nbgrader's code stub for Python: a comment, and a line raising the exception named here
STUB = ("# YOUR CODE HERE", f"raise {NotImplementedError.__name__}()")


def clear_solutions(source: str) -> str:
    """``source`` with each solution region replaced by :data:`STUB` at the marker's indent."""
    outside, solutions = regions(source, BEGIN_SOLUTION, END_SOLUTION)
    lines: list[str] = []
    it = iter(solutions)
    for line in outside:
        if line is None:
            indent = re.match(r"\s*", next(it)[0]).group(0)
            lines.extend(indent + stub for stub in STUB)
        else:
            lines.append(line)
    return "\n".join(lines)


def remove_hidden_tests(source: str) -> str:
    """``source`` without its hidden-tests blocks (markers included)."""
    outside, _ = regions(source, BEGIN_HIDDEN, END_HIDDEN)
    return "\n".join(line for line in outside if line is not None)


def solution_lines(nb: nbformat.NotebookNode) -> list[str]:
    """Every non-blank line inside a solution region or hidden-tests block of ``nb``, stripped.

    A release must contain none of them (comment-only and very short lines excepted by the
    caller if they are too generic to search for).
    """
    found = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for begin, end in ((BEGIN_SOLUTION, END_SOLUTION), (BEGIN_HIDDEN, END_HIDDEN)):
            for region in regions(cell.source, begin, end)[1]:
                found.extend(line.strip() for line in region[1:-1] if line.strip())
    return found


def student_copy(
    nb: nbformat.NotebookNode, *, clear_outputs: bool = True, name: str = "notebook"
) -> nbformat.NotebookNode:
    """A new notebook: ``nb`` with its answers stubbed and hidden tests removed.

    The exercise cells (prompt, answers, checks) always lose their outputs and execution
    counts, since they could show a solution's values; with ``clear_outputs`` (the default,
    as for a hand-out) every other cell does too, while ``clear_outputs=False`` keeps them (the
    executed HTML course). The nbgrader metadata stays, as in nbgrader's own release, so that
    a submission can be matched to the source. ``nb`` itself is not changed.
    """
    exercises = find_exercises(nb, name)
    student = copy.deepcopy(nb)
    exercise_cells = {index for exercise in exercises for index in exercise.cells}
    for index, cell in enumerate(student.cells):
        if cell.cell_type == "code":
            cell.source = remove_hidden_tests(clear_solutions(cell.source))
            if clear_outputs or index in exercise_cells:
                cell.outputs = []
                cell.execution_count = None
    student.metadata.pop("celltoolbar", None)
    return student
