"""The course's chapter notebooks read as data: their order, their sections and their tables.

Every chapter notebook follows one layout (a header with learning goals and run times, the
lesson, "Reading critically", "Exercises", "Expected results"). This module reads that layout
from the notebook files without running them, so two things can use it:

* the layout test (``tests/test_chapter_layout.py``) checks that every notebook keeps it;
* the afterword gathers the results each chapter measured from its own "Expected results"
  table (:func:`expected_results`) instead of retyping them.

It reads the ``.ipynb`` JSON directly (no Jupyter needed) and never executes a cell.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course_lib.runtime.paths import chapter_notebooks
from course_lib.runtime.validation import check_nonempty

__all__ = [
    "Erratum",
    "Heading",
    "Table",
    "arxiv_ids",
    "chapter_notebooks",
    "chapter_number",
    "duration_seconds",
    "errata",
    "expected_results",
    "find_heading",
    "headings",
    "markdown_tables",
    "read_notebook",
    "run_time_table",
    "section_cells",
]

_CHAPTER_FOLDER = re.compile(r"^(\d\d)_[a-z0-9_]+$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_TABLE_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


@dataclass(frozen=True)
class Heading:
    """A markdown heading of a notebook: its level (1 for ``#``), its text, and its cell index."""

    level: int
    text: str
    cell: int


@dataclass(frozen=True)
class Table:
    """A markdown table: the header's cells and each row's cells, as stripped strings."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def column(self, name: str) -> tuple[str, ...]:
        """The cells of the column whose header is ``name`` (compared without case or backticks)."""
        wanted = _plain(name)
        for index, title in enumerate(self.header):
            if _plain(title) == wanted:
                return tuple(row[index] if index < len(row) else "" for row in self.rows)
        raise KeyError(f"no column {name!r} in a table with columns {list(self.header)}")

    def row(self, first_cell: str) -> dict[str, str]:
        """The first row whose first cell is ``first_cell`` or starts with it as a word
        (without case or backticks: ``"student"`` finds ``"`student` (default)"``), by column."""
        wanted = _plain(first_cell)
        for row in self.rows:
            cell = _plain(row[0]) if row else ""
            if cell == wanted or cell.split(" ", 1)[0] == wanted:
                return dict(zip(self.header, row, strict=False))
        raise KeyError(f"no row {first_cell!r}; rows start with {[r[0] for r in self.rows if r]}")


def _plain(text: str) -> str:
    return text.replace("`", "").strip().lower()


def chapter_number(path: str | Path) -> str:
    """The two-digit chapter number of a notebook, from its folder (``"03"`` for ``03_x/y``)."""
    match = _CHAPTER_FOLDER.match(Path(path).parent.name)
    if match is None:
        raise ValueError(f"{path} is not in a chapter folder named NN_name")
    return match.group(1)


def read_notebook(path: str | Path) -> dict[str, Any]:
    """The notebook's JSON, with every cell's ``source`` joined into one string."""
    notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    for cell in notebook.get("cells", []):
        source = cell.get("source", "")
        cell["source"] = "".join(source) if isinstance(source, list) else source
    return notebook


def _markdown_lines(text: str) -> list[str]:
    """The lines of a markdown cell outside fenced code blocks (``#`` there is not a heading)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def headings(notebook: dict[str, Any]) -> list[Heading]:
    """Every markdown heading of ``notebook`` (from :func:`read_notebook`), in order."""
    found = []
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") != "markdown":
            continue
        for line in _markdown_lines(cell["source"]):
            match = _HEADING.match(line)
            if match:
                found.append(Heading(len(match.group(1)), match.group(2), index))
    return found


def find_heading(notebook: dict[str, Any], title: str, level: int = 2) -> Heading | None:
    """The first heading of ``level`` whose text is ``title`` or ends with it (``## 6. Title``).

    A numbered heading ("## 13. Reading critically") counts as the plain one.
    """
    wanted = title.strip().lower()
    for heading in headings(notebook):
        text = re.sub(r"^\d+(\.\d+)*\.?\s+", "", heading.text.strip()).lower()
        if heading.level == level and text == wanted:
            return heading
    return None


def section_cells(notebook: dict[str, Any], title: str, level: int = 2) -> list[dict[str, Any]]:
    """The cells of the section headed ``title``: from its heading's cell up to the next heading
    of the same or a higher level (or the end). Empty when there is no such section."""
    start = find_heading(notebook, title, level)
    if start is None:
        return []
    cells = notebook["cells"]
    end = len(cells)
    for heading in headings(notebook):
        if heading.cell > start.cell and heading.level <= level:
            end = heading.cell
            break
    return cells[start.cell : end]


def markdown_tables(text: str) -> list[Table]:
    """The pipe tables of a markdown text: a header line, a ``|---|`` rule, then rows.

    Cells are split on ``|`` outside backticks and math (``$a|b$`` stays one cell), stripped.
    """
    lines = _markdown_lines(text)
    tables = []
    index = 0
    while index + 1 < len(lines):
        if "|" in lines[index] and _TABLE_RULE.match(lines[index + 1].strip()):
            header = _cells(lines[index])
            rows = []
            index += 2
            while index < len(lines) and lines[index].strip().startswith("|"):
                rows.append(_cells(lines[index]))
                index += 1
            tables.append(Table(header, tuple(rows)))
        else:
            index += 1
    return tables


def _cells(line: str) -> tuple[str, ...]:
    """Split one table line on the pipes that are not escaped (``\\|``) and not inside
    backticks or ``$...$``; an escaped pipe becomes ``|`` in its cell."""
    text = line.strip()
    if text.startswith("|"):
        text = text[1:]
    if text.endswith("|") and not text.endswith("\\|"):
        text = text[:-1]
    cells, current, code, math = [], [], False, False
    for index, char in enumerate(text):
        escaped = index > 0 and text[index - 1] == "\\"
        if char == "`" and not math:
            code = not code
        elif char == "$" and not code and not escaped:
            math = not math
        if char == "|" and escaped:
            current[-1] = "|"
        elif char == "|" and not code and not math:
            cells.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    cells.append("".join(current).strip())
    return tuple(cells)


def expected_results(notebook: dict[str, Any]) -> list[Table]:
    """The tables of the notebook's "Expected results" section, in order.

    Each chapter's first such table has one row per profile (first cell ``ci``, ``student``,
    ``full``) and one column per measured quantity; the afterword reads them from here.
    Raises :class:`ValueError` when the notebook has no "Expected results" section or it holds
    no table, so a missing section is never read as "no results".
    """
    cells = section_cells(notebook, "Expected results")
    if not cells:
        raise ValueError("the notebook has no '## Expected results' section")
    tables = [
        table
        for cell in cells
        if cell.get("cell_type") == "markdown"
        for table in markdown_tables(cell["source"])
    ]
    check_nonempty("the tables of the 'Expected results' section", tables)
    return tables


def run_time_table(notebook: dict[str, Any]) -> Table:
    """The header's "Expected run time" table (one row per profile, a ``run time`` column).

    Raises :class:`ValueError` when the first cell has no such table.
    """
    cells = notebook.get("cells", [])
    header = cells[0]["source"] if cells else ""
    _, found, after = header.partition("**Expected run time**")
    tables = markdown_tables(after) if found else []
    if not tables:
        raise ValueError("the header has no '**Expected run time**' table")
    return tables[0]


_DURATION = re.compile(r"^\s*(?:about\s+)?(\d+(?:\.\d+)?)\s*(s|min|h)\b")
_SECONDS_PER = {"s": 1.0, "min": 60.0, "h": 3600.0}


def duration_seconds(text: str) -> float | None:
    """The time a run-time cell starts with, in seconds: ``"102 s (1.7 min; ...)"`` -> 102.0,
    ``"4.5 min"`` -> 270.0, ``"2 h"`` -> 7200.0; ``None`` when the cell starts with no time
    (``"not timed: meant for a GPU"``)."""
    match = _DURATION.match(text.replace("`", ""))
    if match is None:
        return None
    return float(match.group(1)) * _SECONDS_PER[match.group(2)]


@dataclass(frozen=True)
class Erratum:
    """One row of the course's errata page: its id (``"E9"``), the essay's section it is about,
    its whole text, and the notebook links (``04_math/01_vae_elbo.ipynb#Reading-critically``)
    under which the course shows the correction."""

    name: str
    section: str
    text: str
    links: tuple[str, ...]

    @property
    def notebooks(self) -> tuple[str, ...]:
        """The notebooks the row links (without anchors), each once, in order of first link."""
        return tuple(dict.fromkeys(link.partition("#")[0] for link in self.links))


_ERRATUM = re.compile(r"^##\s+(E\d+)\s*$", re.MULTILINE)
_NOTEBOOK_LINK = re.compile(r"\]\(([^)\s]+?\.ipynb(?:#[^)\s]*)?)\)")
_SECTION_LINE = re.compile(r"\*\*Section:\*\*\s*(.+)")


def errata(text: str) -> list[Erratum]:
    """The rows of the errata page ``text`` (``## E1`` ... headings), in order.

    Links are kept as written, relative to the page (``05_practice/x.ipynb#anchor``).
    """
    starts = list(_ERRATUM.finditer(text))
    rows = []
    for match, following in zip(starts, [*starts[1:], None], strict=False):
        body = text[match.end() : following.start() if following else len(text)]
        section = _SECTION_LINE.search(body)
        rows.append(
            Erratum(
                name=match.group(1),
                section=section.group(1).strip() if section else "",
                text=body.strip(),
                links=tuple(_NOTEBOOK_LINK.findall(body)),
            )
        )
    return rows


_ARXIV = re.compile(r"arXiv[:\s]\s*(\d{4}\.\d{4,5})(?:v\d+)?")


def arxiv_ids(text: str) -> list[str]:
    """The arXiv identifiers cited in ``text`` as ``arXiv:YYMM.NNNNN``, each once, in order
    (a version suffix such as ``v3`` is dropped)."""
    return list(dict.fromkeys(_ARXIV.findall(text)))
