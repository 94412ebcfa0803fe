"""Releasing and grading the chapters' exercises, with nbgrader and otter-grader.

Static checks run on every chapter notebook. Grading executes notebooks, so by default it
runs on the fastest chapter notebook and on a small synthetic one; set
``COURSE_GRADE_ALL=1`` to grade every chapter notebook (about 15 minutes on 2 cores).
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_lib.classroom import exercises as ex
from course_lib.classroom import nbgrader_course, student
from course_lib.classroom.otter import export_and_assign
from course_lib.runtime.paths import chapter_notebooks, get_paths

ROOT = get_paths().root
NOTEBOOKS = chapter_notebooks(ROOT / "chapters")
FAST = [ROOT / "chapters/07_outlook/01_serving_cost.ipynb"]
GRADED = NOTEBOOKS if os.environ.get("COURSE_GRADE_ALL") == "1" else FAST
needs_nbgrader = pytest.mark.skipif(
    not nbgrader_course.has_nbgrader(),
    reason="nbgrader not installed: pip install -e '.[instructor]'",
)


def ids(paths):
    return [p.stem for p in paths]


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def leaks(nb_source: nbformat.NotebookNode, released: nbformat.NotebookNode) -> list[str]:
    """Solution / hidden-test lines of the source found in the released notebook's cells."""
    text = "\n".join(cell.source for cell in released.cells)
    # lines that occur only in solutions and hidden tests, not elsewhere in the notebook
    elsewhere = {
        line.strip()
        for cell in student.student_copy(nb_source).cells
        for line in cell.source.splitlines()
    }
    lines = [
        line
        for line in student.solution_lines(nb_source)
        if len(line) > 12 and line not in elsewhere and not line.startswith("#")
    ]
    released_lines = {line.strip() for line in text.splitlines()}
    markers = [m for m in ex.MARKER_TEXTS if m in text]
    return markers + [line for line in lines if line in released_lines]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_every_notebook_has_two_tagged_exercises_with_points(path):
    nb = read(path)
    found = ex.find_exercises(nb, str(path))
    assert len(found) >= 2, f"{path} has {len(found)} exercises; every notebook needs 2"
    assert ex.metadata_problems(nb, str(path)) == []
    assert ex.duplicate_grade_ids(nb, str(path)) == []
    assert all(e.points >= 1 for e in found)


def test_readme_table_of_exercises_matches_the_notebooks():
    sys.path.insert(0, str(ROOT / "tools"))
    from tag_exercises import exercise_table

    assert exercise_table(NOTEBOOKS) in (ROOT / "README.md").read_text(encoding="utf-8"), (
        "the README's table of exercises is stale: paste `python tools/tag_exercises.py --table`"
    )


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """Every chapter released twice: by nbgrader (if installed) and by the course's own code."""
    ours = tmp_path_factory.mktemp("ours")
    nbgrader_course.release(NOTEBOOKS, ours, use_nbgrader=False)
    theirs = None
    if nbgrader_course.has_nbgrader():
        theirs = tmp_path_factory.mktemp("nbgrader")
        nbgrader_course.release(NOTEBOOKS, theirs, use_nbgrader=True)
    return ours, theirs


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_release_has_no_solution_and_no_hidden_test(released, path):
    for root in filter(None, released):
        copy_ = read(root / "release" / path.parent.name / path.name)
        assert leaks(read(path), copy_) == [], root
        assert all(not c.get("outputs") for c in copy_.cells if c.cell_type == "code")
        stubs = sum("raise NotImplementedError()" in c.source for c in copy_.cells)
        assert stubs >= len(ex.find_exercises(read(path)))


@needs_nbgrader
@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_nbgrader_release_equals_the_course_student_copy(released, path):
    ours, theirs = (read(root / "release" / path.parent.name / path.name) for root in released)
    assert [c.source for c in ours.cells] == [c.source for c in theirs.cells]
    assert (released[1] / "gradebook.db").exists()


def test_release_refuses_duplicate_grade_ids(tmp_path):
    nb = read(FAST[0])
    answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
    nb.cells.insert(1, copy.deepcopy(answer))  # an answer cell copied to the top
    folder = tmp_path / "chapters" / FAST[0].parent.name
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / FAST[0].name)
    with pytest.raises(ValueError, match="marker text outside"):
        nbgrader_course.release([folder / FAST[0].name], tmp_path / "course", use_nbgrader=False)
    nb.cells[1].source = "x = 1"  # the copied metadata alone
    nbformat.write(nb, folder / FAST[0].name)
    with pytest.raises(ValueError, match="is on cells"):
        nbgrader_course.release([folder / FAST[0].name], tmp_path / "course", use_nbgrader=False)


def answers_pasted_back(source: nbformat.NotebookNode, copy_: nbformat.NotebookNode):
    """The student copy with each answer cell's source taken from the instructor version."""
    solutions = {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in source.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    pasted = copy.deepcopy(copy_)
    for cell in pasted.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            cell.source = solutions[grade_id]
    return pasted


def errored_cells(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """(index, grade_id or first line) of every cell with an error output."""
    return [
        (i, c.metadata.get("nbgrader", {}).get("grade_id") or c.source.splitlines()[0])
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and any(o.output_type == "error" for o in c.outputs)
    ]


@needs_nbgrader
@pytest.mark.parametrize("path", GRADED, ids=ids(GRADED))
def test_grading_instructor_full_untouched_zero_pasted_back_full(tmp_path, path):
    course = tmp_path / "course"
    nbgrader_course.release([path], course, use_nbgrader=True)
    source = read(path)
    copy_ = read(course / "release" / path.parent.name / path.name)
    submissions = {
        "instructor": source,
        "untouched": copy_,
        "pasted": answers_pasted_back(source, copy_),
    }
    files = []
    for who, nb in submissions.items():
        (tmp_path / who).mkdir()
        nbformat.write(nb, tmp_path / who / path.name)
        files.append(tmp_path / who / path.name)
    scores = nbgrader_course.grade(files, course)
    total = {
        who: (
            sum(s.score for s in scores if s.student == who),
            sum(s.max_score for s in scores if s.student == who),
        )
        for who in submissions
    }
    points = ex.total_points(ex.find_exercises(source))
    assert total == {
        "instructor": (points, points),
        "untouched": (0, points),
        "pasted": (points, points),
    }
    # the untouched copy ran top to bottom: only the answer and checks cells failed
    graded = read(course / "autograded" / "untouched" / path.parent.name / path.name)
    bad = [
        cell
        for cell in errored_cells(graded)
        if "-answer" not in str(cell[1]) and "-checks" not in str(cell[1])
    ]
    assert bad == [], f"cells outside the exercises failed in the student copy: {bad}"
    instructor = read(course / "autograded" / "instructor" / path.parent.name / path.name)
    assert errored_cells(instructor) == []
    # every answer and checks cell within nbgrader's default 30 s per cell, in `ci`
    seconds = nbgrader_course.exercise_cell_seconds(instructor)
    assert len(seconds) == sum(len(e.answers) + 1 for e in ex.find_exercises(source)), seconds
    slow = {k: v for k, v in seconds.items() if v > nbgrader_course.EXERCISE_CELL_LIMIT}
    assert slow == {}, f"exercise cells slower than 30 s: {slow}"
    print(f"{path.stem}: slowest exercise cell {max(seconds.values()):.2f} s")


@needs_nbgrader
def test_grading_restores_a_deleted_graded_cell_and_survives_a_duplicated_one(tmp_path, capsys):
    """A student deletes exercise 1's checks and copies exercise 2's checks; both still grade."""
    sys.path.insert(0, str(Path(__file__).parent))
    from test_classroom_exercises import make_nb

    folder = tmp_path / "chapters" / "99_demo"
    folder.mkdir(parents=True)
    nb = ex.tag(make_nb((1, 2), (2, 3)))
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, folder / "demo.ipynb")
    course = tmp_path / "course"
    nbgrader_course.release([folder / "demo.ipynb"], course, use_nbgrader=True)
    submission = read(folder / "demo.ipynb")  # every answer right...
    submission.cells[7].source += "\nraise ValueError('changed by the student')"
    submission.cells.insert(2, copy.deepcopy(submission.cells[7]))  # ...a checks cell copied...
    del submission.cells[5]  # ...and exercise 1's checks deleted
    (tmp_path / "sam").mkdir()
    nbformat.write(submission, tmp_path / "sam" / "demo.ipynb")
    scores = nbgrader_course.grade([tmp_path / "sam" / "demo.ipynb"], course)
    assert [(s.exercise, s.score, s.max_score) for s in scores] == [
        ("ex1-checks", 2, 2),
        ("ex2-checks", 3, 3),
    ]
    table = tmp_path / "grades.csv"
    nbgrader_course.write_scores(scores, table)
    assert table.read_text().splitlines()[1] == "sam,99_demo,demo,ex1-checks,2.0,2.0"
    assert "5/5" in nbgrader_course.summary(scores)


@needs_nbgrader
def test_nbgrader_finds_alembic_without_the_environment_on_path(tmp_path, monkeypatch):
    """The pitfall: with PATH lacking the venv's bin, creating a gradebook still works."""
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    released = nbgrader_course.release([FAST[0]], tmp_path / "course", use_nbgrader=True)
    assert released[0].exercises >= 2 and (tmp_path / "course" / "gradebook.db").exists()


@needs_nbgrader
def test_grade_names_an_unknown_notebook(tmp_path):
    course = tmp_path / "course"
    nbgrader_course.release([FAST[0]], course, use_nbgrader=False)
    (course / "gradebook.db").touch()
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / "homework (1).ipynb").write_text("{}")
    with pytest.raises(ValueError, match="keep the released file name"):
        nbgrader_course.grade([tmp_path / "ann" / "homework (1).ipynb"], course)


@pytest.mark.skipif(
    subprocess.run([sys.executable, "-c", "import otter"], capture_output=True).returncode != 0,
    reason="otter-grader not installed: pip install -e '.[instructor]'",
)
def test_otter_export_passes_otter_assign(tmp_path):
    path = FAST[0]
    result = export_and_assign(path, tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    student_nb = read(tmp_path / "dist" / "student" / path.name)
    assert leaks(read(path), student_nb) == []
    assert "# HIDDEN" not in nbformat.writes(student_nb)
    assert list((tmp_path / "dist" / "autograder").glob("*.zip"))
