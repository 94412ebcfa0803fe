"""Print course_lib's layout as a tree, one line per module: its path and the first line of
its docstring. Used for ARCHITECTURE.md and the README; `tests/test_architecture_doc.py`
checks that ARCHITECTURE.md names every module this prints.

Usage:  python tools/layout.py
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "course_lib"


def modules(package: Path = PACKAGE) -> list[Path]:
    """Every ``.py`` file of the package, packages before their modules, alphabetically."""
    return sorted(
        package.rglob("*.py"),
        key=lambda p: (p.parent.relative_to(package).parts, p.name != "__init__.py", p.name),
    )


def summary(path: Path) -> str:
    """The first line of the module's docstring ('' if it has none)."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def tree(package: Path = PACKAGE) -> list[str]:
    """``["course_lib/runtime/paths.py  Where the course finds ...", ...]``."""
    rows = []
    for path in modules(package):
        rel = path.relative_to(package.parent).as_posix()
        rows.append((rel, summary(path)))
    width = max(len(r) for r, _ in rows)
    return [f"{rel:<{width}}  {text}" for rel, text in rows]


if __name__ == "__main__":
    print("\n".join(tree()))
