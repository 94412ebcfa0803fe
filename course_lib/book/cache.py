"""The build's execution cache: an unchanged notebook on an unchanged library is not run again.

Why a small cache of our own rather than ``jupyter-cache`` (which MyST-NB can use): the key
must name more than the notebook. jupyter-cache (1.0) hashes a notebook's code cells and its
kernelspec only, so a changed library, profile or data set would silently reuse stale outputs;
and it brings a SQLite database and SQLAlchemy for what is a handful of files. Here the key is a
SHA-256 of everything a run's outputs depend on (:func:`cache_key`):

- the notebook's code: each code cell's source and tags, in order, and the kernel's name.
  Markdown is left out: it does not change what the cells compute, so fixing a typo in the
  prose re-renders the page without re-running it (the cached outputs are put into the current
  notebook by :func:`merge_outputs`, cell by cell);
- the run profile;
- the library the kernel imports: every ``course_lib/**/*.py`` file, path and content, except
  ``course_lib/book/`` itself (the build; no notebook imports it);
- a cheap fingerprint of the shipped data (``data/``: each file's path, size and mtime);
- the versions of Python and of the packages whose numbers the notebooks print (TensorFlow,
  Keras, NumPy, Matplotlib, SymPy);
- for a notebook that reads the course's own text (its code calls ``course_passages``, as
  chapter 06's question answering does): the README and every chapter's markdown.

An entry is two files in ``_build/cache/<profile>/``: ``<key>.ipynb`` (the executed notebook)
and ``<key>.json`` (its :class:`~course_lib.book.execute.Execution`). Only successful runs are
stored, so a failure is always run again; storing a notebook's new entry deletes its old one,
so the cache holds at most one entry per notebook and profile.
"""

from __future__ import annotations

import json
import platform
import sys
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from course_lib.book.execute import CACHED, OK, Execution
from course_lib.runtime import fingerprint
from course_lib.runtime.paths import chapter_notebooks

CACHE_FORMAT = "course-build-cache-1"
PACKAGES = ("tensorflow", "keras", "numpy", "matplotlib", "sympy")
# Code that makes a notebook's outputs depend on the text of the whole course.
READS_COURSE_TEXT = ("course_passages",)


def notebook_code_digest(nb: NotebookNode) -> str:
    """SHA-256 of what a run of ``nb`` executes: the kernel name, each code cell's source and
    tags. Outputs, execution counts, metadata and markdown do not count."""
    parts = [nb.metadata.get("kernelspec", {}).get("name", "python3")]
    for cell in nb.cells:
        if cell.cell_type == "code":
            parts += [cell.source, json.dumps(sorted(cell.metadata.get("tags", [])))]
    return fingerprint.digest(parts)


def library_digest(package: str | Path) -> str:
    """SHA-256 of every ``.py`` file under ``package`` (relative path and content), sorted,
    except the build package ``book/`` (:func:`course_lib.runtime.fingerprint.library_digest`)."""
    return fingerprint.library_digest(package, exclude=("book",))


def data_fingerprint(folder: str | Path) -> str:
    """A cheap fingerprint of a data folder: each file's relative path, size and mtime (no
    file is read). ``""`` if the folder does not exist."""
    folder = Path(folder)
    if not folder.is_dir():
        return ""
    parts = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        parts.append(f"{path.relative_to(folder).as_posix()} {stat.st_size} {stat.st_mtime_ns}")
    return fingerprint.digest(parts)


def versions() -> str:
    """``"python 3.11.7; tensorflow 2.21.0; ..."`` for the packages in :data:`PACKAGES`."""
    found = [f"python {platform.python_version()}"]
    for name in PACKAGES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} absent")
    return "; ".join(found)


def course_text_digest(chapters: str | Path) -> str:
    """SHA-256 of the README beside ``chapters`` and the markdown cells of every chapter."""
    chapters = Path(chapters)
    readme = chapters.parent / "README.md"
    parts: list[str | bytes] = [readme.read_bytes() if readme.is_file() else b""]
    for path in chapter_notebooks(chapters):
        nb = nbformat.read(path, as_version=4)
        parts.append(path.relative_to(chapters).as_posix())
        parts += [c.source for c in nb.cells if c.cell_type == "markdown"]
    return fingerprint.digest(parts)


def reads_course_text(nb: NotebookNode) -> bool:
    """True if a code cell of ``nb`` reads the course's own text (:data:`READS_COURSE_TEXT`)."""
    return any(
        word in cell.source
        for cell in nb.cells
        if cell.cell_type == "code"
        for word in READS_COURSE_TEXT
    )


def cache_key(nb: NotebookNode, *, profile: str, environment: str, course_text: str = "") -> str:
    """The cache key of running ``nb`` in ``profile``.

    ``environment`` names the library, data and package versions (see :class:`ExecutionCache`);
    ``course_text`` is :func:`course_text_digest`, used only if ``nb`` reads the course's text.
    """
    text = course_text if reads_course_text(nb) else ""
    return fingerprint.digest([CACHE_FORMAT, profile, environment, notebook_code_digest(nb), text])


def merge_outputs(nb: NotebookNode, executed: NotebookNode) -> NotebookNode:
    """``nb`` with the outputs and execution counts of ``executed``'s code cells, matched in
    order. The two must have the same code (as they do when their cache keys agree)."""
    merged = nbformat.from_dict(json.loads(json.dumps(nb)))
    mine = [c for c in merged.cells if c.cell_type == "code"]
    theirs = [c for c in executed.cells if c.cell_type == "code"]
    if [c.source for c in mine] != [c.source for c in theirs]:
        raise ValueError("the notebooks' code cells differ: outputs cannot be merged")
    for cell, done in zip(mine, theirs, strict=True):
        cell.outputs = done.get("outputs", [])
        cell.execution_count = done.get("execution_count")
    return merged


class ExecutionCache:
    """Executed notebooks of one profile, kept in ``folder`` (``_build/cache/<profile>/``).

    Args:
        folder: where the entries are kept; created on the first :meth:`store`.
        profile: the run profile the entries were executed in.
        library: the ``course_lib`` package folder the kernel imports.
        data: the shipped data folder.
        chapters: the chapters folder (for notebooks that read the course's text).
    """

    def __init__(
        self, folder: str | Path, *, profile: str, library: Path, data: Path, chapters: Path
    ) -> None:
        self.folder = Path(folder)
        self.profile = profile
        self.chapters = Path(chapters)
        self.environment = fingerprint.digest(
            [library_digest(library), data_fingerprint(data), versions(), sys.version]
        )
        self._course_text: str | None = None

    def key(self, nb: NotebookNode) -> str:
        """The cache key of ``nb`` (see :func:`cache_key`)."""
        text = ""
        if reads_course_text(nb):
            if self._course_text is None:
                self._course_text = course_text_digest(self.chapters)
            text = self._course_text
        return cache_key(nb, profile=self.profile, environment=self.environment, course_text=text)

    def _index(self) -> dict[str, str]:
        path = self.folder / "index.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    def load(self, nb: NotebookNode, name: str) -> tuple[NotebookNode, Execution] | None:
        """The cached run of ``nb`` (``name``: its path in the chapters folder) merged into
        ``nb``, with its record marked ``"cached"``; ``None`` if there is none."""
        key = self.key(nb)
        done, meta = self.folder / f"{key}.ipynb", self.folder / f"{key}.json"
        if not (done.is_file() and meta.is_file()):
            return None
        record = json.loads(meta.read_text(encoding="utf-8"))
        record.update(notebook=name, status=CACHED)
        return merge_outputs(nb, nbformat.read(done, as_version=4)), Execution(**record)

    def store(self, nb: NotebookNode, executed: NotebookNode, record: Execution) -> None:
        """Keep ``executed`` (a successful run of ``nb``) under ``nb``'s key, replacing the
        notebook's previous entry."""
        if record.status != OK:
            raise ValueError(f"only successful runs are cached; this one is {record.status!r}")
        self.folder.mkdir(parents=True, exist_ok=True)
        key = self.key(nb)
        index = self._index()
        old = index.get(record.notebook)
        if old and old != key:
            for suffix in (".ipynb", ".json"):
                (self.folder / f"{old}{suffix}").unlink(missing_ok=True)
        nbformat.write(executed, self.folder / f"{key}.ipynb")
        meta = {k: v for k, v in asdict(record).items() if k != "failure"}
        (self.folder / f"{key}.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        index[record.notebook] = key
        (self.folder / "index.json").write_text(json.dumps(index, indent=1), encoding="utf-8")
