"""course_lib.outline: reading the chapter notebooks' layout and tables without running them."""

from __future__ import annotations

import json

import pytest

from course_lib import outline


def _notebook(*cells: tuple[str, str]) -> dict:
    return {
        "cells": [{"cell_type": kind, "source": source, "metadata": {}} for kind, source in cells]
    }


def test_chapter_number_from_the_folder(tmp_path):
    assert outline.chapter_number(tmp_path / "10_afterword/01_a.ipynb") == "10"
    with pytest.raises(ValueError, match="chapter folder"):
        outline.chapter_number(tmp_path / "notes/x.ipynb")


def test_read_notebook_joins_sources(tmp_path):
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(_notebook(("markdown", ["# A\n", "text"]))))
    assert outline.read_notebook(path)["cells"][0]["source"] == "# A\ntext"


def test_headings_skip_code_fences_and_find_numbered_sections():
    nb = _notebook(
        ("markdown", "# 03 · Title\n\nintro"),
        ("code", "# not a heading"),
        ("markdown", "## 6. Reading critically\n```\n## inside a fence\n```"),
        ("markdown", "## Exercises\n### Exercise 1 (2 points): x"),
        ("markdown", "## Expected results"),
    )
    assert [(h.level, h.text, h.cell) for h in outline.headings(nb)] == [
        (1, "03 · Title", 0),
        (2, "6. Reading critically", 2),
        (2, "Exercises", 3),
        (3, "Exercise 1 (2 points): x", 3),
        (2, "Expected results", 4),
    ]
    assert outline.find_heading(nb, "Reading critically").cell == 2
    assert outline.find_heading(nb, "Exercise 1 (2 points): x") is None  # level 3, not 2
    assert outline.find_heading(nb, "Exercise 1 (2 points): x", level=3).cell == 3
    assert outline.find_heading(nb, "Summary") is None


def test_section_cells_stop_at_the_next_heading_of_the_same_level():
    nb = _notebook(
        ("markdown", "## Exercises"),
        ("code", "x = 1"),
        ("markdown", "### Exercise 1 (1 points): t"),
        ("markdown", "## Expected results"),
        ("code", "print(1)"),
    )
    assert [c["source"] for c in outline.section_cells(nb, "Exercises")] == [
        "## Exercises",
        "x = 1",
        "### Exercise 1 (1 points): t",
    ]
    assert len(outline.section_cells(nb, "Expected results")) == 2
    assert outline.section_cells(nb, "Missing") == []


def test_markdown_tables_keep_pipes_inside_code_and_math():
    text = (
        "before\n\n| profile | value | note |\n|---|:---:|---|\n"
        "| `ci` | $p(a|b)$ | `x | y` |\n| `student` (default) | 2 |\n| `studentish` | 3 |\n\n"
        "after\n| not | a table |\n"
    )
    (table,) = outline.markdown_tables(text)
    assert table.header == ("profile", "value", "note")
    assert table.rows == (
        ("`ci`", "$p(a|b)$", "`x | y`"),
        ("`student` (default)", "2"),
        ("`studentish`", "3"),
    )
    assert table.column("Value") == ("$p(a|b)$", "2", "3")
    assert table.column("note") == ("`x | y`", "", "")  # a short row reads as empty cells
    assert table.row("student") == {"profile": "`student` (default)", "value": "2"}
    assert table.row("STUDENTISH")["value"] == "3"
    with pytest.raises(KeyError, match="no column"):
        table.column("time")
    with pytest.raises(KeyError, match="no row"):
        table.row("full")


def test_escaped_pipes_stay_in_their_cell():
    (table,) = outline.markdown_tables("| a \\| b | c |\n|---|---|\n| 1 \\| 2 | 3 |\n")
    assert table.header == ("a | b", "c")
    assert table.rows == (("1 | 2", "3"),)


def test_expected_results_reads_the_section_and_refuses_a_missing_one():
    nb = _notebook(
        ("markdown", "## Results\n| a | b |\n|---|---|\n| 1 | 2 |"),
        ("markdown", "## Expected results\n\n| profile | loss |\n|---|---|\n| `ci` | 1.5 |"),
        ("code", "print(nb.run_time())"),
    )
    (table,) = outline.expected_results(nb)
    assert table.row("ci")["loss"] == "1.5"
    with pytest.raises(ValueError, match="no '## Expected results'"):
        outline.expected_results(_notebook(("markdown", "## Results")))
    with pytest.raises(ValueError, match="empty"):
        outline.expected_results(_notebook(("markdown", "## Expected results\nno table")))


def test_run_time_table_and_duration_seconds():
    nb = _notebook(
        (
            "markdown",
            "# 05 · T\n\n**Expected run time** (measured)\n\n| profile | run time |\n|---|---|\n"
            "| `ci` | 27 s (30 s of CPU time) |\n| `student` (default) | 4.5 min |\n"
            "| `full` | not timed: meant for a GPU |",
        ),
    )
    table = outline.run_time_table(nb)
    assert [outline.duration_seconds(t) for t in table.column("run time")] == [27.0, 270.0, None]
    assert outline.duration_seconds("about 2 h on a GPU") == 7200.0
    assert outline.duration_seconds("`102 s` (1.7 min)") == 102.0
    assert outline.duration_seconds("1.5 minutes") is None  # only the units s, min, h
    with pytest.raises(ValueError, match="Expected run time"):
        outline.run_time_table(_notebook(("markdown", "# 05 · T")))


ERRATA_PAGE = """# Errata

Intro with a [link](04_math/a.ipynb).

## E1

- **Section:** §3.1 and §3.2.
- **Claim:** something.
- **Where the course shows it:** [part 3](04_math/03_lm.ipynb#Reading-critically) and
  [part 1](06_applications/01_x.ipynb#9.-Reading-critically), again
  [here](04_math/03_lm.ipynb#2.-Other).

## E2

- **Section:** references.
- **Where the course shows it:** the [README](../README.md#chapters) only.
"""


def test_errata_rows_sections_and_notebook_links():
    rows = outline.errata(ERRATA_PAGE)
    assert [r.name for r in rows] == ["E1", "E2"]
    first, second = rows
    assert first.section == "§3.1 and §3.2."
    assert first.links == (
        "04_math/03_lm.ipynb#Reading-critically",
        "06_applications/01_x.ipynb#9.-Reading-critically",
        "04_math/03_lm.ipynb#2.-Other",
    )
    assert first.notebooks == ("04_math/03_lm.ipynb", "06_applications/01_x.ipynb")
    assert second.links == () and second.notebooks == ()
    assert "a.ipynb" not in first.text  # the introduction belongs to no row
    assert outline.errata("no rows here") == []


def test_arxiv_ids_once_each_without_versions():
    text = "see arXiv:1812.04948v3 and arXiv 2005.14165, again arXiv:1812.04948; not 1234.5678"
    assert outline.arxiv_ids(text) == ["1812.04948", "2005.14165"]
