"""Checks that keep the course's text true as it grows.

Usage:  python tools/check_course_text.py            (the whole course)
        python tools/check_course_text.py NB [NB ...] (only these notebooks / markdown files)
Exit status 1 when anything is reported. ``tests/test_course_text.py`` runs the same checks.

What it checks, in every chapter notebook's markdown cells, ``chapters/errata.md``, ``README.md``
and ``data/README.md``:

* **links** -- every relative link ``[text](path#anchor)`` points at a file that exists and, for
  a ``.ipynb`` or ``.md`` target with an anchor, at a heading that exists (anchors are made the
  way JupyterLab and nbconvert make them: the heading's text with spaces replaced by ``-``;
  for ``.md`` files GitHub's lower-case form is accepted too);
* **repository paths** -- every path written in backticks (``benchmarks/x.py``,
  ``course_lib/hardware/specs.py``, ``data/README.md`` ...) exists, and every dotted name
  ``course_lib.a.b`` names a module of the library or a name defined in one;
* **chapter references** -- "chapter N" (and "chapter N, part M") names a chapter folder that
  exists; a chapter that is only planned may be named only in a sentence that points at the
  plan (the words "course plan", or a link to the README's chapter table), so the sentence stays
  true when the chapter lands;
* **errata** -- every erratum a notebook cites (``erratum E9``, ``errata.md#E9``) is a heading of
  ``chapters/errata.md``; every erratum on the page links to the notebook that shows it, or says
  that the course plan covers it; nothing refers to files outside the repository;
* **numbers in prose** -- a number typed in a notebook's prose must be pinned: it appears as a
  literal in a code cell of the same notebook (an assert, a configuration), or the sentence cites
  its source (a paper, a datasheet, an announcement), or it is a kind of number that is not a
  result (a year, a section number, a version, a single digit). Numbers measured in a run belong
  in the "Expected results" table (and the header's run-time table), which must say on what
  machine and on what date (YYYY-MM-DD) they were measured.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import unquote

from course_lib import outline

ROOT = Path(__file__).resolve().parent.parent
ERRATA_PAGE = "chapters/errata.md"
MARKDOWN_FILES = ("README.md", "data/README.md", ERRATA_PAGE)
OUTSIDE_MARKERS = (
    "SEED" + "_ERRATA",
    "../" + "shared/",
)  # split so this file does not match itself


@dataclass(frozen=True)
class Finding:
    """One problem: where (file, cell index or None), what kind, and a message saying what to do."""

    path: str
    cell: int | None
    kind: str
    message: str

    def __str__(self) -> str:
        where = self.path if self.cell is None else f"{self.path} cell {self.cell}"
        return f"{where}: [{self.kind}] {self.message}"


# --- reading documents ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """A notebook or a markdown file: its path relative to the root, and its markdown blocks as
    ``(cell index or None, text)``; ``code`` is the source of the notebook's code cells."""

    path: str
    blocks: tuple[tuple[int | None, str], ...]
    code: tuple[str, ...] = ()

    @property
    def is_notebook(self) -> bool:
        return self.path.endswith(".ipynb")


def read_document(path: Path, root: Path = ROOT) -> Document:
    """Read a notebook (markdown and code cells) or a markdown file."""
    rel = path.resolve().relative_to(root.resolve()).as_posix()
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        md = tuple(
            (i, "".join(c["source"])) for i, c in enumerate(cells) if c["cell_type"] == "markdown"
        )
        code = tuple("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        return Document(rel, md, code)
    return Document(rel, ((None, path.read_text(encoding="utf-8")),))


def course_documents(root: Path = ROOT) -> list[Document]:
    """Every chapter notebook, plus the README, the data README and the errata page."""
    notebooks = sorted(
        p for p in (root / "chapters").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
    )
    files = [root / f for f in MARKDOWN_FILES if (root / f).exists()]
    return [read_document(p, root) for p in notebooks + files]


FENCE = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)


def without_code(text: str) -> str:
    """Markdown with fenced code blocks blanked out (their lines kept, so line numbers hold)."""
    return FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


# --- headings and anchors -------------------------------------------------------------------------

HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.MULTILINE)


def heading_text(markdown: str) -> str:
    """The text a heading renders to: links, emphasis and code marks removed."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", markdown)
    text = re.sub(r"<[^>]+>", "", text)
    text = text.replace("`", "")
    text = re.sub(r"(\*\*|__|\*|(?<!\w)_(?!\w))", "", text)
    return text.strip()


def jupyter_anchor(heading: str) -> str:
    """JupyterLab's and nbconvert's heading id: the rendered text with spaces replaced by ``-``."""
    return heading_text(heading).replace(" ", "-")


def github_anchor(heading: str) -> str:
    """GitHub's heading id: lower case, punctuation dropped, spaces replaced by ``-``."""
    text = heading_text(heading).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(doc: Document) -> set[str]:
    """Every anchor a link into ``doc`` may use: heading ids, ``id`` and ``name`` attributes."""
    found: set[str] = set()
    for _, text in doc.blocks:
        plain = without_code(text)
        for m in HEADING.finditer(plain):
            found.add(jupyter_anchor(m.group(2)))
            if not doc.is_notebook:
                found.add(github_anchor(m.group(2)))
        found.update(re.findall(r"""\b(?:id|name)=["']([^"']+)["']""", plain))
    return found


@cache
def _anchors_of(path: str, root: str) -> frozenset[str]:
    return frozenset(anchors(read_document(Path(root) / path, Path(root))))


# --- links and paths ------------------------------------------------------------------------------

LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HREF = re.compile(r"""\bhref=["']([^"']+)["']""")


def links(text: str) -> list[str]:
    """Targets of the markdown and HTML links in ``text`` (fenced code ignored)."""
    plain = CODE_SPAN.sub(" ", without_code(text))
    return LINK.findall(plain) + HREF.findall(plain)


def check_links(doc: Document, root: Path = ROOT) -> list[Finding]:
    """Relative links must point at files, and anchors at headings, that exist."""
    out = []
    base = (root / doc.path).parent
    for cell, text in doc.blocks:
        for target in links(text):
            if re.match(
                r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE
            ):  # http:, https:, mailto: ...
                continue
            file_part, _, anchor = target.partition("#")
            anchor = unquote(anchor)
            dest = (
                (base / unquote(file_part)).resolve() if file_part else (root / doc.path).resolve()
            )
            try:
                rel = dest.relative_to(root.resolve()).as_posix()
            except ValueError:
                out.append(
                    Finding(doc.path, cell, "link", f"{target!r} points outside the repository")
                )
                continue
            if not dest.exists():
                out.append(Finding(doc.path, cell, "link", f"{target!r}: {rel} does not exist"))
                continue
            if (
                anchor
                and dest.suffix in (".ipynb", ".md")
                and anchor not in _anchors_of(rel, str(root))
            ):
                out.append(
                    Finding(
                        doc.path,
                        cell,
                        "link",
                        f"{target!r}: {rel} has no heading with anchor {anchor!r}",
                    )
                )
    return out


CODE_SPAN = re.compile(r"`([^`\n]+)`")
REPO_PATH = re.compile(
    r"^(?:\.ci|benchmarks|chapters|course_lib|data|tests|tools)/[\w./-]*$"
    r"|^(?:README\.md|requirements\.txt|pyproject\.toml|conftest\.py)$"
)
DOTTED = re.compile(r"^course_lib(?:\.[A-Za-z_]\w*)+$")


def _module_names(module_file: Path) -> set[str]:
    """Names a module defines or imports at top level (classes, functions, assignments, imports)."""
    tree = ast.parse(module_file.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def dotted_name_exists(name: str, root: Path = ROOT) -> bool:
    """Whether ``course_lib.a.b.c`` is a module of the library, or a name one of its modules
    defines (followed by at most one attribute, e.g. a method of a class)."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        stem = root.joinpath(*parts[:i])
        module = stem / "__init__.py" if stem.is_dir() else stem.with_suffix(".py")
        if not module.exists():
            continue
        rest = parts[i:]
        if not rest:
            return True
        if rest[0] in _module_names(module):
            return len(rest) <= 2
        return False
    return False


def check_paths(doc: Document, root: Path = ROOT) -> list[Finding]:
    """Paths and library names written in backticks must exist."""
    out = []
    for cell, text in doc.blocks:
        for span in CODE_SPAN.findall(without_code(text)):
            span = span.strip()
            if REPO_PATH.match(span) and "NN" not in span:  # chapters/NN_name/ is a pattern
                path = span.rstrip("/")
                if not ((root / path).exists() or ((root / doc.path).parent / path).exists()):
                    out.append(
                        Finding(
                            doc.path, cell, "path", f"`{span}` does not exist in the repository"
                        )
                    )
            elif DOTTED.match(span) and not dotted_name_exists(span, root):
                out.append(
                    Finding(
                        doc.path, cell, "path", f"`{span}` is not a module or name of course_lib"
                    )
                )
    return out


# --- chapter references ---------------------------------------------------------------------------


def existing_chapters(root: Path = ROOT) -> dict[int, list[str]]:
    """Chapter number -> the file names of its notebooks, for chapter folders that have any."""
    found = {}
    for folder in sorted((root / "chapters").glob("[0-9][0-9]_*")):
        notebooks = sorted(p.name for p in folder.glob("*.ipynb"))
        if notebooks:
            found[int(folder.name[:2])] = notebooks
    return found


CHAPTER_REF = re.compile(
    r"\b[Cc]hapters?\s+(\d{1,2})((?:\s*(?:,|and|or|&)\s*\d{1,2}\b)*)(?:\s*,?\s*\(?\s*parts?\s+(\d))?"
)
PLAN_POINTER = re.compile(r"course plan|README\.md#(?:chapters|Chapters)")


SENTENCE_END = re.compile(
    r"(?<!\bal\.)(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\bcf\.)(?<!\bvs\.)(?<!\bFig\.)(?<!\bEq\.)"
    r"(?<=[.!?])\s+(?=[A-Z*(\[$`])"
)


def sentences(text: str) -> list[str]:
    """Split prose into sentences (roughly: at ., ! or ? followed by space and a capital, and at
    paragraph and list-item breaks)."""
    parts = re.split(r"\n\s*\n|\n(?=\s*(?:[*+-]|\d+\.)\s)|\n(?=#)", text)
    return [s for p in parts for s in SENTENCE_END.split(p)]


def check_chapter_refs(doc: Document, root: Path = ROOT) -> list[Finding]:
    """ "chapter N" must name an existing chapter (and "part M" an existing notebook of it); a
    planned chapter only in a sentence that points at the course plan."""
    chapters = existing_chapters(root)
    out = []
    for cell, text in doc.blocks:
        for sentence in sentences(without_code(text)):
            for m in CHAPTER_REF.finditer(sentence):
                numbers = [int(m.group(1))] + [
                    int(n) for n in re.findall(r"\d{1,2}", m.group(2) or "")
                ]
                for n in numbers:
                    if n not in chapters and not PLAN_POINTER.search(sentence):
                        out.append(
                            Finding(
                                doc.path,
                                cell,
                                "chapter",
                                f"'{m.group(0).strip()}': no chapter {n} exists yet; "
                                "name it as part of the course plan "
                                "(link ../../README.md#chapters) so the sentence "
                                "stays true when it lands",
                            )
                        )
                if m.group(3) and len(numbers) == 1 and numbers[0] in chapters:
                    part = int(m.group(3))
                    if not any(name.startswith(f"{part:02d}_") for name in chapters[numbers[0]]):
                        out.append(
                            Finding(
                                doc.path,
                                cell,
                                "chapter",
                                f"'{m.group(0).strip()}': chapter {numbers[0]} has no part {part}",
                            )
                        )
    return out


# --- errata ---------------------------------------------------------------------------------------

ERRATUM_CITE = re.compile(r"\berrat(?:um|a)\s+(E\d+)\b|errata\.md#(E\d+)")


def errata_rows(root: Path = ROOT) -> dict[str, str]:
    """Erratum id (``E9``) -> its row of the errata page, read by ``course_lib.outline.errata``."""
    page = root / ERRATA_PAGE
    if not page.exists():
        return {}
    return {
        row.name: row.text for row in outline.errata(without_code(page.read_text(encoding="utf-8")))
    }


def check_errata(docs: list[Document], root: Path = ROOT) -> list[Finding]:
    """Cited errata exist; each erratum shows where the course fixes it; nothing points outside."""
    rows = errata_rows(root)
    out = []
    if not rows:
        return [
            Finding(
                ERRATA_PAGE, None, "errata", "the errata page is missing or has no '## E<n>' rows"
            )
        ]
    for doc in docs:
        for cell, text in doc.blocks:
            for m in ERRATUM_CITE.finditer(text):
                name = m.group(1) or m.group(2)
                if name not in rows:
                    out.append(
                        Finding(
                            doc.path,
                            cell,
                            "errata",
                            f"cites {name}, which {ERRATA_PAGE} does not have",
                        )
                    )
                elif doc.is_notebook and m.group(1) and f"errata.md#{name})" not in text:
                    out.append(
                        Finding(
                            doc.path,
                            cell,
                            "errata",
                            f"mentions {name} without linking it: "
                            f"write [erratum {name}](../errata.md#{name})",
                        )
                    )
            for marker in OUTSIDE_MARKERS:
                if marker in text:
                    out.append(
                        Finding(
                            doc.path,
                            cell,
                            "errata",
                            f"refers to {marker!r}, which is not part of the course; "
                            f"link the course's own errata page instead",
                        )
                    )
    for name, section in rows.items():
        if not re.search(r"\]\([^)]*\.ipynb(?:#[^)]*)?\)", section) and not PLAN_POINTER.search(
            section
        ):
            out.append(
                Finding(
                    ERRATA_PAGE,
                    None,
                    "errata",
                    f"{name} links no notebook that shows the correction (or the course plan)",
                )
            )
    return out


# --- numbers in prose -----------------------------------------------------------------------------

NUMBER = re.compile(r"(?<![\w.\-/^_{\\])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\w\-]*[A-Za-z_]|\.\d)")
CITATION = re.compile(
    r"et al\.|arXiv|https?://|\bdata ?sheets?\b|\bwhite ?papers?\b|model card|\bannounce"
    r"|\b[A-Z][\w'’-]+(?:\s+(?:and|&)\s+[A-Z][\w'’-]+)?,?\s+\(?(?:19|20)\d\d\b"
)
NOT_A_RESULT_BEFORE = re.compile(
    r"(?:§|\b(?:sections?|chapters?|parts?|exercises?|tables?|appendix|figures?|fig\.|eq\.|equations?"
    r"|steps?|items?|cells?|versions?|v|Q|E|Python|TensorFlow|Keras|NumPy|sympy|matplotlib|JupyterLab"
    r"|Jupyter|nbval|nbgrader|CUDA|PyPI|Debian|pip|packages?|iOS|iPadOS|macOS|Android|Unicode|ISO|RFC|top"
    r"|rows?|columns?|questions?)"
    r")[\s~]*(?:\d+(?:\.\d+)*\s*(?:,|and|or|to|–|-)\s*)*$",
    re.IGNORECASE,
)
CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")
MEASURED_HEADINGS = ("expected results",)
DATE = re.compile(r"\b20\d\d-\d\d-\d\d\b")
MACHINE = re.compile(r"\b(?:CPU|GPU|cores?|machine|laptop|VM)\b", re.IGNORECASE)


def _checks_nothing(test: ast.expr) -> bool:
    """An assert condition made of literals only (``assert 12 * 4 == 48``) checks no result."""
    return not any(
        isinstance(n, (ast.Name, ast.Attribute, ast.Call, ast.Subscript)) for n in ast.walk(test)
    )


def code_numbers(sources: tuple[str, ...]) -> set[float]:
    """The numeric literals of Python code (comments and strings excluded), as floats.

    Literals that appear only in an assert of literals (``assert (2020 - 2019) * 12 == 12``)
    do not count: such an assert pins nothing a run computes."""
    values: set[float] = set()
    for src in sources:
        text = "\n".join(ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        ignored: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Assert):
                for test in node.test.values if isinstance(node.test, ast.BoolOp) else [node.test]:
                    if _checks_nothing(test):
                        ignored.update(id(n) for n in ast.walk(test))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and not isinstance(node.value, (bool, str, bytes))
                and isinstance(node.value, (int, float, complex))
                and id(node) not in ignored
            ):
                value = node.value
                values.add(float(value.imag if isinstance(value, complex) else value))
    return values


def _pinned(value: float, decimals: int, pinned: set[float]) -> bool:
    """Whether ``value`` (typed with ``decimals`` decimals) equals a code literal, allowing the
    literal to be written in another unit (x 1e3^k, or as a fraction instead of a percentage)."""
    for scale in (1, 1e-2, 1e2, 1e-3, 1e3, 1e-6, 1e6, 1e-9, 1e9, 1e-12, 1e12):
        target = value * scale
        tol = 0.5 * 10**-decimals * scale * 1e-6 + 1e-12 * abs(target)
        if any(abs(p - target) <= tol for p in pinned):
            return True
    return False


def _strip_markup(text: str) -> str:
    text = re.sub(r"^[ \t]*>[ \t]?", "", without_code(text), flags=re.MULTILINE)  # blockquote marks
    text = CODE_SPAN.sub(" ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)  # link targets
    text = re.sub(r"<[^>]+>", " ", text)  # html tags
    return re.sub(r"^\s*(?:[*+-]|\d+\.)\s+", " ", text, flags=re.MULTILINE)  # list markers


def measured_table_findings(doc: Document) -> list[Finding]:
    """In a markdown file (README): a table of measured times or results must be introduced, in
    the paragraphs since the last heading, by the machine and the date it was measured on."""
    out = []
    for cell, text in doc.blocks:
        for section in re.split(r"\n(?=#)", without_code(text)):
            paragraphs = re.split(r"\n\s*\n", section)
            for i, paragraph in enumerate(paragraphs):
                header = paragraph.lstrip().split("\n", 1)[0].lower()
                if not header.startswith("|") or not re.search(
                    r"\btime\b|\bresult|measured", header
                ):
                    continue
                context = "\n".join(paragraphs[: i + 1])
                if not (DATE.search(context) and MACHINE.search(context)):
                    out.append(
                        Finding(
                            doc.path,
                            cell,
                            "measured",
                            f"the table {header.strip()[:60]!r} holds measurements but its "
                            "section does not say on what machine and date (YYYY-MM-DD) "
                            "they were measured",
                        )
                    )
    return out


def prose_number_findings(doc: Document, pinned_extra: set[float] | None = None) -> list[Finding]:
    """Numbers in a notebook's prose that nothing pins (see the module docstring), and measurement
    sections (Expected results, run-time tables) that do not say on what machine and date."""
    if not doc.is_notebook:
        return measured_table_findings(doc)
    pinned = code_numbers(doc.code) | (pinned_extra or set())
    out = []
    measured_section = False
    for cell, text in doc.blocks:
        plain = _strip_markup(text)
        for block in re.split(r"\n(?=#)", plain):
            head = re.match(r"\s*(#{1,6})\s*(.*)", block)
            if head:
                measured_section = any(h in head.group(2).lower() for h in MEASURED_HEADINGS)
                block = block[head.end() :]  # a heading's own number is an enumerator
            measured_table = "run time" in block.lower() and "|" in block
            if measured_section or measured_table:
                if (measured_section or measured_table) and not (
                    DATE.search(text) and MACHINE.search(text)
                ):
                    out.append(
                        Finding(
                            doc.path,
                            cell,
                            "measured",
                            "measured figures must say on what machine and on what date "
                            "(YYYY-MM-DD) they were measured",
                        )
                    )
                continue
            previous = ""
            for paragraph in re.split(r"\n\s*\n", block):
                # A table is cited by the paragraph that introduces it.
                table_cited = paragraph.lstrip().startswith("|") and CITATION.search(previous)
                previous = paragraph
                if table_cited:
                    continue
                out += _unpinned_numbers(doc, cell, paragraph, pinned)
    return out


def _unpinned_numbers(
    doc: Document, cell: int | None, paragraph: str, pinned: set[float]
) -> list[Finding]:
    out = []
    for sentence in sentences(paragraph):
        if CITATION.search(sentence):
            continue
        for m in NUMBER.finditer(sentence):
            digits, frac = m.group(1), m.group(2)
            value = float(digits.replace(",", "") + (frac or ""))
            if frac is None and (value < 10 or (1900 <= value <= 2030 and "," not in digits)):
                continue  # a single digit, or a year
            if NOT_A_RESULT_BEFORE.search(sentence[: m.start()]):
                continue  # a section, chapter, exercise or version number
            if CJK.search(sentence[m.end() : m.end() + 2]):
                continue  # a section number of the source document followed by its heading
            if _pinned(value, len(frac) - 1 if frac else 0, pinned):
                continue
            out.append(
                Finding(
                    doc.path,
                    cell,
                    "number",
                    f"{m.group(0)!r} is typed in prose but no code cell pins it and the sentence "
                    f"cites no source: print it from a cell, assert it with a tolerance, cite "
                    f"its source, or move a measured value to Expected results. Sentence: "
                    f"{' '.join(sentence.split())[:160]!r}",
                )
            )
    return out


# --- everything -----------------------------------------------------------------------------------


def check(docs: list[Document] | None = None, root: Path = ROOT) -> list[Finding]:
    """Every finding for ``docs`` (default: the whole course); errata rows are always checked."""
    everything = course_documents(root)
    docs = everything if docs is None else docs
    found: list[Finding] = []
    for doc in docs:
        found += check_links(doc, root) + check_paths(doc, root) + check_chapter_refs(doc, root)
        found += prose_number_findings(doc)
    found += check_errata(docs, root)
    return found


def main(argv: list[str]) -> int:
    docs = [read_document(Path(a).resolve()) for a in argv] if argv else None
    found = check(docs)
    for f in found:
        print(f)
    print(f"{len(found)} finding(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
