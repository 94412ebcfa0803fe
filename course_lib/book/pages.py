"""The pages the build writes itself (index, execution report) and the links it fixes for the site.

The index holds the chapter table; the execution report each notebook's run; the course's own
pages (notebooks, errata) keep their text, with their links rewritten for the site.

Everything here is text in, MyST markdown out, so it is tested without running Sphinx.

Links. The notebooks and the errata page link the way the repository does: to a notebook
(``../04_math/01_vae_elbo.ipynb#Reading-critically``), to the errata page, to the README's
chapter table (``../../README.md#chapters``) or to a file (``../../data/README.md``).
:func:`rewrite_links` maps each repository path to its place in the site (the README's chapter
table becomes the index's "Course plan"); a link to a file the site does not contain becomes
plain text naming the file, so the site has no broken link. Anchors keep working because the
site's heading anchors are made the way Jupyter makes them (:func:`jupyter_anchor`).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from nbformat import NotebookNode

from course_lib.book.execute import CACHED, FAILED, NOT_EXECUTED, OK, Execution

# [text](target): the text may hold one level of brackets ([`x`]); no image links (![...]).
_LINK = re.compile(r"(?<!!)\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(([^()\s]+)\)")
# Code where a [x](y) is not a link: fenced blocks and inline code spans (same-length backticks).
_CODE = re.compile(
    r"^(`{3,}|~{3,}).*?^\1[ \t]*$|(`+)(?!`).+?(?<!`)\2(?!`)", re.MULTILINE | re.DOTALL
)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.MULTILINE)
COURSE_PLAN = "Course plan"

STATUS_TEXT = {
    OK: "ok",
    FAILED: "**failed**",
    CACHED: "ok (cached)",
    NOT_EXECUTED: "not executed in this build",
}


def jupyter_anchor(title: str) -> str:
    """The anchor JupyterLab gives a heading: its text with each space made ``-`` (case and
    punctuation kept): ``"5. The Turing Award"`` -> ``"5.-The-Turing-Award"``.

    The site uses it for every heading (MyST's ``myst_heading_slug_func``), so the links the
    notebooks and the errata page already contain, written for JupyterLab, work in the site.
    """
    return title.strip().replace(" ", "-")


def notebook_title(nb: NotebookNode, default: str) -> str:
    """The text of the first level-1 heading of ``nb``'s markdown cells, or ``default``."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for level, text in _HEADING.findall(cell.source):
                if level == "#":
                    return text.strip()
    return default


def chapter_label(folder: str) -> str:
    """``"08_trends_and_challenges"`` -> ``"08 · Trends and challenges"``."""
    number, _, words = folder.partition("_")
    if not number.isdigit() or not words:
        return folder
    words = words.replace("_", " ")
    return f"{number} · {words[0].upper()}{words[1:]}"


def short_title(title: str) -> str:
    """A notebook's title without the chapter it repeats: ``"04 · Math, part 1: the VAE
    objective"`` -> ``"Part 1: the VAE objective"``; a title without that form is kept."""
    match = re.match(r"^\d+\s*·\s*[^:]+?(?:,\s*(part \d+))?:\s*(.+)$", title)
    if not match:
        return title
    part, rest = match.groups()
    text = f"{part}: {rest}" if part else rest
    return text[0].upper() + text[1:]


def rewrite_links(markdown: str, page: str, site: Mapping[str, str]) -> tuple[str, list[str]]:
    """``markdown`` (of the file at repository path ``page``) with its relative links pointing
    into the site; and the repository paths it linked that the site does not contain.

    ``site`` maps a repository path (``chapters/errata.md``; a folder maps to its first page)
    to the site path (``errata.md``); a site path with its own ``#anchor`` replaces the
    link's anchor. URLs (``https:``, ``mailto:``), in-page anchors (``#x``) and anything in
    code (a span or a fenced block) stay as they are.
    A link to a missing path becomes its text followed by the path in code.
    """
    page_site = site.get(page, page).partition("#")[0]
    missing: list[str] = []
    code = [m.span() for m in _CODE.finditer(markdown)]

    def fix(match: re.Match[str]) -> str:
        text, target = match.group(1), match.group(2)
        in_code = any(start <= match.start() < end for start, end in code)
        if in_code or _SCHEME.match(target) or target.startswith("#"):
            return match.group(0)
        path, _, anchor = target.partition("#")
        repo = posixpath.normpath(posixpath.join(posixpath.dirname(page), path))
        dest = site.get(repo)
        if dest is None:
            missing.append(repo)
            return f"{text} (`{repo}` in the course's repository)"
        dest, hash_, own_anchor = dest.partition("#")
        anchor = own_anchor if hash_ else anchor
        rel = posixpath.relpath(dest, posixpath.dirname(page_site) or ".")
        return f"[{text}]({rel}{'#' + anchor if anchor else ''})"

    return _LINK.sub(fix, markdown), missing


def markdown_section(markdown: str, heading: str) -> str:
    """The body of the level-2 section ``## heading`` of ``markdown`` (up to the next level-1
    or level-2 heading), stripped; ``""`` if there is none. With ``heading=""``: the text
    between the first level-1 heading and the first level-2 heading."""
    lines = markdown.splitlines()
    body: list[str] = []
    inside, fence = False, False
    for line in lines:
        if line.lstrip().startswith("```"):
            fence = not fence
        is_top = not fence and re.match(r"^#{1,2}\s", line) is not None
        if is_top:
            if inside:
                break
            title = re.sub(r"^#{1,2}\s+", "", line).strip()
            inside = (line.startswith("# ") and heading == "") or (
                line.startswith("## ") and title == heading
            )
            continue
        if inside:
            body.append(line)
    return "\n".join(body).strip()


@dataclass(frozen=True)
class Chapter:
    """One row of the index: a chapter notebook and its record in this build.

    Attributes:
        page: the notebook's path in the site (``07_outlook/01_serving_cost.ipynb``).
        title: its title (first heading).
        record: its :class:`~course_lib.book.execute.Execution`.
    """

    page: str
    title: str
    record: Execution


def code_span(text: str) -> str:
    """``text`` as an inline code span, fenced with more backticks than it holds."""
    run = max((len(r) for r in re.findall(r"`+", text)), default=0)
    fence = "`" * (run + 1)
    pad = " " if run else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _seconds(record: Execution) -> str:
    return "—" if record.seconds is None else f"{record.seconds:.1f} s"


def _failure_anchor(record: Execution) -> str:
    return jupyter_anchor(record.notebook)


def chapter_table(chapters: Sequence[Chapter], *, report: str = "report.md") -> str:
    """The index's table: chapter, notebook (linked), run time, status, download."""
    rows = [
        "| chapter | notebook | run time | status | notebook file |",
        "| --- | --- | --- | --- | --- |",
    ]
    for ch in chapters:
        folder = posixpath.dirname(ch.page)
        status = STATUS_TEXT[ch.record.status]
        if ch.record.status == FAILED:
            status = f"[{status}]({report}#{_failure_anchor(ch.record)})"
        download = f"{{download}}`.ipynb <{ch.page}>`"
        rows.append(
            f"| {_cell(chapter_label(folder))} | [{_cell(short_title(ch.title))}]({ch.page}) "
            f"| {_seconds(ch.record)} | {status} | {download} |"
        )
    return "\n".join(rows)


@dataclass(frozen=True)
class BuildInfo:
    """What the index and the report say about the build itself.

    Attributes:
        title: the course's title.
        profile: the run profile the notebooks ran in.
        instructor: True if the pages show the solutions.
        when: the build's date and time (``2026-12-05 11:30``).
        environment: Python and package versions (see :func:`~course_lib.book.cache.versions`).
    """

    title: str
    profile: str
    instructor: bool
    when: str
    environment: str


def index_page(
    info: BuildInfo,
    chapters: Sequence[Chapter],
    *,
    intro: str = "",
    plan: str = "",
    other_pages: Sequence[str] = ("errata.md", "report.md"),
) -> str:
    """The site's index (MyST markdown): the title, ``intro``, the chapter table, ``plan``
    (the README's chapter table, with the planned chapters), and the sidebar's tables of
    contents (hidden toctrees)."""
    version = (
        "the **instructor** version: the exercises show their solutions and hidden tests"
        if info.instructor
        else "the student version: each exercise shows its prompt and checks, not its solution"
    )
    executed = sum(c.record.status in (OK, CACHED, FAILED) for c in chapters)
    parts = [f"# {info.title}", ""]
    if intro:
        parts += [intro, ""]
    parts += [
        "## Chapters",
        "",
        f"This site is the course run in the `{info.profile}` profile on {info.when}, "
        f"{version}. {executed} of {len(chapters)} notebooks ran in this build; the "
        "[execution report](report.md) gives each one's time and any failing cell. The "
        'numbers on the pages are those of this profile; each chapter\'s "Expected results" '
        "table says which profile and machine its numbers come from. The download link gives "
        "the notebook as it is shown here, to run in JupyterLab.",
        "",
        chapter_table(chapters),
        "",
    ]
    if plan:
        parts += [f"## {COURSE_PLAN}", "", plan, ""]
    parts += _toctree("Chapters", [c.page for c in chapters])
    parts += _toctree("About the course", list(other_pages))
    return "\n".join(parts) + "\n"


def _toctree(caption: str, pages: Sequence[str]) -> list[str]:
    entries = [posixpath.splitext(p)[0] for p in pages]
    return ["```{toctree}", ":hidden:", f":caption: {caption}", "", *entries, "```", ""]


def report_page(info: BuildInfo, chapters: Sequence[Chapter]) -> str:
    """The execution report (MyST markdown): every notebook's status and time, then each
    failure with its cell and traceback, then the build's environment."""
    records = [c.record for c in chapters]
    count = {s: sum(r.status == s for r in records) for s in STATUS_TEXT}
    ran = [r for r in records if r.status in (OK, FAILED)]
    parts = [
        "# Execution report",
        "",
        f"Built on {info.when} in the `{info.profile}` profile "
        f"({'instructor' if info.instructor else 'student'} version): {len(ran)} notebooks "
        f"executed in this build ({sum(r.seconds or 0.0 for r in ran):.1f} s in all), "
        f"{count[FAILED]} of them failed; {count[CACHED]} taken from the execution cache; "
        f"{count[NOT_EXECUTED]} not executed in this build (shown without outputs).",
        "",
        "Run time is the wall time of the run that produced the page's outputs, from the "
        "start of a fresh kernel to the end of the last cell; for a cached notebook it is the "
        "time of the earlier run the cache kept, which ended at the time given.",
        "",
        "| notebook | status | run time | run ended |",
        "| --- | --- | --- | --- |",
    ]
    for ch in chapters:
        r = ch.record
        status = STATUS_TEXT[r.status]
        if r.status == FAILED:
            status = f"[{status}](#{_failure_anchor(r)})"
        parts.append(
            f"| [{_cell(r.notebook)}]({ch.page}) | {status} | {_seconds(r)} "
            f"| {(r.finished or '—').replace('T', ' ')} |"
        )
    failures = [c for c in chapters if c.record.failure is not None]
    parts += ["", "## Failures", ""]
    if not failures:
        parts += ["No notebook failed.", ""]
    for ch in failures:
        f = ch.record.failure
        assert f is not None
        parts += [
            f"### {ch.record.notebook}",
            "",
            f"[{_cell(ch.title)}]({ch.page}) stopped at cell {f.cell} (cells counted from 0, "
            f"markdown cells included), whose first line is {code_span(f.first_line)}:",
            "",
            "```text",
            f.traceback.replace("```", "'''"),
            "```",
            "",
        ]
    parts += ["## Environment", "", f"{info.environment}.", ""]
    return "\n".join(parts)
