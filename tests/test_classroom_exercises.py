"""The exercise format: finding exercises, refusing broken ones, tagging, the student copy."""

from __future__ import annotations

import nbformat
import pytest

from course_lib.classroom import exercises as ex
from course_lib.classroom import student

ANSWER = '''def double(x):
    """Twice x."""
    # BEGIN SOLUTION
    return 2 * x  # the answer
    # END SOLUTION'''
CHECKS = """# Checks for exercise {n}
assert double(1) == 2
### BEGIN HIDDEN TESTS
assert double(21) == 42
### END HIDDEN TESTS"""


def make_nb(*exercises: tuple[int, int], extra: list | None = None) -> nbformat.NotebookNode:
    """A notebook with a set-up cell, then one exercise per (number, points)."""
    v4 = nbformat.v4
    cells = [v4.new_markdown_cell("# Title"), v4.new_code_cell("import math")]
    for number, points in exercises:
        unit = "point" if points == 1 else "points"
        cells += [
            v4.new_markdown_cell(f"### Exercise {number} ({points} {unit}): doubling\n\nDo it."),
            v4.new_code_cell(ANSWER),
            v4.new_code_cell(CHECKS.format(n=number)),
        ]
    cells += extra or []
    cells.append(v4.new_code_cell("print('done')"))
    return v4.new_notebook(cells=cells)


def test_find_exercises_reads_numbers_points_and_cells():
    found = ex.find_exercises(make_nb((1, 2), (2, 1)))
    assert [(e.number, e.points, e.title) for e in found] == [
        (1, 2, "doubling"),
        (2, 1, "doubling"),
    ]
    assert (found[0].prompt, found[0].answers, found[0].checks) == (2, (3,), 4)
    assert found[1].grade_ids == {5: "ex2-prompt", 6: "ex2-answer", 7: "ex2-checks"}
    assert ex.total_points(found) == 3


def test_tag_writes_schema_3_metadata_and_check_accepts_it():
    nb = make_nb((1, 2), (2, 3))
    assert ex.metadata_problems(nb)  # untagged
    tagged = ex.tag(nb)
    assert ex.metadata_problems(tagged) == []
    assert "nbgrader" not in nb.cells[4].metadata  # the input is not changed
    assert tagged.cells[4].metadata["nbgrader"] == {
        "grade": True,
        "grade_id": "ex1-checks",
        "locked": True,
        "points": 2,
        "schema_version": 3,
        "solution": False,
    }
    assert tagged.cells[3].metadata["nbgrader"]["solution"] is True
    assert tagged.cells[3].metadata["nbgrader"]["locked"] is False
    assert tagged.cells[2].metadata["nbgrader"]["locked"] is True
    assert "nbgrader" not in tagged.cells[1].metadata


@pytest.mark.parametrize(
    "mutate, message",
    [
        (
            lambda c: c.__setitem__(2, nbformat.v4.new_markdown_cell("### Exercise 1: x")),
            "P points",
        ),
        (lambda c: c[3].__setitem__("source", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"), ""),
        (lambda c: c[3].__setitem__("source", "# BEGIN SOLUTION\nx = 1"), "never closed"),
        (lambda c: c[4].__setitem__("source", "# Checks for exercise 1\nassert x"), "hidden"),
        (lambda c: c[4].__setitem__("source", "# Checks for exercise 2\n"), "exercise 1"),
        (lambda c: c.insert(1, nbformat.v4.new_markdown_cell("put it between BEGIN SOLUTION")), ""),
        (lambda c: c[0].__setitem__("source", "# T\n\n### Exercise 9 (1 point): x"), "first line"),
        (lambda c: c.insert(5, nbformat.v4.new_code_cell(CHECKS.format(n=1))), "outside"),
        (
            lambda c: c[4].__setitem__(
                "source",
                "# Checks for exercise 1\n### BEGIN HIDDEN TESTS\n# only a comment\n"
                "### END HIDDEN TESTS",
            ),
            "empty",
        ),
    ],
)
def test_broken_formats_are_refused_naming_the_cell(mutate, message):
    nb = make_nb((1, 2))
    mutate(nb.cells)
    with pytest.raises(ex.ExerciseFormatError, match=r"lesson\.ipynb, cell") as info:
        ex.find_exercises(nb, "lesson.ipynb")
    assert message in str(info.value)


def test_exercises_must_be_numbered_in_order():
    with pytest.raises(ex.ExerciseFormatError, match="exercise 1 follows exercise 1"):
        ex.find_exercises(make_nb((1, 1), (1, 1)))


def test_duplicate_grade_ids_are_reported():
    nb = ex.tag(make_nb((1, 2), (2, 2)))
    nb.cells[6].metadata["nbgrader"]["grade_id"] = "ex1-answer"
    (message,) = ex.duplicate_grade_ids(nb, "a.ipynb")
    assert "'ex1-answer' is on cells [3, 6]" in message
    assert ex.metadata_problems(nb)


def test_student_copy_stubs_answers_at_their_indent_and_removes_hidden_tests():
    nb = ex.tag(make_nb((1, 2)))
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="x")]
    nb.cells[4].outputs = [nbformat.v4.new_output("stream", text="correct: 42")]
    copy = student.student_copy(nb, clear_outputs=False)
    assert copy.cells[3].source == (
        'def double(x):\n    """Twice x."""\n    # YOUR CODE HERE\n    raise NotImplementedError()'
    )
    assert copy.cells[4].source == "# Checks for exercise 1\nassert double(1) == 2"
    assert copy.cells[4].outputs == [] and copy.cells[1].outputs  # exercise outputs cleared only
    assert student.student_copy(nb).cells[1].outputs == []
    assert copy.cells[3].metadata["nbgrader"]["grade_id"] == "ex1-answer"
    assert nb.cells[3].source == ANSWER  # the source notebook is unchanged
    text = nbformat.writes(copy)
    assert not any(line in text for line in student.solution_lines(nb))
    assert student.solution_lines(nb) == ["return 2 * x  # the answer", "assert double(21) == 42"]


def test_clear_solutions_matches_nbgrader():
    nbgrader = pytest.importorskip("nbgrader.preprocessors")
    nb = ex.tag(make_nb((1, 2), (2, 1)))
    theirs, resources = nbgrader.ClearSolutions().preprocess(nbformat.from_dict(nb), {})
    theirs, _ = nbgrader.ClearHiddenTests().preprocess(theirs, resources)
    ours = student.student_copy(nb)
    assert [c.source for c in ours.cells] == [c.source for c in theirs.cells]
