"""Every chapter notebook is committed without outputs (they are produced by running it)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_checker():
    spec = importlib.util.spec_from_file_location("check_notebooks", ROOT / "tools" / "check_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_chapter_notebooks_have_no_outputs_or_execution_counts():
    checker = load_checker()
    notebooks = sorted((ROOT / "chapters").rglob("*.ipynb"))
    dirty = {str(p.relative_to(ROOT)): checker.dirty_cells(p) for p in notebooks}
    assert not {p: c for p, c in dirty.items() if c}


def test_the_checker_finds_a_notebook_with_outputs(tmp_path):
    checker = load_checker()
    nb = tmp_path / "x.ipynb"
    nb.write_text('{"cells": [{"cell_type": "code", "execution_count": 1, "outputs": [], "source": ""}]}')
    assert checker.dirty_cells(nb) == [0]
    assert checker.main([str(tmp_path)]) == 1
