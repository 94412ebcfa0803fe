"""The shape of course_lib: no import cycles, no TYPE_CHECKING imports hiding one."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _tool():
    spec = importlib.util.spec_from_file_location(
        "import_graph", ROOT / "tools" / "import_graph.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_course_lib_has_no_import_cycle():
    tool = _tool()
    graph = tool.import_graph()
    assert "course_lib.training.trainer" in graph
    assert "course_lib.training.checkpointing" in graph["course_lib.training.trainer"]
    assert tool.cycles(graph) == []


def test_the_cycle_finder_sees_a_cycle_hidden_under_type_checking(tmp_path):
    package = tmp_path / "course_lib"
    (package / "training").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "training" / "__init__.py").write_text("")
    (package / "training" / "loop.py").write_text(
        "from course_lib.training.state import RunState\n"
    )
    (package / "training" / "state.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from course_lib.training.loop import Trainer\n"
    )
    (package / "training" / "other.py").write_text("from . import state\n")
    tool = _tool()
    graph = tool.import_graph(tmp_path)
    assert graph["course_lib.training.other"] == {"course_lib.training.state"}
    assert tool.cycles(graph) == [["course_lib.training.loop", "course_lib.training.state"]]


def test_training_has_no_type_checking_import():
    for path in sorted((ROOT / "course_lib" / "training").glob("*.py")):
        assert "TYPE_CHECKING" not in path.read_text(), path.name
