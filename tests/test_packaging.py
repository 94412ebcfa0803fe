"""The dependencies are declared once (pyproject.toml), and they are complete: every package
the library imports is a declared dependency, so `pip install .` gives a library that works."""

from __future__ import annotations

import ast
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # the standard library's TOML reader, Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def requirement_name(spec: str) -> str:
    """``"tensorflow[and-cuda]>=2.16"`` -> ``"tensorflow"`` (normalised as pip does)."""
    name = spec.split(";")[0]
    for stop in "[<>=!~ ":
        name = name.split(stop)[0]
    return name.strip().lower().replace("_", "-")


def third_party_imports_of(path: Path) -> set[str]:
    """Top-level names of modules ``path`` imports (anywhere in it) that are not the standard
    library or the course itself."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != "course_lib"}


def third_party_imports(folder: Path) -> set[str]:
    """:func:`third_party_imports_of` every module under ``folder``."""
    return set().union(*(third_party_imports_of(p) for p in folder.rglob("*.py")))


def test_requirements_txt_installs_the_package_with_its_extras_and_lists_nothing_else():
    lines = [
        line.split("#")[0].strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    assert lines == ["-e .[notebooks,test]"]
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert {"notebooks", "test"} <= set(extras)


# Packages whose code may import an optional extra's dependencies (inside the functions that
# need them, with a message naming the extra when it is missing).
EXTRA_OF_PACKAGE = {"classroom": "instructor", "book": "build"}


def test_every_package_the_library_imports_is_a_declared_dependency():
    project = PYPROJECT["project"]
    core = {requirement_name(s) for s in project["dependencies"]}
    distributions = packages_distributions()
    missing = {}
    for folder in [*sorted(p for p in (ROOT / "course_lib").iterdir() if p.is_dir()), None]:
        if folder is None:  # the top-level modules
            modules = set().union(
                *(third_party_imports_of(p) for p in (ROOT / "course_lib").glob("*.py"))
            )
            extra = None
        elif folder.name.startswith("__"):
            continue
        else:
            modules = third_party_imports(folder)
            extra = EXTRA_OF_PACKAGE.get(folder.name)
        declared = core | {
            requirement_name(s) for s in project["optional-dependencies"].get(extra, [])
        }
        for module in sorted(modules):
            dists = {requirement_name(d) for d in distributions.get(module, [module])}
            if module == "IPython":  # comes with ipywidgets, which the library declares
                dists |= {"ipywidgets"}
            if not dists & declared:
                missing[module] = sorted(dists)
    assert not missing, f"imported by course_lib but not declared: {missing}"


def test_the_test_tools_are_declared_in_the_test_extra():
    test_extra = {
        requirement_name(s) for s in PYPROJECT["project"]["optional-dependencies"]["test"]
    }
    assert {"pytest", "nbval", "pytest-xdist", "ruff"} <= test_extra
    addopts = PYPROJECT["tool"]["pytest"]["ini_options"]["addopts"]
    assert "--dist loadscope" in addopts  # nbval's cells must run in order, on one worker


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        ("tensorflow[and-cuda]>=2.16,<2.22", "tensorflow"),
        ("num2words>=0.5", "num2words"),
        ("pytest_xdist", "pytest-xdist"),
        ("ruff==0.17.6", "ruff"),
    ],
)
def test_requirement_name(spec, name):
    assert requirement_name(spec) == name
