"""Figures are readable at the width JupyterLab gives them: at most 9.5 inches wide, no tiny fonts.

JupyterLab 4.6 gives a notebook's outputs the window's width minus its side panels: measured
in headless Chromium (``tests/chromium.py``), 848 px in a 1280 x 900 window with the file
browser open and 1100 px with it closed. A wider image is shrunk to fit, and its text with it
(the issue's example: a 16-inch figure shown at 61 %, 7-pixel tick labels).
matplotlib-inline 0.2.2, the inline backend installed here, leaves ``figure.dpi`` alone (its
``InlineBackend.rc`` is empty) and renders at ``fig.dpi`` = **100 dpi** with
``bbox_inches="tight"``: measured in a kernel, ``figure.dpi`` is 100.0 and a
``figsize=(9.5, 3)`` figure becomes a 787 px wide PNG (the tight box trims the margins). So a
figure of at most ``MAX_WIDTH`` = 9.5 inches (at most 950 px) is shown at 89 % or more even in
that narrow window (100 % with the file browser closed), and a font of ``MIN_FONT_PT`` = 8 pt
(11 px at 100 dpi) stays about 10 px tall or more.

What is checked, statically (the code is parsed, nothing runs):

* in every chapter notebook's code cells and every ``course_lib`` module: each
  ``figsize=(w, h)`` keyword, ``figsize = (w, h)`` assignment, ``set_size_inches(w, h)``,
  ``set_figwidth(w)`` and ``rcParams["figure.figsize"] = (w, h)``. ``w`` must evaluate
  (numbers, arithmetic, ``min``/``max``) to at most 9.5. A width computed from variables,
  e.g. ``figsize=(2.3 * len(shown), 4)`` in a notebook, cannot be checked and must be capped
  visibly: ``figsize=(min(9.5, 2.3 * len(shown)), 4)``. (A library function computes its sizes
  from its arguments: those are checked by drawing, below.)
* font sizes: ``fontsize=``, ``labelsize=``, ``titlesize=``, ``size=`` in text calls (``text``,
  ``annotate``, ``set_title``, ``set_xlabel``, ...), and rcParams ``*size`` entries: a number
  below 8 or ``"x-small"`` / ``"xx-small"`` (6.9 pt and 5.8 pt at the default 10 pt) fails.

And by drawing: the library's figure functions (``course_lib.viz``), called with many panels,
make figures at most 9.5 inches wide.
"""

from __future__ import annotations

import ast
import json
import operator
from collections.abc import Callable, Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
MAX_WIDTH = 9.5  # inches: about 950 px at the inline backend's 100 dpi
MIN_FONT_PT = 8.0
SMALL_NAMES = {"xx-small": 5.79, "x-small": 6.94}  # pt at matplotlib's default 10 pt
TEXT_CALLS = {
    "text",
    "annotate",
    "title",
    "set_title",
    "suptitle",
    "supxlabel",
    "supylabel",
    "xlabel",
    "ylabel",
    "set_xlabel",
    "set_ylabel",
    "figtext",
    "set_fontsize",
    "set_size",
}
SIZE_KEYWORDS = {"fontsize", "labelsize", "titlesize", "title_fontsize"}

NOTEBOOKS = sorted((REPO / "chapters").glob("*/*.ipynb"))
MODULES = sorted((REPO / "course_lib").rglob("*.py"))

_OPS: dict[type, Callable] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
}


def evaluate(node: ast.AST) -> float | None:
    """The number ``node`` stands for, from literals, arithmetic and ``min``/``max``; ``None``
    when it depends on a variable. ``min(...)`` with one known argument is bounded by it."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = evaluate(node.operand)
        return None if value is None else -value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = evaluate(node.left), evaluate(node.right)
        if left is None or right is None:
            return None
        return float(_OPS[type(node.op)](left, right))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        values = [evaluate(arg) for arg in node.args]
        known = [v for v in values if v is not None]
        if node.func.id == "min" and known:
            return min(known)  # an upper bound of the result
        if node.func.id == "max" and known and len(known) == len(values):
            return max(known)
    return None


def call_name(node: ast.Call) -> str:
    """``ax.set_title(...)`` -> ``"set_title"``, ``plt.figure(...)`` -> ``"figure"``."""
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def subscript_key(node: ast.AST) -> str | None:
    """``rcParams["font.size"]`` -> ``"font.size"``; ``None`` for anything else."""
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        value = node.value
        name = value.attr if isinstance(value, ast.Attribute) else getattr(value, "id", "")
        if name == "rcParams" and isinstance(node.slice.value, str):
            return node.slice.value
    return None


def check_width(node: ast.AST, what: str, dynamic_ok: bool) -> str | None:
    """A problem with the width ``node`` (the first of ``figsize``), or ``None``."""
    width = evaluate(node)
    if width is None:
        if dynamic_ok:
            return None
        return (
            f"{what}: width `{ast.unparse(node)}` is computed at run time; cap it, "
            f"e.g. min({MAX_WIDTH}, {ast.unparse(node)})"
        )
    if width > MAX_WIDTH:
        return f"{what}: width {width:g} in > {MAX_WIDTH} in"
    return None


def check_font(node: ast.AST, what: str) -> str | None:
    """A problem with the font size ``node``, or ``None``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        points = SMALL_NAMES.get(node.value)
        if points is not None:
            return f"{what}: {node.value!r} is {points} pt < {MIN_FONT_PT:g} pt"
        return None
    size = evaluate(node)
    if size is not None and size < MIN_FONT_PT:
        return f"{what}: {size:g} pt < {MIN_FONT_PT:g} pt"
    return None


def width_of(node: ast.AST) -> ast.AST | None:
    """The first element of a ``(w, h)`` tuple or list; ``None`` for anything else."""
    if isinstance(node, ast.Tuple | ast.List) and node.elts:
        return node.elts[0]
    return None


def problems_in(source: str, where: str, dynamic_ok: bool) -> Iterator[str]:
    """Every too-wide figure and too-small font in the Python ``source``."""
    tree = ast.parse(source)
    nodes = sorted(ast.walk(tree), key=lambda n: getattr(n, "lineno", 0))
    for node in nodes:
        line = f"{where}, line {getattr(node, 'lineno', '?')}"
        found: list[str | None] = []
        if isinstance(node, ast.Call):
            name = call_name(node)
            for keyword in node.keywords:
                if keyword.arg == "figsize" and (w := width_of(keyword.value)) is not None:
                    found.append(check_width(w, f"{line}: figsize", dynamic_ok))
                elif keyword.arg in SIZE_KEYWORDS or (keyword.arg == "size" and name in TEXT_CALLS):
                    found.append(check_font(keyword.value, f"{line}: {keyword.arg}="))
            if name in ("set_size_inches", "set_figwidth") and node.args:
                first = node.args[0]
                w = width_of(first) if isinstance(first, ast.Tuple | ast.List) else first
                if w is not None:
                    found.append(check_width(w, f"{line}: {name}", dynamic_ok))
            if name in ("set_fontsize", "set_size") and node.args:
                found.append(check_font(node.args[0], f"{line}: {name}"))
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                key = subscript_key(target)
                is_figsize = key == "figure.figsize" or (
                    isinstance(target, ast.Name) and target.id == "figsize"
                )
                if is_figsize and (w := width_of(node.value)) is not None:
                    found.append(check_width(w, f"{line}: figsize", dynamic_ok))
                elif key is not None and key.endswith("size") and key != "figure.figsize":
                    found.append(check_font(node.value, f"{line}: rcParams[{key!r}]"))
        yield from (p for p in found if p)


def code_cells(path: Path) -> Iterator[tuple[int, str]]:
    """``(index, Python source)`` of each code cell, IPython syntax (magics) translated."""
    from IPython.core.inputtransformer2 import TransformerManager

    transform = TransformerManager().transform_cell
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for index, cell in enumerate(cells):
        if cell["cell_type"] == "code":
            yield index, transform("".join(cell["source"]))


def test_the_checker_catches_wide_figures_small_fonts_and_uncapped_widths():
    source = """
fig, ax = plt.subplots(1, 4, figsize=(16, 3))
plt.figure(figsize=(2.3 * n, 3))
ax.set_title("t", fontsize=7)
ax.tick_params(labelsize="x-small")
plt.rcParams["font.size"] = 6
fig.set_size_inches(12, 4)
figsize = (10.5, 2)
ok = plt.subplots(figsize=(min(9.5, 2.3 * n), 3))
fine = plt.subplots(figsize=(9.5, 4.2 * n))
ax.text(0, 0, "x", size=9)
rng.normal(size=3)
"""
    found = list(problems_in(source, "example", dynamic_ok=False))
    assert [p.split(":")[0] for p in found] == [
        "example, line 2",
        "example, line 3",
        "example, line 4",
        "example, line 5",
        "example, line 6",
        "example, line 7",
        "example, line 8",
    ], found
    assert "width 16 in > 9.5 in" in found[0]
    assert "min(9.5, 2.3 * n)" in found[1]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_figures_fit_jupyterlab(path: Path):
    found = [
        problem
        for index, source in code_cells(path)
        for problem in problems_in(source, f"cell {index}", dynamic_ok=False)
    ]
    assert not found, f"{path.relative_to(REPO)}:\n" + "\n".join(found)


def test_library_figures_fit_jupyterlab():
    found = [
        problem
        for path in MODULES
        for problem in problems_in(
            path.read_text(encoding="utf-8"), str(path.relative_to(REPO)), dynamic_ok=True
        )
    ]
    assert not found, "\n".join(found)


def test_library_figures_with_many_panels_stay_within_the_width():
    from course_lib.viz.plots import image_grid
    from course_lib.viz.widgets import latent_explorer, latent_grid

    images = np.zeros((40, 28, 28), dtype=np.float32)
    for kwargs in ({"ncols": 20}, {"ncols": 10}, {"ncols": 40, "labels": list(range(40))}):
        fig = image_grid(images, **kwargs)
        assert fig.get_figwidth() <= MAX_WIDTH, (kwargs, fig.get_size_inches())
    fig = image_grid(images[:10], figsize=(16, 2))  # a wide request is scaled down
    assert fig.get_figwidth() <= MAX_WIDTH

    def decode(z: np.ndarray) -> np.ndarray:
        return np.zeros((len(z), 28, 28), dtype=np.float32)

    assert latent_grid(decode, n=25).get_figwidth() <= MAX_WIDTH
    assert latent_explorer(decode, 4, interactive=False).get_figwidth() <= MAX_WIDTH
    plt.close("all")
