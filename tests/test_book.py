"""The course build (``python -m course_lib build``): execute, cache, render, offline, no answers.

One module-scoped fixture builds the same subset CI builds, two of the fastest chapters with
math and figures, in the ``ci`` profile, into a temporary folder; the tests read that site. The
cache and a failing notebook are tested on tiny notebooks in a temporary chapters folder. The
last test opens the site in headless Chromium (skipped, with the reason, without it): math
rendered by the local MathJax, figures loaded, no request off the machine; its screenshots go
to ``_build/test-artifacts/html_index.png`` and ``html_chapter.png``.
"""

from __future__ import annotations

import argparse
import functools
import html
import http.server
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

pytest.importorskip("sphinx", reason="the build extra is not installed")
pytest.importorskip("myst_nb", reason="the build extra is not installed")

from chromium import browser_page, requires_chromium, screenshot_dir

from course_lib.book import command, site
from course_lib.book.cache import cache_key, merge_outputs
from course_lib.book.execute import (
    CACHED,
    FAILED,
    NOT_EXECUTED,
    OK,
    Execution,
    Failure,
    strip_ansi,
)
from course_lib.book.pages import (
    chapter_label,
    code_span,
    jupyter_anchor,
    markdown_section,
    notebook_title,
    rewrite_links,
    short_title,
)
from course_lib.book.render import offline_problems, page_loads
from course_lib.classroom.student import solution_lines, student_copy
from course_lib.runtime.paths import chapter_notebooks

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
# The CI subset: the two fastest chapters that have both math and figures (ci profile, 2-core
# machine: about 3 s and 8 s).
SUBSET = ("07_outlook/01_serving_cost.ipynb", "02_core_concepts/01_sizing_llms.ipynb")
SIZING_PAGE = "02_core_concepts/01_sizing_llms.html"  # display math ($$), inline math, figures
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
REMOTE = re.compile(
    r"<(script|link|img|iframe|source|video|audio|embed)\b[^>]*?\s(?:src|href|data)\s*=\s*"
    r"[\"']?\s*(?:https?:)?//",
    re.IGNORECASE,
)


def arguments(*argv: str) -> argparse.Namespace:
    """``build``'s parsed arguments, as the command line gives them."""
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return parser.parse_args(list(argv))


def tiny_notebook(*codes: str, title: str = "A tiny chapter") -> nbformat.NotebookNode:
    cells = [new_markdown_cell(f"# {title}\n\nSome math: $a^2 + b^2 = c^2$.")]
    cells += [new_code_cell(code) for code in codes]
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return new_notebook(cells=cells, metadata={"kernelspec": kernel})


def page_text(path: Path) -> str:
    """The text of an HTML page, tags removed, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


def notebook_text(path: Path) -> str:
    """All cell sources and text outputs of a notebook file."""
    nb = nbformat.read(path, as_version=4)
    parts = []
    for cell in nb.cells:
        parts.append(cell.source)
        for output in cell.get("outputs", []):
            parts.append(json.dumps(output))
    return "\n".join(parts)


def pages(html_dir: Path) -> list[Path]:
    """The site's own pages (not MathJax's files)."""
    return [p for p in sorted(html_dir.rglob("*.html")) if "_static" not in p.parts]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    """The CI subset built in the ci profile, student version: (options, result, output)."""
    build_dir = tmp_path_factory.mktemp("book")
    args = arguments("--profile", "ci", "--build-dir", str(build_dir), *SUBSET)
    options = command.options_from_args(args)
    lines: list[str] = []
    result = site.build(options, progress=lines.append)
    assert result.ok, "\n".join(lines)
    return options, result, "\n".join(lines)


@pytest.fixture(scope="module")
def html_dir(built) -> Path:
    return built[0].out


# --- The site -------------------------------------------------------------------------------


def test_the_subset_build_executes_only_the_subset_and_lists_every_chapter(built):
    options, result, _ = built
    status = {r.notebook: r.status for r in result.records}
    every = [p.relative_to(CHAPTERS).as_posix() for p in chapter_notebooks(CHAPTERS)]
    assert list(status) == every
    assert {n for n, s in status.items() if s in (OK, CACHED)} == set(SUBSET)
    assert all(s == NOT_EXECUTED for n, s in status.items() if n not in SUBSET)
    index = page_text(options.out / "index.html")
    assert index.count("not executed in this build") == len(every) - len(SUBSET)


def test_the_index_links_every_chapter_and_every_link_resolves(html_dir):
    index = (html_dir / "index.html").read_text(encoding="utf-8")
    hrefs = set(re.findall(r'<a [^>]*href="([^"#]+)(?:#[^"]*)?"', index))
    for notebook in chapter_notebooks(CHAPTERS):
        page = notebook.relative_to(CHAPTERS).with_suffix(".html").as_posix()
        assert page in hrefs, f"the index does not link {page}"
        assert (html_dir / page).is_file()
    assert {"errata.html", "report.html"} <= hrefs
    downloads = [h for h in hrefs if h.endswith(".ipynb")]
    assert len(downloads) == len(chapter_notebooks(CHAPTERS))
    # every local link of every page leads to a file of the site
    broken = []
    for page in pages(html_dir):
        text = page.read_text(encoding="utf-8")
        for href in re.findall(r'<a [^>]*href="([^"]+)"', text):
            target = html.unescape(href).split("#")[0].split("?")[0]
            if not target or re.match(r"^[a-z]+:", target):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(html_dir)} -> {href}")
    assert not broken, broken


def test_no_page_loads_a_remote_script_stylesheet_font_or_image(html_dir):
    found = []
    for page in pages(html_dir):
        text = page.read_text(encoding="utf-8")
        found += [f"{page.relative_to(html_dir)}: {m.group(0)}" for m in REMOTE.finditer(text)]
        assert "require.js" not in text and "html-manager" not in text, page  # no widget JS
    for sheet in html_dir.rglob("*.css"):
        found += re.findall(r"url\(\s*['\"]?(?:https?:)?//[^)]*\)", sheet.read_text("utf-8"))
    assert not found, found
    assert offline_problems(html_dir) == []


def test_mathjax_is_local_and_loaded_by_the_pages_with_math(html_dir):
    chapter = (html_dir / SIZING_PAGE).read_text(encoding="utf-8")
    scripts = [url for tag, url in page_loads(chapter) if tag == "script"]
    mathjax = [url for url in scripts if "MathJax.js" in url]
    assert mathjax == ["../_static/mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"]
    static = html_dir / "_static" / "mathjax"
    assert (static / "MathJax.js").is_file()
    assert (static / "config" / "TeX-AMS-MML_HTMLorMML-full.js").is_file()
    assert list((static / "fonts" / "HTML-CSS" / "STIX-Web" / "woff").glob("*.woff"))
    # MyST turned the notebooks' $...$ and $$...$$ into MathJax's delimiters
    assert chapter.count('<span class="math notranslate nohighlight">\\(') > 5
    assert '<div class="math notranslate nohighlight">' in chapter


def course_solution_lines() -> set[str]:
    """The distinctive lines of the chapters' solutions and hidden tests: those at least 12
    characters long that occur nowhere in any chapter's student copy (``check_close(`` may
    open a hidden test in one chapter and a visible one in another)."""
    secret, public = set(), []
    for notebook in chapter_notebooks(CHAPTERS):
        nb = nbformat.read(notebook, as_version=4)
        secret |= {line for line in solution_lines(nb) if len(line) >= 12}
        public += [cell.source for cell in student_copy(nb, name=notebook.name).cells]
    everywhere = "\n".join(public)
    return {line for line in secret if line not in everywhere}


def test_no_solution_or_hidden_test_in_any_page_or_downloadable_notebook(html_dir):
    secrets_ = course_solution_lines()
    assert len(secrets_) > 20, "the chapters should have solutions to hide"
    texts = {p: page_text(p) for p in pages(html_dir)}
    notebooks = sorted(html_dir.rglob("*.ipynb"))
    assert len(notebooks) >= 2 * len(chapter_notebooks(CHAPTERS))  # _sources and _downloads
    texts |= {p: notebook_text(p) for p in notebooks}
    leaks = [
        f"{path.relative_to(html_dir)}: {secret!r}"
        for path, text in texts.items()
        for secret in (*MARKERS, *secrets_)
        if secret in text
    ]
    assert not leaks, leaks[:20]


@pytest.mark.parametrize("name", [Path(n).with_suffix(".html").as_posix() for n in SUBSET])
def test_a_built_chapter_shows_its_figures_as_png(html_dir, name):
    page = html_dir / name
    images = [url for tag, url in page_loads(page.read_text(encoding="utf-8")) if tag == "img"]
    pngs = [page.parent / url for url in images if url.endswith(".png")]
    assert len(pngs) >= 2
    for png in pngs:
        data = png.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5000, png


def test_the_report_lists_each_notebook_with_its_time_and_status(built):
    options, result, log = built
    report = page_text(options.out / "report.html")
    for record in result.records:
        assert record.notebook in report
        if record.notebook in SUBSET:
            assert record.seconds is not None and record.seconds > 0
            assert f"{record.seconds:.1f} s" in report
            assert f"{record.notebook}: {record.status} {record.seconds:.1f} s" in log
    assert "No notebook failed." in report
    assert "python 3." in report and "tensorflow" in report  # the environment


def test_an_unchanged_subset_is_not_executed_again(built):
    options, _, _ = built
    lines: list[str] = []
    notebooks = chapter_notebooks(options.chapters)
    done = site.execute_all(options, notebooks, lines.append)
    status = {record.notebook: record.status for _, record in done}
    assert {status[name] for name in SUBSET} == {CACHED}, lines
    assert not any("executing" in line for line in lines), lines
    for nb, record in done:  # the cached outputs are there, figures included
        if record.notebook in SUBSET:
            outputs = [o for c in nb.cells for o in c.get("outputs", [])]
            assert any("image/png" in o.get("data", {}) for o in outputs)


# --- The cache and a failing notebook, on tiny chapters ---------------------------------------


def test_the_cache_reruns_a_changed_notebook_and_never_keeps_a_failure(tmp_path, capsys):
    chapters = tmp_path / "chapters"
    ok, bad = chapters / "01_tiny" / "01_ok.ipynb", chapters / "01_tiny" / "02_fails.ipynb"
    ok.parent.mkdir(parents=True)
    nbformat.write(tiny_notebook("x = 6 * 7\nprint(x)", title="01 · Tiny: fine"), ok)
    failing = tiny_notebook("y = 1", "# the failing cell\nraise ValueError('boom')", "z = 3")
    nbformat.write(failing, bad)
    argv = ["--profile", "ci", "--build-dir", str(tmp_path / "_build"), "--chapters", str(chapters)]

    # The failure fails the build, after the whole site and its report are written.
    status, out = command.run(arguments(*argv)), capsys.readouterr().out
    assert status == 1
    assert "01_tiny/02_fails.ipynb failed at cell 2 (`# the failing cell`): ValueError: boom" in out
    report = page_text(tmp_path / "_build" / "html" / "report.html")
    assert "stopped at cell 2" in report and "raise ValueError('boom')" in report
    assert "ValueError: boom" in report and "Traceback" in report
    assert "01_tiny/01_ok.ipynb: ok" in out

    # Run again (execution only): the good one comes from the cache, the failure runs again.
    options = command.options_from_args(arguments(*argv))
    lines: list[str] = []
    done = site.execute_all(options, chapter_notebooks(chapters), lines.append)
    assert [r.status for _, r in done] == [CACHED, FAILED], lines

    changed = nbformat.read(ok, as_version=4)  # a changed code cell: executed again
    changed.cells[1].source = "x = 6 * 9\nprint(x)"
    nbformat.write(changed, ok)
    lines.clear()
    (nb, record), _ = site.execute_all(options, chapter_notebooks(chapters), lines.append)
    assert record.status == OK and lines[0].endswith("01_tiny/01_ok.ipynb: executing (ci)")
    assert nb.cells[1].outputs[0]["text"] == "54\n"


def test_the_cache_key_names_code_profile_and_environment_not_prose_or_outputs():
    nb = tiny_notebook("x = 1", "print(x)")
    key = cache_key(nb, profile="ci", environment="lib-a")
    prose = nbformat.from_dict(json.loads(json.dumps(nb)))
    prose.cells[0].source += "\n\nA fixed typo."
    prose.cells[1].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    prose.metadata["widgets"] = {"noise": True}
    assert cache_key(prose, profile="ci", environment="lib-a") == key
    code = nbformat.from_dict(json.loads(json.dumps(nb)))
    code.cells[1].source = "x = 2"
    assert cache_key(code, profile="ci", environment="lib-a") != key
    assert cache_key(nb, profile="student", environment="lib-a") != key
    assert cache_key(nb, profile="ci", environment="lib-b") != key
    # the course's text counts only for a notebook that reads it
    assert cache_key(nb, profile="ci", environment="lib-a", course_text="t") == key
    reader = tiny_notebook("passages = course_passages(root)")
    assert cache_key(reader, profile="ci", environment="e", course_text="t1") != cache_key(
        reader, profile="ci", environment="e", course_text="t2"
    )


def test_cached_outputs_go_into_the_current_notebook_cell_by_cell():
    executed = tiny_notebook("print(1)", "print(2)")
    executed.cells[2].outputs = [nbformat.v4.new_output("stream", text="2\n")]
    current = tiny_notebook("print(1)", "print(2)", title="A retitled chapter")
    merged = merge_outputs(current, executed)
    assert merged.cells[0].source.startswith("# A retitled chapter")
    assert merged.cells[2].outputs[0]["text"] == "2\n"
    assert current.cells[2].outputs == []  # the argument is not changed
    with pytest.raises(ValueError, match="code cells differ"):
        merge_outputs(tiny_notebook("print(3)", "print(2)"), executed)


def test_an_unknown_notebook_is_a_usage_error(capsys):
    assert command.run(arguments("--profile", "ci", "chapters/99_none/x.ipynb")) == 2
    assert "not a chapter notebook" in capsys.readouterr().err


def test_a_notebook_is_found_from_the_root_the_chapters_folder_or_as_a_path():
    chapters = CHAPTERS.resolve()
    want = (chapters / SUBSET[0],)
    for name in (f"chapters/{SUBSET[0]}", SUBSET[0], str(chapters / SUBSET[0])):
        assert command.options_from_args(arguments(name)).selected == want


# --- The pages' text ------------------------------------------------------------------------


def test_headings_get_jupyterlab_anchors():
    assert jupyter_anchor("5. The Turing Award, with dates") == "5.-The-Turing-Award,-with-dates"
    assert jupyter_anchor("E9") == "E9"


def test_links_point_into_the_site_and_code_is_left_alone():
    site_map = {
        "chapters/errata.md": "errata.md",
        "chapters/05_x/01_a.ipynb": "05_x/01_a.ipynb",
        "chapters/05_x": "05_x/01_a.ipynb",
        "README.md": "index.md#Course-plan",
    }
    page = "chapters/05_x/01_a.ipynb"
    text = (
        "See [erratum E9](../errata.md#E9), [the plan](../../README.md#chapters), "
        "[`05_x`](../05_x/), [a site](https://example.org/a), [above](#Top), "
        "`D[x](...)` and [the data](../../data/README.md)."
    )
    fixed, missing = rewrite_links(text, page, site_map)
    assert fixed == (
        "See [erratum E9](../errata.md#E9), [the plan](../index.md#Course-plan), "
        "[`05_x`](01_a.ipynb), [a site](https://example.org/a), [above](#Top), "
        "`D[x](...)` and the data (`data/README.md` in the course's repository)."
    )
    assert missing == ["data/README.md"]


def test_titles_labels_sections_and_code_spans():
    nb = tiny_notebook("x = 1", title="07 · Outlook: the cost")
    assert notebook_title(nb, default="x") == "07 · Outlook: the cost"
    assert notebook_title(new_notebook(), default="fallback") == "fallback"
    assert chapter_label("08_trends_and_challenges") == "08 · Trends and challenges"
    assert short_title("04 · Math, part 1: the VAE objective") == "Part 1: the VAE objective"
    assert short_title("07 · Outlook: what it costs") == "What it costs"
    assert short_title("00 · Getting started") == "00 · Getting started"
    readme = "# T\n\nIntro.\n\n## Chapters\n\n| a |\n\n```\n## not a heading\n```\n\n## Next\n"
    assert markdown_section(readme, "") == "Intro."
    assert markdown_section(readme, "Chapters") == "| a |\n\n```\n## not a heading\n```"
    assert markdown_section(readme, "Missing") == ""
    assert code_span("a `b` c") == "`` a `b` c ``"


def test_the_offline_check_finds_remote_scripts_styles_and_images(tmp_path):
    (tmp_path / "a.html").write_text(
        '<script src="https://cdn.example/x.js"></script><link rel="stylesheet" '
        'href="//fonts.example/f.css"><img src="http://example.org/i.png">'
        '<a href="https://example.org">a link is fine</a><script src="_static/ok.js"></script>'
    )
    (tmp_path / "s.css").write_text("@font-face { src: url(https://fonts.example/f.woff2) }")
    problems = offline_problems(tmp_path)
    assert len(problems) == 4, problems
    assert not offline_problems(tmp_path / "empty")


def test_a_failure_record_names_the_cell():
    failure = Failure(cell=3, first_line="model.fit(x)", error="ValueError: bad", traceback="tb")
    record = Execution("01_x/01_a.ipynb", FAILED, seconds=1.5, failure=failure)
    assert record.failure.describe() == "cell 3 (`model.fit(x)`): ValueError: bad"
    with pytest.raises(ValueError):
        Execution("01_x/01_a.ipynb", FAILED)  # a failure needs its cell
    with pytest.raises(ValueError):
        Execution("01_x/01_a.ipynb", "done")
    assert strip_ansi("\x1b[0;31mValueError\x1b[0m: boom") == "ValueError: boom"


# --- In a real browser ------------------------------------------------------------------------


@pytest.fixture
def served(html_dir: Path) -> Iterator[str]:
    """The built site on a local HTTP server (127.0.0.1, a free port): its base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(html_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


MATHJAX_DONE = """() => new Promise(resolve => {
    const wait = () => (window.MathJax && MathJax.Hub && MathJax.isReady)
        ? MathJax.Hub.Queue(() => resolve(true)) : setTimeout(wait, 50);
    wait();
})"""


@pytest.mark.browser
@requires_chromium
def test_in_a_browser_math_renders_figures_load_and_nothing_leaves_the_machine(served):
    shots = screenshot_dir()
    with browser_page() as (page, leaked):
        page.goto(served + "index.html")
        page.wait_for_load_state("load")
        assert "LLMs and the Architecture of Computing" in page.title()
        page.locator("#Chapters").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "html_index.png"))

        page.locator(f"article table a[href$='{SIZING_PAGE}']").first.click()
        page.wait_for_url(f"**/{SIZING_PAGE}")
        page.wait_for_load_state("load")
        page.evaluate(MATHJAX_DONE)
        rendered = page.evaluate(
            "document.querySelectorAll('.MathJax, .MathJax_Display, .MathJax_SVG').length"
        )
        unrendered = page.evaluate(
            "[...document.querySelectorAll('span.math.notranslate, div.math.notranslate')]"
            ".filter(e => !e.querySelector('.MathJax, .MathJax_Display, .MathJax_SVG')).length"
        )
        text = page.evaluate("document.body.innerText")
        assert rendered > 10 and unrendered == 0
        assert "$$" not in text and "\\(" not in text and "\\[" not in text
        widths = page.evaluate(
            "[...document.querySelectorAll('.cell_output img')].map(i => i.naturalWidth)"
        )
        assert len(widths) >= 2 and min(widths) > 0, widths

        first_display = page.locator(".MathJax_Display").first
        first_display.scroll_into_view_if_needed()
        page.evaluate("window.scrollBy(0, -250)")
        page.screenshot(path=str(shots / "html_chapter.png"))
        page.locator(".cell_output img").first.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "html_chapter_figure.png"))
    assert not leaked, leaked


def test_a_build_kernel_shows_static_figures_and_no_progress_bars(monkeypatch):
    from course_lib.book.execute import kernel_environment

    monkeypatch.setenv("COURSE_PROGRESS", "1")
    env = kernel_environment("student", {"EXTRA": "x"})
    assert env["COURSE_PROFILE"] == "student" and env["EXTRA"] == "x"
    assert env["COURSE_WIDGETS"] == "0" and env["COURSE_PROGRESS"] == "0"
