"""Export the course's exercises in otter-grader's assignment format (``otter assign``).

otter-grader (used with Gradescope) reads a *master notebook* in which raw cells delimit each
question::

    # BEGIN QUESTION      (raw; then YAML: name, points, all_or_nothing)
    prompt                (markdown)
    # BEGIN SOLUTION      (raw)
    answer cell(s)        (code; the region between the single-hash solution markers
    # END SOLUTION        (raw)  is what otter replaces with ``...`` for students)
    # BEGIN TESTS         (raw)
    visible test cell     (code)
    hidden test cell      (code whose first line is ``# HIDDEN``: the whole checks cell)
    # END TESTS           (raw)
    # END QUESTION        (raw)

and a first raw cell ``# ASSIGNMENT CONFIG`` with the assignment's settings.

otter's default tests are doctests: a test passes when the cell prints what it printed in the
solution run. The course's checks speak through exceptions and print a friendly line on
success, whose last digits may differ between machines; the export therefore runs each test's
code with its printing silenced, so a test passes exactly when its checks raise nothing, as
in nbgrader. A question is all-or-nothing, as a graded cell is in nbgrader.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat

from course_lib.classroom.exercises import BEGIN_HIDDEN, END_HIDDEN, find_exercises, regions

_SILENCE = (
    "import contextlib as _contextlib, io as _io\n"
    "with _contextlib.redirect_stdout(_io.StringIO()):\n"
)


def _raw(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_raw_cell(text)


def split_checks(source: str) -> tuple[str, str]:
    """The student's view of a checks cell's ``source`` (without the hidden-tests block) and
    the whole cell in its order (the hidden block included), both without the markers."""
    outside, hidden = regions(source, BEGIN_HIDDEN, END_HIDDEN)
    blocks = iter(hidden)
    visible = [line for line in outside if line is not None]
    whole = [
        part for line in outside for part in ([line] if line is not None else next(blocks)[1:-1])
    ]
    return "\n".join(visible).strip("\n"), "\n".join(whole).strip("\n")


def _test_cell(code: str, *, hidden: bool, first_line: str) -> nbformat.NotebookNode:
    body = textwrap.indent(code if code.strip() else "pass", "    ")
    header = "# HIDDEN\n" if hidden else ""
    return nbformat.v4.new_code_cell(f"{header}{first_line}\n{_SILENCE}{body}")


def otter_notebook(nb: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """``nb`` (a course notebook) rewritten as an otter-assign master notebook."""
    exercises = {e.prompt: e for e in find_exercises(nb, name)}
    config = (
        "# ASSIGNMENT CONFIG\n"
        f"name: {name}\n"
        "init_cell: false      # the course starts with its own set-up cell\n"
        "check_all_cell: false\n"
        "export_cell: false\n"
        "solutions_pdf: false\n"
        "generate: true        # the Gradescope autograder zip (otter runs it on the solutions)\n"
        "run_tests: true       # otter runs the solution notebook: every test must pass\n"
        "tests:\n"
        "  ok_format: true\n"
    )
    out = nbformat.v4.new_notebook(metadata=copy.deepcopy(nb.metadata))
    out.metadata.setdefault(  # otter reads the language from it
        "kernelspec", {"display_name": "Python 3", "language": "python", "name": "python3"}
    )
    out.cells.append(_raw(config))
    index = 0
    while index < len(nb.cells):
        exercise = exercises.get(index)
        if exercise is None:
            cell = copy.deepcopy(nb.cells[index])
            cell.metadata.pop("nbgrader", None)
            out.cells.append(cell)
            index += 1
            continue
        out.cells.append(
            _raw(
                "# BEGIN QUESTION\n"
                f"name: ex{exercise.number}\n"
                f"points: {exercise.points}\n"
                "all_or_nothing: true"
            )
        )
        prompt = copy.deepcopy(nb.cells[exercise.prompt])
        prompt.metadata.pop("nbgrader", None)
        out.cells.append(prompt)
        out.cells.append(_raw("# BEGIN SOLUTION"))
        for answer_index in exercise.answers:
            answer = copy.deepcopy(nb.cells[answer_index])
            answer.metadata.pop("nbgrader", None)
            answer.outputs, answer.execution_count = [], None
            out.cells.append(answer)
        out.cells.append(_raw("# END SOLUTION"))
        visible, whole = split_checks(nb.cells[exercise.checks].source)
        first_line = f"# Checks for exercise {exercise.number}"
        out.cells.append(_raw("# BEGIN TESTS"))
        out.cells.append(_test_cell(visible, hidden=False, first_line=first_line))
        out.cells.append(_test_cell(whole, hidden=True, first_line=first_line))
        out.cells.append(_raw("# END TESTS"))
        out.cells.append(_raw("# END QUESTION"))
        index = exercise.checks + 1
    return out


def export_and_assign(
    notebook: Path, folder: Path, *, timeout: float = 600
) -> subprocess.CompletedProcess:
    """Write ``notebook``'s otter master notebook into ``folder`` and run ``otter assign`` on it.

    ``otter assign`` executes the solutions (in the ``ci`` profile, widgets off), fails unless
    every test passes, and writes ``folder/dist/student/`` (the student notebook) and
    ``folder/dist/autograder/`` (Gradescope's zip). The environment's ``bin`` goes first on
    ``PATH``, so that otter finds the tools of the Python running this. Returns the finished
    process; its ``returncode`` is 0 on success.
    """
    notebook, folder = Path(notebook), Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    master = folder / notebook.name
    nbformat.write(otter_notebook(nbformat.read(notebook, as_version=4), notebook.stem), master)
    env = {
        **os.environ,
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
        "COURSE_PROFILE": "ci",
        "COURSE_WIDGETS": "0",
    }
    return subprocess.run(
        [sys.executable, "-m", "otter", "assign", master.name, "dist"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
