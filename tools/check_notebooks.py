"""Fail if any notebook is committed with outputs or execution counts (used by .ci/run).

Usage: python tools/check_notebooks.py [FOLDER ...]   (default: chapters)
Fix:   jupyter nbconvert --clear-output --inplace path/to/notebook.ipynb
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def dirty_cells(path: Path) -> list[int]:
    """Indices of code cells that carry outputs or an execution count."""
    cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    return [
        i
        for i, c in enumerate(cells)
        if c.get("cell_type") == "code"
        and (c.get("outputs") or c.get("execution_count") is not None)
    ]


def main(folders: list[str]) -> int:
    notebooks = sorted(
        p for f in folders for p in Path(f).rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
    )
    bad = {p: dirty_cells(p) for p in notebooks}
    bad = {p: cells for p, cells in bad.items() if cells}
    for path, cells in bad.items():
        print(
            f"{path}: code cells {cells} have outputs or execution counts; "
            f"run: jupyter nbconvert --clear-output --inplace {path}"
        )
    print(f"checked {len(notebooks)} notebooks: {len(bad)} with outputs")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["chapters"]))
