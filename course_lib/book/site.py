"""One build of the course's site: execute, make the student versions, write, render, check.

:func:`build` takes :class:`~course_lib.book.command.BuildOptions` and

1. executes the selected chapter notebooks, one after the other, each in a fresh kernel
   (:mod:`course_lib.book.execute`), taking an unchanged one's outputs from the cache
   (:mod:`course_lib.book.cache`); a notebook left out of the build keeps no outputs;
2. unless it is an instructor build, replaces every notebook by its student version
   (:func:`course_lib.classroom.student.student_copy` with the outputs kept, except those of
   the exercise cells) and checks that no code cell still holds a solution or hidden-test
   marker: a notebook whose student version cannot be made is shown as a page that says so,
   never with its solutions;
3. writes the Sphinx project: the notebooks and ``errata.md`` with their links rewritten, the
   index and the execution report (:mod:`course_lib.book.pages`);
4. renders it (:mod:`course_lib.book.render`) and checks that no page loads anything from
   off the machine.

Any problem (a failing notebook, a missing student version, a Sphinx error, a remote
reference) is collected while the build goes on, so the site and its report are always
complete; :attr:`BuildResult.problems` lists them and the command exits non-zero.
"""

from __future__ import annotations

import posixpath
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from course_lib.book.cache import ExecutionCache, versions
from course_lib.book.execute import (
    CACHED,
    FAILED,
    NOT_EXECUTED,
    OK,
    Execution,
    execute_notebook,
    without_outputs,
)
from course_lib.book.options import BuildOptions, BuildResult
from course_lib.book.pages import (
    COURSE_PLAN,
    BuildInfo,
    Chapter,
    code_span,
    index_page,
    jupyter_anchor,
    markdown_section,
    notebook_title,
    report_page,
    rewrite_links,
)
from course_lib.book.render import (
    conf_py,
    copy_mathjax,
    offline_problems,
    run_sphinx,
    sphinx_config,
    write_source_tree,
)
from course_lib.classroom.exercises import MARKER_TEXTS
from course_lib.classroom.student import student_copy
from course_lib.runtime.paths import chapter_notebooks, get_paths

DEFAULT_TITLE = "LLMs and the Architecture of Computing"


def print_line(line: str) -> None:
    """Print one line of the build's progress at once."""
    print(line, flush=True)


def course_title(readme: str) -> str:
    """The README's first heading without a trailing "— a hands-on course" part, or
    :data:`DEFAULT_TITLE`."""
    for line in readme.splitlines():
        if line.startswith("# "):
            return line[2:].split(" — ")[0].strip() or DEFAULT_TITLE
    return DEFAULT_TITLE


def site_map(chapters: Path, notebooks: list[Path]) -> dict[str, str]:
    """Repository path -> site path, for every file the site contains or links stand for.

    The chapters folder is the site's root; a chapter folder stands for its first notebook,
    the README for the index's course plan, ``data/README.md`` and ``data/LICENSES/*`` for
    their copies in the site.
    """
    prefix = chapters.name
    root = chapters.parent
    site = {
        prefix: "index.md",
        f"{prefix}/index.md": "index.md",
        f"{prefix}/report.md": "report.md",
        "README.md": f"index.md#{jupyter_anchor(COURSE_PLAN)}",
    }
    for path in notebooks:
        rel = path.relative_to(chapters).as_posix()
        site[f"{prefix}/{rel}"] = rel
        site.setdefault(f"{prefix}/{posixpath.dirname(rel)}", rel)
    for path in sorted(chapters.glob("*.md")):
        site[f"{prefix}/{path.name}"] = path.name
    data = root / "data"
    if (data / "README.md").is_file():
        site["data/README.md"] = "data/README.md"
        for path in sorted((data / "LICENSES").glob("*")):
            if path.is_file():
                site[f"data/LICENSES/{path.name}"] = f"data/LICENSES/{path.name}"
    return site


def rewrite_notebook_links(
    nb: NotebookNode, page: str, site: dict[str, str]
) -> tuple[NotebookNode, list[str]]:
    """``nb`` (at repository path ``page``) with the links of its markdown cells rewritten."""
    missing: list[str] = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source, lost = rewrite_links(cell.source, page, site)
            missing += lost
    return nb, missing


def placeholder(title: str, message: str) -> NotebookNode:
    """A notebook holding only ``title`` and ``message``: the page of a chapter that could not
    be shown."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\n{message}")]
    return nb


def status_note(record: Execution) -> str:
    """A note for the top of a chapter's page that was not executed or failed in this build
    (a quotation, which reads the same in JupyterLab if the notebook is downloaded)."""
    report = posixpath.relpath("report.md", posixpath.dirname(record.notebook) or ".")
    if record.status == NOT_EXECUTED:
        return (
            "> **Not executed in this build.** This page shows the chapter without its outputs; "
            f"the [execution report]({report}) lists the notebooks this build ran."
        )
    if record.failure is not None:
        return (
            f"> **This chapter failed in this build**, at cell {record.failure.cell} "
            f"({code_span(record.failure.first_line)}); the outputs stop there. The "
            f"traceback is on the [execution report]({report})."
        )
    return ""


def leftover_markers(nb: NotebookNode) -> list[int]:
    """Indices of the code cells of ``nb`` that still hold a solution or hidden-test marker."""
    return [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and any(m in cell.source for m in MARKER_TEXTS)
    ]


def read_notebook(path: Path) -> NotebookNode:
    """The notebook at ``path``; a ``ValueError`` naming the file if it cannot be read."""
    try:
        return nbformat.read(path, as_version=4)
    except Exception as e:  # not JSON, not a notebook, unreadable
        raise ValueError(f"cannot read the notebook {path}: {e}") from e


def _note_missing(page: str, targets: list[str], progress: Callable[[str], None]) -> None:
    for target in targets:
        progress(f"note: {page} links {target}, which is not part of the site (shown as text)")


def _status_line(index: int, total: int, record: Execution) -> str:
    time_text = "" if record.seconds is None else f" {record.seconds:.1f} s"
    line = f"[{index:>2}/{total}] {record.notebook}: {record.status}{time_text}"
    if record.failure is not None:
        line += f" at {record.failure.describe()}"
    return line


def execute_all(
    options: BuildOptions, notebooks: list[Path], progress: Callable[[str], None]
) -> list[tuple[NotebookNode, Execution]]:
    """Step 1: every chapter notebook, executed, taken from the cache or left without outputs,
    with its record."""
    profile = options.profile
    cache = ExecutionCache(
        options.build_dir / "cache" / profile,
        profile=profile,
        library=Path(__file__).resolve().parents[1],  # the course_lib package
        data=get_paths().data,
        chapters=options.chapters,
    )
    selected = {p.resolve() for p in (notebooks if options.selected is None else options.selected)}
    runs = options.build_dir / "runs" / profile
    logs = options.build_dir / "logs" / profile
    done = []
    for i, path in enumerate(notebooks, 1):
        rel = path.relative_to(options.chapters).as_posix()
        source = read_notebook(path)
        if path.resolve() not in selected:
            done.append((without_outputs(source), Execution(rel, NOT_EXECUTED)))
            continue
        hit = cache.load(source, rel) if options.use_cache else None
        if hit is None:
            progress(f"[{i:>2}/{len(notebooks)}] {rel}: executing ({profile})")
            nb, record = execute_notebook(
                path,
                profile=profile,
                timeout=options.timeout,
                env={"COURSE_RUNS_DIR": str(runs)},
                name=rel,
                log=logs / (rel.replace("/", "__") + ".log"),
            )
            if record.status == OK:
                cache.store(source, nb, record)
        else:
            nb, record = hit
        progress(_status_line(i, len(notebooks), record))
        done.append((nb, record))
    return done


def build(options: BuildOptions, progress: Callable[[str], None] = print_line) -> BuildResult:
    """Build the site described by ``options`` (see the module's docstring)."""
    start = time.perf_counter()
    result = BuildResult()
    chapters = options.chapters
    root = chapters.parent
    notebooks = chapter_notebooks(chapters)
    readme_path = root / "README.md"
    readme = readme_path.read_text(encoding="utf-8") if readme_path.is_file() else ""
    info = BuildInfo(
        title=course_title(readme),
        profile=options.profile,
        instructor=options.instructor,
        when=time.strftime("%Y-%m-%d %H:%M"),
        environment=versions(),
    )
    site = site_map(chapters, notebooks)
    files: dict[str, str | bytes | NotebookNode] = {}
    rows: list[Chapter] = []

    for nb, record in execute_all(options, notebooks, progress):
        rel = record.notebook
        title = notebook_title(nb, default=Path(rel).stem)
        if record.failure is not None:
            result.problems.append(f"{rel} failed at {record.failure.describe()}")
        if not options.instructor:
            try:
                nb = student_copy(nb, clear_outputs=False, name=rel)
                cells = leftover_markers(nb)
                if cells:
                    raise ValueError(f"code cells {cells} still hold a solution marker")
            except ValueError as e:  # ExerciseFormatError is a ValueError
                result.problems.append(f"{rel}: no student version ({e}); its page says so")
                # the error is not shown on the page: it may quote a line of a solution
                nb = placeholder(
                    title,
                    "The student version of this chapter could not be made in this build, so "
                    "the chapter is not shown; the build's output says why.",
                )
        note = status_note(record)
        if note:
            nb.cells.insert(1 if nb.cells else 0, nbformat.v4.new_markdown_cell(note))
        nb, missing = rewrite_notebook_links(nb, f"{chapters.name}/{rel}", site)
        _note_missing(rel, missing, progress)
        files[rel] = nb
        rows.append(Chapter(page=rel, title=title, record=record))
    result.records = [row.record for row in rows]

    others = []
    for path in sorted(chapters.glob("*.md")):
        text, missing = rewrite_links(
            path.read_text(encoding="utf-8"), f"{chapters.name}/{path.name}", site
        )
        _note_missing(path.name, missing, progress)
        files[path.name] = text
        others.append(path.name)
    data_readme = root / "data" / "README.md"
    if data_readme.is_file():
        text, missing = rewrite_links(
            data_readme.read_text(encoding="utf-8"), "data/README.md", site
        )
        _note_missing("data/README.md", missing, progress)
        files["data/README.md"] = text
        others.append("data/README.md")
        for repo_path, site_path in site.items():
            if repo_path.startswith("data/LICENSES/"):
                files[site_path] = (root / repo_path).read_bytes()
    others.append("report.md")

    intro = markdown_section(readme, "")
    intro = "\n\n".join(p for p in intro.split("\n\n") if not p.lstrip().startswith("- "))
    intro, _ = rewrite_links(intro, "README.md", {**site, "README.md": "index.md"})
    plan, _ = rewrite_links(
        markdown_section(readme, "Chapters"), "README.md", {**site, "README.md": "index.md"}
    )
    files["index.md"] = index_page(info, rows, intro=intro, plan=plan, other_pages=others)
    files["report.md"] = report_page(info, rows)
    files["conf.py"] = conf_py(sphinx_config(info.title))

    src = options.build_dir / "src" / options.profile
    write_source_tree(src, files)
    progress(f"rendering {len(files)} pages with Sphinx into {options.out}")
    options.out.mkdir(parents=True, exist_ok=True)
    copy_mathjax(options.out)
    log = options.build_dir / "logs" / options.profile / "sphinx.log"
    status = run_sphinx(src, options.out, options.build_dir / "doctrees" / options.profile, log)
    if status != 0:
        result.problems.append(f"Sphinx failed (exit status {status}); its messages: {log}")
    warnings = sum("WARNING" in line for line in log.read_text(encoding="utf-8").splitlines())
    if warnings:
        progress(f"note: Sphinx reported {warnings} warning(s), listed in {log}")
    result.problems += [f"offline check: {p}" for p in offline_problems(options.out)]
    result.index, result.report = options.out / "index.html", options.out / "report.html"
    result.seconds = round(time.perf_counter() - start, 1)

    counts = {s: sum(r.status == s for r in result.records) for s in (OK, CACHED, FAILED)}
    progress(
        f"course build: {result.index} ({options.profile} profile, "
        f"{'instructor' if options.instructor else 'student'} version): "
        f"{counts[OK]} executed and ok, {counts[FAILED]} failed, {counts[CACHED]} from the "
        f"cache, {len(notebooks) - sum(counts.values())} not executed; {result.seconds:.1f} s"
    )
    for problem in result.problems:
        progress(f"course build: FAILED: {problem}")
    if any(r.status == FAILED for r in result.records):
        progress(f"course build: the tracebacks are on {result.report}")
    return result
