"""Every chapter notebook is committed without outputs (they are produced by running it)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from course_lib.runtime.paths import chapter_notebooks

ROOT = Path(__file__).resolve().parent.parent


def load_checker():
    spec = importlib.util.spec_from_file_location(
        "check_notebooks", ROOT / "tools" / "check_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_chapter_notebooks_have_no_outputs_or_execution_counts():
    checker = load_checker()
    notebooks = chapter_notebooks(ROOT / "chapters")
    dirty = {str(p.relative_to(ROOT)): checker.dirty_cells(p) for p in notebooks}
    assert not {p: c for p, c in dirty.items() if c}


def test_the_checker_finds_a_notebook_with_outputs(tmp_path):
    checker = load_checker()
    nb = tmp_path / "x.ipynb"
    nb.write_text(
        '{"cells": [{"cell_type": "code", "execution_count": 1, "outputs": [], "source": ""}]}'
    )
    assert checker.dirty_cells(nb) == [0]
    assert checker.main([str(tmp_path)]) == 1


def test_every_output_checked_cell_has_a_recorded_reference_output():
    """A `# NBVAL_CHECK_OUTPUT` cell without a reference would silently check nothing."""
    import json

    missing = []
    for path in chapter_notebooks(ROOT / "chapters"):
        for i, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
            source = "".join(cell.get("source", ""))
            tagged = cell["cell_type"] == "code" and source.lstrip().startswith(
                "# NBVAL_CHECK_OUTPUT"
            )
            if tagged and "expected_output" not in cell.get("metadata", {}):
                missing.append(f"{path.relative_to(ROOT)} cell {i}")
    assert not missing, f"run tools/record_expected_outputs.py on: {missing}"
