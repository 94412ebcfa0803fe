"""The course's text stays true: links resolve, chapters and errata exist, typed numbers are pinned.

The checks live in ``tools/check_course_text.py`` (run it by hand to see every finding with a
hint). Each check is run on the real course, and each is shown to catch a planted error, both in
a small synthetic course and in a copy of a real chapter notebook.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def ctc():
    spec = importlib.util.spec_from_file_location(
        "check_course_text", ROOT / "tools" / "check_course_text.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def course(ctc):
    return ctc.course_documents()


def _report(findings) -> str:
    return "\n".join(str(f) for f in findings)


# --- the real course ------------------------------------------------------------------------------


def test_every_relative_link_and_anchor_resolves(ctc, course):
    findings = [f for doc in course for f in ctc.check_links(doc)]
    assert not findings, _report(findings)


def test_every_repository_path_and_library_name_in_backticks_exists(ctc, course):
    findings = [f for doc in course for f in ctc.check_paths(doc)]
    assert not findings, _report(findings)


def test_chapter_references_name_existing_chapters_or_the_course_plan(ctc, course):
    findings = [f for doc in course for f in ctc.check_chapter_refs(doc)]
    assert not findings, _report(findings)


def test_errata_page_has_every_cited_erratum_and_each_row_shows_where_it_is_corrected(ctc, course):
    findings = ctc.check_errata(course)
    assert not findings, _report(findings)
    assert {f"E{i}" for i in range(1, 18)} <= set(ctc.errata_rows())


def test_no_file_of_the_course_points_outside_the_repository(ctc):
    checker = ROOT / "tools" / "check_course_text.py"
    files = [
        p
        for folder in ("course_lib", "benchmarks", "tools", "tests", "chapters", "data")
        for p in (ROOT / folder).rglob("*")
        if p.suffix in (".py", ".md", ".ipynb", ".txt")
    ]
    files += [ROOT / "README.md", ROOT / "pyproject.toml", ROOT / "requirements.txt"]
    bad = [
        f"{p.relative_to(ROOT)}: {marker}"
        for p in files
        if p != checker and p.is_file()
        for marker in ctc.OUTSIDE_MARKERS
        if marker in p.read_text(encoding="utf-8", errors="replace")
    ]
    assert not bad, bad


def test_numbers_in_prose_are_pinned_by_code_or_cited_and_measurements_are_dated(ctc, course):
    findings = [f for doc in course for f in ctc.prose_number_findings(doc)]
    assert not findings, _report(findings)


# --- each check catches a planted error -----------------------------------------------------------


def _notebook(markdown: list[str], code: list[str] = ()) -> str:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": m} for m in markdown]
    cells += [
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": c}
        for c in code
    ]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


@pytest.fixture
def tiny_course(tmp_path):
    """A course with one chapter (01), an errata page with one row, and a README."""
    (tmp_path / "chapters" / "01_intro").mkdir(parents=True)
    (tmp_path / "README.md").write_text("# Course\n\n## Chapters\n\nA table.\n")
    (tmp_path / "chapters" / "errata.md").write_text(
        "# Errata\n\n## E1\n\n- shown in [01](01_intro/01_first.ipynb#Reading-critically)\n"
    )

    def write(markdown, code=()):
        path = tmp_path / "chapters" / "01_intro" / "01_first.ipynb"
        path.write_text(
            _notebook(["# Title\n\n## Reading critically\n\nNothing.", *markdown], code)
        )
        return path

    return tmp_path, write


def _findings(ctc, root, path):
    doc = ctc.read_document(path, root)
    return ctc.check([doc], root)


def test_a_clean_tiny_course_has_no_findings(ctc, tiny_course):
    root, write = tiny_course
    path = write(
        [
            "See [erratum E1](../errata.md#E1), chapter 1 and the course plan's chapter 3.",
            "The loss is 1.85 nats.",
            "## Expected results\n\nMeasured 2026-12-05 on a 2-core CPU: 1.91.",
        ],
        ["loss = 1.85  # checked below\nassert abs(loss - 1.85) < 0.1"],
    )
    assert _findings(ctc, root, path) == []


@pytest.mark.parametrize(
    "planted, kind",
    [
        ("See [the next part](02_second.ipynb).", "link"),
        ("See [the box](01_first.ipynb#No-such-heading).", "link"),
        ("See [erratum E1](../errata.md#E2).", "link"),
        ("The data are in `data/nothing_here.npz`.", "path"),
        ("As chapter 3 shows, GANs are hard.", "chapter"),
        ("As chapter 1, part 4 shows, it works.", "chapter"),
        ("This is erratum E7.", "errata"),
        (
            "This is [erratum E1](../errata.md#E1), see also erratum E1 in SEED" + "_ERRATA.md.",
            "errata",
        ),
        ("Top-1 accuracy is 0.60 on the 15 questions.", "number"),
        ("## Expected results\n\n| profile | loss |\n|---|---|\n| student | 1.91 |", "measured"),
    ],
)
def test_each_check_catches_its_planted_error(ctc, tiny_course, planted, kind):
    root, write = tiny_course
    kinds = {f.kind for f in _findings(ctc, root, write([planted]))}
    assert kind in kinds, kinds


def test_a_typed_number_passes_when_asserted_or_cited_and_fails_when_not(ctc, tiny_course):
    root, write = tiny_course
    sentence = "The held-out loss is 1.827 nats per character."
    assert any(f.kind == "number" for f in _findings(ctc, root, write([sentence])))
    assert not _findings(ctc, root, write([sentence], ["assert abs(val_loss - 1.827) < 0.02"]))
    cited = "Karpathy's nanoGPT README reports 1.4697 (Karpathy 2023, https://github.com/karpathy/nanoGPT)."
    assert not _findings(ctc, root, write([cited]))
    # a percentage may be pinned by the fraction, and a size by its value in another unit
    assert not _findings(
        ctc,
        root,
        write(
            ["About 52 % of peak, 13.5 GB of weights."],
            ["assert abs(hfu - 0.52) < 0.01\nassert abs(w_bytes - 13.5e9) < 1e8"],
        ),
    )


def test_an_assert_of_literals_pins_nothing(ctc, tiny_course):
    root, write = tiny_course
    sentence = "The model improved in 15 months."
    assert any(
        f.kind == "number"
        for f in _findings(ctc, root, write([sentence], ["assert (2020 - 2019) * 12 + 3 == 15"]))
    )
    assert not _findings(
        ctc, root, write([sentence], ["assert months_between(first, second) == 15"])
    )


def test_the_errata_page_must_link_each_row_to_a_notebook(ctc, tiny_course):
    root, write = tiny_course
    path = write([])
    (root / "chapters" / "errata.md").write_text("# Errata\n\n## E1\n\n- not shown anywhere yet\n")
    assert [f.kind for f in _findings(ctc, root, path)] == ["errata"]


def test_dotted_library_names_are_checked_against_the_library(ctc):
    assert ctc.dotted_name_exists("course_lib.hardware.cost_model.decode_step_time")
    assert ctc.dotted_name_exists("course_lib.gpt")
    assert not ctc.dotted_name_exists("course_lib.hardware.no_such_function")
    assert not ctc.dotted_name_exists("course_lib.no_such_module")


def test_anchors_are_made_as_jupyterlab_makes_them(ctc):
    assert (
        ctc.jupyter_anchor("5.1 Bernoulli pixels: binary `cross-entropy`")
        == "5.1-Bernoulli-pixels:-binary-cross-entropy"
    )
    assert ctc.jupyter_anchor("**Reading critically**") == "Reading-critically"
    assert ctc.github_anchor("Three commands") == "three-commands"


@pytest.mark.parametrize(
    "notebook, planted, kind",
    [
        (
            "06_applications/03_question_answering.ipynb",
            "BM25 found the judged passage first for 0.437 of them.",
            "number",
        ),
        ("04_math/03_language_models.ipynb", "Chapter 11 answers the FAQ.", "chapter"),
        ("01_background/01_roofline.ipynb", "See [erratum E99](../errata.md#E99).", "errata"),
        (
            "07_outlook/01_serving_cost.ipynb",
            "Run `benchmarks/no_such_script.py` to check.",
            "path",
        ),
    ],
)
def test_planted_errors_are_caught_in_a_copy_of_a_real_chapter(
    ctc, tmp_path, notebook, planted, kind
):
    """The same checks, on a real notebook with one planted sentence, in a copy of the course."""
    for name in ("chapters", "README.md", "data"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    path = tmp_path / "chapters" / notebook
    nb = json.loads(path.read_text(encoding="utf-8"))
    before = {str(f) for f in _findings(ctc, tmp_path, path)}
    # plant into the prose of the "Reading critically" box (not into Expected results, where
    # measured numbers are allowed)
    cell = next(
        c
        for c in nb["cells"]
        if c["cell_type"] == "markdown"
        and re.search(r"^#+ .*Reading critically", "".join(c["source"]), re.MULTILINE)
    )
    cell["source"] = "".join(cell["source"]) + "\n\n" + planted
    path.write_text(json.dumps(nb), encoding="utf-8")
    new = [f for f in _findings(ctc, tmp_path, path) if str(f) not in before]
    assert any(f.kind == kind for f in new), _report(new)
