"""Running one chapter notebook top to bottom in a fresh kernel, and what the run recorded.

:func:`execute_notebook` runs a notebook the way a learner's "Restart kernel and run all" does:
a new kernel (``nbclient``), the notebook's own folder as the working directory, and the run
profile in the environment (``COURSE_PROFILE``; ``COURSE_WIDGETS=0``, so an interactive panel
shows the static figure it shows in the ``ci`` profile; ``COURSE_PROGRESS=0``, since a page
would keep every redraw of a progress bar as a line). It returns the executed notebook and
an :class:`Execution`: the wall time, the status, and for a failure the cell (its index in
``nb.cells`` and its first line) and the traceback with the terminal colours removed.
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from course_lib.runtime.validation import check_choice, check_real

OK, FAILED, CACHED, NOT_EXECUTED = "ok", "failed", "cached", "not executed"
STATUSES = (OK, FAILED, CACHED, NOT_EXECUTED)
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"

# CSI sequences (colours, cursor moves) as IPython writes them into tracebacks.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")


def strip_ansi(text: str) -> str:
    """``text`` without ANSI escape sequences (the colours of IPython's tracebacks)."""
    return _ANSI.sub("", text)


@dataclass(frozen=True)
class Failure:
    """Where a run stopped: the cell ``cell`` of ``nb.cells`` (0-based, markdown cells counted:
    its place in the ``.ipynb`` file), its first non-empty line, the error (name and message)
    and the traceback (plain text)."""

    cell: int
    first_line: str
    error: str
    traceback: str

    def describe(self) -> str:
        """One line: ``cell 12 (`model.fit(x)`): ValueError: ...``."""
        return f"cell {self.cell} (`{self.first_line}`): {self.error}"


@dataclass(frozen=True)
class Execution:
    """The record of one notebook in one build.

    Attributes:
        notebook: the notebook's path relative to the chapters folder (``07_outlook/x.ipynb``).
        status: ``"ok"`` (run in this build), ``"failed"``, ``"cached"`` (outputs of an earlier
            run with the same inputs) or ``"not executed"`` (left out of this build).
        seconds: wall time of the run that produced the outputs (kernel start included);
            ``None`` if the notebook was not executed.
        failure: where it failed, for ``"failed"``; ``None`` otherwise.
        finished: when that run ended (ISO 8601, seconds), or ``None``.
    """

    notebook: str
    status: str
    seconds: float | None = None
    failure: Failure | None = None
    finished: str | None = None

    def __post_init__(self) -> None:
        check_choice("status", self.status, STATUSES)
        if self.seconds is not None:
            check_real("seconds", self.seconds, minimum=0.0)
        if (self.status == FAILED) != (self.failure is not None):
            raise ValueError(f"status {self.status!r} and failure {self.failure!r} disagree")


def first_line(source: str) -> str:
    """The first non-blank line of a cell's source, stripped (``""`` for an empty cell)."""
    return next((line.strip() for line in source.splitlines() if line.strip()), "")


def kernel_environment(profile: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a build's kernel: this process's, with ``COURSE_PROFILE=profile``,
    ``COURSE_WIDGETS=0``, ``COURSE_PROGRESS=0`` (no progress bars), matplotlib's inline
    backend (a caller's ``MPLBACKEND=Agg``, as the tests set, would leave the pages without
    figures) and ``extra`` on top."""
    env = dict(os.environ)
    env.update(
        COURSE_PROFILE=profile, COURSE_WIDGETS="0", COURSE_PROGRESS="0", MPLBACKEND=INLINE_BACKEND
    )
    env.update(extra or {})
    return env


def _error_output(cell: NotebookNode) -> NotebookNode | None:
    return next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)


def _failure(nb: NotebookNode, index: int, exc: BaseException) -> Failure:
    cell = nb.cells[index]
    error = _error_output(cell)
    if error is not None:
        name = f"{error.get('ename', 'Error')}: {error.get('evalue', '')}".rstrip(": ")
        tb = "\n".join(error.get("traceback", [])) or name
    else:  # a timeout or a dead kernel leaves no error output in the cell
        name = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
        tb = f"{type(exc).__name__}: {exc}"
    return Failure(index, first_line(cell.source), strip_ansi(name), strip_ansi(tb).strip())


def execute_notebook(
    path: str | Path,
    *,
    profile: str,
    timeout: float = 600.0,
    env: Mapping[str, str] | None = None,
    name: str | None = None,
    log: str | Path | None = None,
) -> tuple[NotebookNode, Execution]:
    """Run the notebook at ``path`` in a fresh kernel; return the executed notebook and its
    :class:`Execution` (named ``name``, default the file name).

    Args:
        path: the ``.ipynb`` file; the kernel's working directory is its folder.
        profile: the run profile (``COURSE_PROFILE``).
        timeout: the longest one cell may run, in seconds; a slower cell fails the run.
        env: further environment variables for the kernel.
        name: the notebook's name in the record (default: the file name).
        log: a file for the kernel's own messages (its stdout and stderr: TensorFlow's start-up
            lines, warnings); default: this process's.

    A failing cell stops the run: the notebook keeps the outputs up to and including that
    cell's error, and the record names the cell. Stored outputs are cleared before the run.
    """
    from nbclient import NotebookClient

    path = Path(path)
    timeout = check_real("timeout", timeout, minimum=1.0)
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    current = {"index": 0}

    def on_cell_start(cell: NotebookNode, cell_index: int) -> None:
        current["index"] = cell_index

    kernel = nb.metadata.get("kernelspec", {}).get("name", "python3")
    client = NotebookClient(
        nb,
        timeout=int(timeout),
        kernel_name=kernel,
        resources={"metadata": {"path": str(path.parent.resolve())}},
        record_timing=False,  # per-cell timestamps would only add noise to the built notebook
        store_widget_state=False,  # no widget state: the pages load no widget manager
        on_cell_start=on_cell_start,
    )
    failure = None
    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        streams = {}
        if log is not None:
            Path(log).parent.mkdir(parents=True, exist_ok=True)
            stream = stack.enter_context(open(log, "w", encoding="utf-8"))
            streams = {"stdout": stream, "stderr": stream}
        try:
            client.execute(env=kernel_environment(profile, env), **streams)
        except Exception as exc:  # a cell's error, a timeout, a dead kernel: all end the run
            failure = _failure(nb, current["index"], exc)
    seconds = time.perf_counter() - start
    nb.metadata.pop("widgets", None)
    record = Execution(
        notebook=name or path.name,
        status=FAILED if failure else OK,
        seconds=round(seconds, 2),
        failure=failure,
        finished=time.strftime("%Y-%m-%dT%H:%M:%S"),
    )
    return nb, record


def without_outputs(nb: NotebookNode) -> NotebookNode:
    """A copy of ``nb`` with every code cell's outputs and execution count cleared."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb
