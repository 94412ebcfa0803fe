"""course_lib.runtime.quiet: TensorFlow's known start-up lines are dropped, nothing else is.

The known lines are the ones TensorFlow 2.21 prints on a CPU machine (see the module's
docstring); a real Python warning, a traceback or an unknown C++ line must still show.
The last tests start TensorFlow through ``course_lib.start()`` in a fresh process, as a
terminal and as a Jupyter kernel would, and look at what reached standard error.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings

import pytest

from course_lib.runtime import quiet
from course_lib.runtime.quiet import (
    GRAPH_NOISE,
    KNOWN_NOISE,
    ONEDNN_HALF_FALLBACK,
    filter_lines,
    quiet_enabled,
    quiet_stderr,
)

# What `import tensorflow` and the first device listing printed here (TF 2.21, no GPU).
STARTUP = """\
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1796488892.487419   12591 port.cc:153] oneDNN custom operations are on. You may \
see slightly different numerical results due to floating-point round-off errors from \
different computation orders. To turn them off, set the environment variable \
`TF_ENABLE_ONEDNN_OPTS=0`.
I0000 00:00:1796488892.487821   12591 cudart_stub.cc:31] Could not find cuda drivers on your \
machine, GPU will not be used.
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1796488894.895651   12591 port.cc:153] oneDNN custom operations are on. You may \
see slightly different numerical results due to floating-point round-off errors from \
different computation orders. To turn them off, set the environment variable \
`TF_ENABLE_ONEDNN_OPTS=0`.
I0000 00:00:1796488894.896327   12591 cudart_stub.cc:31] Could not find cuda drivers on your \
machine, GPU will not be used.
E0000 00:00:1796488895.829374   12591 cuda_platform.cc:52] failed call to cuInit: INTERNAL: \
CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)
"""
CUINIT = STARTUP.splitlines(keepends=True)[-1]
UNKNOWN = "E0000 00:00:1796488923.776789   14475 util.cc:131] something new went wrong\n"
PY_WARNING = "/tmp/x.py:3: UserWarning: a real warning\n  warnings.warn('a real warning')\n"


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch):
    """Each test starts as a fresh process: no noise seen yet, filter on."""
    monkeypatch.setattr(quiet, "_seen", set())
    monkeypatch.delenv(quiet.QUIET_ENV, raising=False)
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")


def test_every_known_noise_entry_says_why_it_is_harmless():
    assert len({n.name for n in KNOWN_NOISE}) == len(KNOWN_NOISE) == 4
    assert all(len(n.why) > 30 for n in KNOWN_NOISE)


def test_the_known_startup_lines_are_dropped_and_nothing_else():
    text = STARTUP + UNKNOWN + PY_WARNING + "\n"
    kept, dropped = filter_lines(text)
    assert "".join(dropped) == STARTUP
    assert kept == [UNKNOWN, *PY_WARNING.splitlines(keepends=True), "\n"]


def test_a_failing_cuinit_shows_when_a_cuda_driver_was_found():
    # Without "Could not find cuda drivers" first, a failing cuInit is a real problem.
    kept, dropped = filter_lines(CUINIT)
    assert kept == [CUINIT] and dropped == []


def test_the_refused_leakyrelu_fusion_is_dropped_and_other_optimiser_errors_are_kept():
    refused = (
        "E0000 00:00:1796489079.829034   16022 meta_optimizer.cc:967] remapper failed: "
        "INVALID_ARGUMENT: Mutation::Apply error: fanout 'while/body/_144/gradient_tape/"
        "d/leaky_re_lu_7_1/LeakyRelu/LeakyReluGrad' exist for missing node "
        "'while/body/_144/d/conv2d_1_2/BiasAdd'.\n"
    )
    other = (
        "E0000 00:00:1796489079.829034   16022 meta_optimizer.cc:967] layout failed: "
        "INVALID_ARGUMENT: something else\n"
    )
    kept, dropped = filter_lines(refused + other, KNOWN_NOISE + GRAPH_NOISE)
    assert dropped == [refused] and kept == [other]
    assert filter_lines(refused)[0] == [refused]  # not a start-up line: kept by start()
    assert all(len(n.why) > 30 for n in GRAPH_NOISE)


def test_onednn_half_fallback_is_kept_unless_asked_for():
    line = (
        "E0000 00:00:1796489079.829034   16022 util.cc:131] oneDNN supports DT_HALF only on "
        "platforms with AVX-512. Falling back to the default Eigen-based implementation if "
        "present.\n"
    )
    assert filter_lines(line, KNOWN_NOISE + GRAPH_NOISE) == ([line], [])  # a real message
    assert filter_lines(line, (ONEDNN_HALF_FALLBACK,)) == ([], [line])  # chapter 00 prints it


def test_a_line_that_only_resembles_noise_is_kept():
    lines = [
        "WARNING: All log messages before absl::InitializeLog() is called: no\n",
        "I0000 00:00:1.5   1 other.cc:1] oneDNN custom operations are on.\n",
        "oneDNN custom operations are on.\n",  # no absl prefix
    ]
    kept, dropped = filter_lines("".join(lines))
    assert kept == lines and dropped == []


def test_quiet_stderr_drops_noise_written_to_the_file_descriptor(capfd):
    with quiet_stderr() as captured:
        os.write(2, (STARTUP + UNKNOWN).encode())
    err = capfd.readouterr().err
    assert err == UNKNOWN
    assert captured.kept == [UNKNOWN] and len(captured.dropped) == len(STARTUP.splitlines())


def test_a_python_warning_inside_the_block_still_shows(capfd):
    # What Python's default warnings.showwarning writes (pytest replaces showwarning itself)
    shown = warnings.formatwarning("a real warning", UserWarning, __file__, 1)
    with quiet_stderr():
        os.write(2, STARTUP.encode())
        sys.stderr.write(shown)
    err = capfd.readouterr().err
    assert err == shown


def fail_noisily() -> None:
    """Write the start-up lines and an unknown line to file descriptor 2, then raise."""
    with quiet_stderr():
        os.write(2, (STARTUP + UNKNOWN).encode())
        raise RuntimeError("boom")


def test_the_file_descriptor_is_restored_when_the_block_raises(capfd):
    with pytest.raises(RuntimeError, match="boom"):
        fail_noisily()
    os.write(2, b"after the block\n")
    assert capfd.readouterr().err == UNKNOWN + "after the block\n"


@pytest.mark.parametrize(
    "quiet_env, level, expected",
    [("", "2", True), ("0", "2", False), ("1", "3", True), ("", "0", False), ("", "1", False)],
)
def test_the_filter_can_be_turned_off(monkeypatch, capfd, quiet_env, level, expected):
    monkeypatch.setenv(quiet.QUIET_ENV, quiet_env)
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", level)
    assert quiet_enabled() is expected
    with quiet_stderr():
        os.write(2, STARTUP.encode())
    assert capfd.readouterr().err == ("" if expected else STARTUP)


START = """
import os, warnings
import course_lib
nb = course_lib.start()
import tensorflow as tf
tf.config.list_physical_devices()
print("started")
warnings.warn("a real warning after start")
"""


def test_start_prints_no_startup_noise_in_a_terminal():
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "COURSE_QUIET")}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(START)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "COURSE_PROFILE": "ci"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout
    assert (
        result.stderr.strip().splitlines()[0].endswith("UserWarning: a real warning after start")
    ), result.stderr


def test_start_prints_no_stderr_in_a_jupyter_kernel():
    """ipykernel sends what reaches file descriptor 2 to the notebook as red "stderr" output."""
    pytest.importorskip("ipykernel")
    from jupyter_client.manager import start_new_kernel

    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "COURSE_QUIET")}
    env.pop("MPLBACKEND", None)
    manager, client = start_new_kernel(
        kernel_name="python3", env={**env, "COURSE_PROFILE": "ci"}, startup_timeout=60
    )
    streams: dict[str, str] = {"stdout": "", "stderr": ""}

    def collect(message: dict) -> None:
        if message["msg_type"] == "stream":
            streams[message["content"]["name"]] += message["content"]["text"]

    try:
        code = "import course_lib\nnb = course_lib.start()\n"
        reply = client.execute_interactive(code, timeout=120, output_hook=collect)
        assert reply["content"]["status"] == "ok", reply["content"]
        # ipykernel forwards file descriptor 2 from a thread: give it time to flush
        client.execute_interactive("import time; time.sleep(0.5)", output_hook=collect)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert "TensorFlow " in streams["stdout"]
    assert streams["stderr"] == "", streams["stderr"]
