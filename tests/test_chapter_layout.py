"""Every chapter notebook keeps the course's layout, and every erratum is corrected somewhere.

The layout (README, "Chapters"): a header (``# NN · title``, learning goals, the expected run
time of each profile), ``nb = course_lib.start()`` first, the lesson, a "Reading critically" box
wherever the errata page sends a learner to the notebook, graded exercises, then "Expected
results" with a row per profile, and a last cell that prints the run's time.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from course_lib import outline
from course_lib.classroom.exercises import find_exercises

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
NOTEBOOKS = outline.chapter_notebooks(CHAPTERS)
PROFILES = ("ci", "student", "full")
SECTIONS = ("Reading critically", "Exercises", "Expected results")
PLAN = re.compile(r"course plan|README\.md#chapters", re.IGNORECASE)


def _rel(path: Path) -> str:
    """``03_algorithms/01_x.ipynb``: the notebook's folder and name."""
    return f"{path.parent.name}/{path.name}"


def _first_cells(table: outline.Table) -> set[str]:
    return {row[0].replace("`", "").split()[0].lower() for row in table.rows if row and row[0]}


def layout_problems(path: Path) -> list[str]:
    """What the notebook at ``path`` lacks of the course's layout (empty when it has it all)."""
    nb = outline.read_notebook(path)
    cells = nb["cells"]
    problems = []
    header = cells[0]["source"] if cells and cells[0]["cell_type"] == "markdown" else ""
    number = outline.chapter_number(path)
    if not header.startswith(f"# {number} · "):
        problems.append(f"the first cell must start with the title '# {number} · ...'")
    if "**Learning goals.**" not in header or not re.search(r"^1\. ", header, re.MULTILINE):
        problems.append("the header has no numbered '**Learning goals.**'")
    if "**Expected run time**" not in header:
        problems.append("the header has no '**Expected run time**'")
    else:
        tables = outline.markdown_tables(header.split("**Expected run time**", 1)[1])
        if not tables or not set(PROFILES) <= _first_cells(tables[0]):
            problems.append("the header's run-time table needs a row for ci, student and full")
    if len(cells) < 2 or "course_lib.start(" not in cells[1]["source"]:
        problems.append("the first code cell must be `nb = course_lib.start()`")

    sections = {}
    for title in SECTIONS:
        heading = outline.find_heading(nb, title)
        if heading is None:
            problems.append(f"no '## {title}' section")
        else:
            sections[title] = heading.cell
    order = [sections[t] for t in SECTIONS if t in sections]
    if order != sorted(order):
        problems.append(f"the sections must come in the order {', '.join(SECTIONS)}")

    source = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    exercises = find_exercises(source, _rel(path))
    if len(exercises) < 2:
        problems.append(f"{len(exercises)} graded exercise(s); every notebook has at least 2")
    elif "Exercises" in sections and "Expected results" in sections:
        outside = [
            e.number
            for e in exercises
            if not sections["Exercises"] < e.prompt < e.checks < sections["Expected results"]
        ]
        if outside:
            problems.append(f"exercises {outside} are outside the '## Exercises' section")

    if "Expected results" in sections:
        tables = outline.expected_results(nb)
        if not set(PROFILES) <= _first_cells(tables[0]):
            problems.append("the 'Expected results' table needs a row for ci, student and full")
    code = [c["source"] for c in cells if c["cell_type"] == "code"]
    if not code or "nb.run_time()" not in code[-1]:
        problems.append("the last code cell must print nb.run_time()")
    return problems


def test_there_is_a_notebook_for_every_chapter_of_the_plan():
    numbers = {outline.chapter_number(path) for path in NOTEBOOKS}
    assert numbers == {f"{n:02d}" for n in range(11)}, "chapters 00 to 10 each have a notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_rel)
def test_notebook_keeps_the_course_layout(path):
    assert layout_problems(path) == []


def _errata() -> list[outline.Erratum]:
    return outline.errata((CHAPTERS / "errata.md").read_text(encoding="utf-8"))


def test_every_erratum_links_a_notebook_that_corrects_it_and_links_back():
    rows = _errata()
    assert rows, "chapters/errata.md has no '## E<n>' rows"
    problems = []
    for row in rows:
        existing = [CHAPTERS / nb for nb in row.notebooks if (CHAPTERS / nb).exists()]
        if not existing:
            problems.append(f"{row.name}: links no notebook that exists")
            continue
        if PLAN.search(row.text):
            problems.append(f"{row.name}: still points at the course plan; link the chapter")
        back = [p for p in existing if f"errata.md#{row.name})" in p.read_text(encoding="utf-8")]
        if not back:
            problems.append(
                f"{row.name}: none of {[_rel(p) for p in existing]} links back to it "
                f"with [erratum {row.name}](../errata.md#{row.name})"
            )
    assert problems == []


def test_every_notebook_the_errata_page_sends_you_to_has_a_reading_critically_box():
    sent = {nb for row in _errata() for nb in row.notebooks}
    missing = [
        _rel(path)
        for path in NOTEBOOKS
        if _rel(path) in sent
        and outline.find_heading(outline.read_notebook(path), "Reading critically") is None
    ]
    assert missing == []


def test_the_layout_check_can_fail(tmp_path):
    """A notebook missing its header, exercises and results is reported, item by item."""
    folder = tmp_path / "03_algorithms"
    folder.mkdir()
    bare = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# Title"), nbformat.v4.new_code_cell("x = 1")]
    )
    path = folder / "01_bare.ipynb"
    path.write_text(nbformat.writes(bare), encoding="utf-8")
    problems = "\n".join(layout_problems(path))
    for expected in (
        "'# 03 · ...'",
        "Learning goals",
        "Expected run time",
        "course_lib.start()",
        "'## Reading critically'",
        "'## Exercises'",
        "'## Expected results'",
        "0 graded exercise(s)",
        "nb.run_time()",
    ):
        assert expected in problems
