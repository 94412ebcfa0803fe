"""Rendering to HTML: the generated Sphinx project, MyST-NB, a local MathJax, the offline check.

The executed course becomes a Sphinx project, built by Sphinx with MyST-NB and the Sphinx Book
Theme, with a local MathJax; :func:`offline_problems` checks that no page loads anything remote.

Why these tools: they are plain Python packages from PyPI (no Node, nothing fetched at build
time), MyST-NB renders an executed notebook's outputs (PNG figures, tables, sympy's LaTeX)
without a kernel (``nb_execution_mode = "off"``: the build executed them already), and the
theme gives the chapter navigation (the sidebar's table of contents, previous/next links) and a
search that works without a server.

Offline. Math is rendered by MathJax 2.7 copied from the ``jupyter_server_mathjax`` package
(Debian's ``libjs-mathjax`` if that package is missing) into ``_static/mathjax/``; its HTML-CSS
output uses the STIX web fonts shipped with it. Sphinx is told not to use its CDN default,
MyST not to rewrite the MathJax configuration (it would write one for MathJax 3 or 4), and
MyST-NB to load no widget manager (``nb_ipywidgets_js = {}``; it would come from a CDN).
Nothing in the theme's configuration points off the machine (no analytics, icon links,
version switcher, launch buttons or announcement).

The Sphinx project (``_build/src/<profile>/``) mirrors ``chapters/`` so that the notebooks'
relative links keep working: ``index.md`` and ``report.md`` are written by the build,
``errata.md`` and the notebooks are copied with their links rewritten (see
:mod:`course_lib.book.pages`), and ``data/README.md`` (where the data come from, their
licences) becomes a page when it exists. Files are rewritten only when their content changes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import nbformat
from nbformat import NotebookNode

MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full"
DEBIAN_MATHJAX = Path("/usr/share/javascript/mathjax")

# MathJax 2: the TeX input with the AMS extensions, the HTML-CSS output with the STIX web fonts
# that come with the local copy (its default TeX fonts are not shipped there), math only in
# Sphinx's \( \) and \[ \] (MyST turns $...$ and $$...$$ into those), no menu, no message box.
MATHJAX2_CONFIG = {
    "tex2jax": {
        "inlineMath": [["\\(", "\\)"]],
        "displayMath": [["\\[", "\\]"]],
        "processEscapes": True,
        "processEnvironments": True,
    },
    "TeX": {"extensions": ["AMSmath.js", "AMSsymbols.js", "noErrors.js", "noUndefined.js"]},
    "HTML-CSS": {
        "availableFonts": [],
        "preferredFont": None,
        "webFont": "STIX-Web",
        "imageFont": None,
        "linebreaks": {"automatic": True},
    },
    "messageStyle": "none",
    "showMathMenu": False,
}


def mathjax_source() -> Path:
    """The folder holding a MathJax 2 ``MathJax.js``: ``jupyter_server_mathjax``'s ``static/``,
    else Debian's ``/usr/share/javascript/mathjax``. ``FileNotFoundError`` if neither exists."""
    try:
        import jupyter_server_mathjax

        folder = Path(jupyter_server_mathjax.__file__).parent / "static"
        if (folder / "MathJax.js").is_file():
            return folder
    except ImportError:
        pass
    if (DEBIAN_MATHJAX / "MathJax.js").is_file():
        return DEBIAN_MATHJAX
    raise FileNotFoundError(
        "no local MathJax 2: pip install jupyter-server-mathjax (or apt-get install libjs-mathjax)"
    )


def copy_mathjax(out: str | Path) -> Path:
    """Copy MathJax into ``out/_static/mathjax`` (once: skipped if the same copy is there)."""
    source = mathjax_source()
    target = Path(out) / "_static" / "mathjax"
    stamp = target / ".copied-from"
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == str(source):
        return target
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.md", "__pycache__"))
    stamp.write_text(str(source), encoding="utf-8")
    return target


def sphinx_config(title: str) -> dict[str, object]:
    """The settings of the generated ``conf.py``."""
    return {
        "project": title,
        "extensions": ["myst_nb"],
        "exclude_patterns": ["**.ipynb_checkpoints", "_build"],
        "html_theme": "sphinx_book_theme",
        "html_title": title,
        "html_static_path": ["_static"],
        "html_css_files": ["course.css"],
        "html_last_updated_fmt": None,
        "html_show_sphinx": False,
        "html_show_copyright": False,
        "html_copy_source": True,  # the theme's download button offers the .ipynb
        "html_theme_options": {
            "home_page_in_toc": False,
            "navbar_persistent": [],
            "show_navbar_depth": 1,
            "show_toc_level": 2,
            "use_download_button": True,
            "use_fullscreen_button": False,
            "use_repository_button": False,
            "use_issues_button": False,
            "use_edit_page_button": False,
            "use_source_button": False,
            "launch_buttons": {},
            "icon_links": [],
            "analytics": {},
            "show_prev_next": True,
            "navigation_with_keys": False,
            "search_bar_text": "Search the course...",
            "footer_content_items": ["extra-footer"],
            "extra_footer": "<p>Executed and rendered by <code>python -m course_lib build</code>."
            "</p>",
            # the index and the report are tables: give them the whole width
            "secondary_sidebar_items": {"**": ["page-toc"], "index": [], "report": []},
        },
        "nb_execution_mode": "off",
        "nb_ipywidgets_js": {},  # no require.js, no widget manager from a CDN
        "nb_merge_streams": True,
        "nb_output_stderr": "show",
        "myst_enable_extensions": ["dollarmath", "amsmath"],
        "myst_dmath_double_inline": True,
        "myst_heading_anchors": 4,
        "myst_heading_slug_func": "course_lib.book.pages.jupyter_anchor",
        "myst_update_mathjax": False,
        "mathjax_path": f"mathjax/MathJax.js?config={MATHJAX_CONFIG}",
        "mathjax2_config": MATHJAX2_CONFIG,
        "suppress_warnings": ["myst.header", "mystnb.unknown_mime_type"],
    }


def conf_py(settings: Mapping[str, object]) -> str:
    """The text of a ``conf.py`` setting each of ``settings``."""
    lines = ['"""Sphinx configuration, written by ``python -m course_lib build``."""', ""]
    lines += [f"{name} = {value!r}" for name, value in settings.items()]
    return "\n".join(lines) + "\n"


def write_if_changed(path: Path, content: str | bytes) -> bool:
    """Write ``content`` to ``path`` unless it holds exactly that already; True if written."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


def notebook_text(nb: NotebookNode) -> str:
    """``nb`` as the text of an ``.ipynb`` file."""
    return nbformat.writes(nb) + "\n"


def write_source_tree(src: str | Path, files: Mapping[str, str | bytes | NotebookNode]) -> None:
    """Make ``src`` hold exactly ``files`` (site path -> content) plus the build's static
    files; files already there with the same content are left alone (their modification time
    too, so Sphinx does not rebuild those pages), and any other file is deleted."""
    src = Path(src)
    wanted: dict[str, str | bytes] = {
        name: notebook_text(content) if isinstance(content, NotebookNode) else content
        for name, content in files.items()
    }
    static = resources.files("course_lib.book") / "static"
    for item in static.iterdir():
        if item.is_file():
            wanted[f"_static/{item.name}"] = item.read_bytes()
    for name, content in wanted.items():
        write_if_changed(src / name, content)
    for path in sorted(src.rglob("*"), reverse=True):
        rel = path.relative_to(src).as_posix()
        if path.is_file() and rel not in wanted:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def run_sphinx(src: str | Path, out: str | Path, doctrees: str | Path, log: str | Path) -> int:
    """Build the HTML site from ``src`` into ``out`` with Sphinx in a child process (so one
    build's state never leaks into the next); its messages go to ``log``. Returns Sphinx's exit
    status."""
    package_parent = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-d", str(doctrees)]
    command += [str(src), str(out)]
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w", encoding="utf-8") as stream:
        done = subprocess.run(command, env=env, stdout=stream, stderr=subprocess.STDOUT)
    return done.returncode


# Tags and attributes through which a page loads something (a link <a href> only navigates).
_LOADS = {
    "script": "src",
    "link": "href",
    "img": "src",
    "iframe": "src",
    "source": "src",
    "video": "src",
    "audio": "src",
    "embed": "src",
    "object": "data",
}
_REMOTE = re.compile(r"^\s*(?:[A-Za-z][A-Za-z0-9+.-]*:)?//")
_CSS_REMOTE = re.compile(r"(?:url\(\s*['\"]?|@import\s+['\"])\s*((?:https?:)?//[^'\")\s]+)")


class _Loads(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attribute = _LOADS.get(tag)
        values = dict(attrs)
        if attribute and values.get(attribute):
            self.found.append((tag, values[attribute] or ""))
        if tag in ("img", "source") and values.get("srcset"):
            self.found += [(tag, part.split()[0]) for part in (values["srcset"] or "").split(",")]


def page_loads(html: str) -> list[tuple[str, str]]:
    """Every ``(tag, url)`` through which the page ``html`` loads something (scripts,
    stylesheets and other ``<link>``s, images, frames, media)."""
    parser = _Loads()
    parser.feed(html)
    return parser.found


def offline_problems(site: str | Path) -> list[str]:
    """Each reference of the built site to something off the machine: a page's script,
    stylesheet, font, image or frame with a remote URL, or a remote ``url()``/``@import`` in a
    stylesheet. ``[]`` for a site that works offline."""
    site = Path(site)
    problems = []
    for page in sorted(site.rglob("*.html")):
        if "_static" in page.relative_to(site).parts:
            continue  # MathJax's own test pages, not part of the site's pages
        for tag, url in page_loads(page.read_text(encoding="utf-8", errors="replace")):
            if _REMOTE.match(url):
                problems.append(f"{page.relative_to(site).as_posix()}: <{tag}> loads {url}")
    for sheet in sorted(site.rglob("*.css")):
        for url in _CSS_REMOTE.findall(sheet.read_text(encoding="utf-8", errors="replace")):
            problems.append(f"{sheet.relative_to(site).as_posix()}: loads {url}")
    return problems
