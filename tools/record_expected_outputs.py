"""Record the reference output of every `# NBVAL_CHECK_OUTPUT` cell into the cell's metadata.

Notebooks are committed without outputs; the text a tagged cell must print is stored in its
metadata under "expected_output", and `conftest.py` hands it to nbval, which then compares
it with what the cell prints under `pytest` (ci profile). Run this after changing such a cell:

    COURSE_PROFILE=ci python tools/record_expected_outputs.py chapters/00_getting_started/*.ipynb

It executes the notebook in a fresh kernel (in its own folder), keeps only the stdout of the
tagged cells, and writes the notebook back without any outputs or execution counts.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

MARKER = "# NBVAL_CHECK_OUTPUT"
KEY = "expected_output"


def record(path: Path) -> int:
    """Execute ``path`` and store the tagged cells' stdout; return how many cells were tagged."""
    if os.environ.get("COURSE_PROFILE", "ci") != "ci":
        raise SystemExit("reference outputs are recorded in the ci profile (what pytest runs)")
    os.environ["COURSE_PROFILE"] = "ci"
    original = nbformat.read(path, as_version=4)
    executed = nbformat.read(path, as_version=4)
    NotebookClient(
        executed, timeout=600, resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    tagged = 0
    for cell, ran in zip(original.cells, executed.cells, strict=True):
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        if cell.source.lstrip().startswith(MARKER):
            tagged += 1
            cell.metadata[KEY] = "".join(
                o.get("text", "")
                for o in ran.outputs
                if o.output_type == "stream" and o.name == "stdout"
            )
        else:
            cell.metadata.pop(KEY, None)
    nbformat.write(original, path)
    return tagged


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(f"{arg}: recorded {record(Path(arg))} tagged cells")
