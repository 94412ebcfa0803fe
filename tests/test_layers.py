"""The library's layering holds: a package imports only from packages in lower layers, and
ARCHITECTURE.md lists every module of course_lib (so the map cannot drift from the code)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import import_graph  # noqa: E402  (tools/ is not a package)
import layout  # noqa: E402

# The layers of ARCHITECTURE.md. The package itself (course_lib/__init__.py, __main__.py) sits
# on top and may import anything.
LAYERS = {
    "runtime": 0,
    "data": 1,
    "training": 1,
    "hardware": 1,
    "text": 1,
    "ngram": 1,
    "grading": 1,
    "distances": 1,
    "outline": 1,
    "vae": 2,
    "gan": 2,
    "gpt": 2,
    "compression": 2,
    "autoregressive": 2,
    "diffusion": 2,
    "collapse": 2,
    "privacy": 2,
    "viz": 2,
    "classroom": 1,
    "book": 2,
    "recipes": 3,
    "bench": 4,
    "cli": 5,
}
TOP = {"course_lib", "__main__"}


def package_of(module: str) -> str:
    """``course_lib.gpt.model`` -> ``gpt``; ``course_lib`` -> ``course_lib``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def layer_violations(edges: dict[str, set[str]]) -> list[str]:
    """Every import from a package into one of the same or a higher layer."""
    bad = []
    for source, targets in edges.items():
        a = package_of(source)
        for target in targets:
            b = package_of(target)
            if a == b or a in TOP:
                continue
            if b in TOP or LAYERS[b] >= LAYERS[a]:
                bad.append(f"{source} (layer {LAYERS[a]}) imports {target} (layer {LAYERS.get(b)})")
    return sorted(bad)


def test_every_package_has_a_layer():
    packages = {package_of(m) for m in import_graph.module_names()} - TOP
    assert packages == set(LAYERS), f"give these packages a layer: {packages ^ set(LAYERS)}"


def test_packages_import_only_from_lower_layers():
    assert layer_violations(import_graph.import_graph()) == []


def test_the_layer_check_catches_an_import_sideways_or_upwards():
    edges = {
        "course_lib.gpt.model": {"course_lib.gan.losses"},  # sideways, same layer
        "course_lib.runtime.paths": {"course_lib.training.trainer"},  # upwards
        "course_lib.vae.model": {"course_lib.training.task"},  # fine
    }
    assert layer_violations(edges) == [
        "course_lib.gpt.model (layer 2) imports course_lib.gan.losses (layer 2)",
        "course_lib.runtime.paths (layer 0) imports course_lib.training.trainer (layer 1)",
    ]


def test_architecture_md_lists_every_module():
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    missing = [
        p.relative_to(ROOT).as_posix()
        for p in layout.modules()
        if p.relative_to(ROOT).as_posix() not in text
    ]
    assert not missing, f"ARCHITECTURE.md does not list {missing}: run python tools/layout.py"
