"""Tests of course_lib.start (course_lib.runtime.notebook): the one-line start of a chapter."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import course_lib
from course_lib.runtime.notebook import Notebook


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        check=False,
    )


def test_start_without_tensorflow_imports_no_tensorflow_and_prints_the_profile():
    result = run_python(
        """
        import sys, course_lib
        nb = course_lib.start(3, tensorflow=False)
        print("tf imported:", "tensorflow" in sys.modules, end=" ")
        print("keras imported:", "keras" in sys.modules)
        print("seed", nb.seed, "setup", nb.setup)
        """,
        COURSE_PROFILE="ci",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("profile 'ci':")
    assert "tf imported: False keras imported: False" in lines
    assert "seed 3 setup None" in lines


def test_start_sets_seeds_devices_and_the_log_level_before_tensorflow_loads():
    result = run_python(
        """
        import os, course_lib
        nb = course_lib.start(7)
        import numpy as np, tensorflow as tf, keras
        a = (np.random.rand(), float(tf.random.uniform(())))
        course_lib.start(7)
        b = (np.random.rand(), float(tf.random.uniform(())))
        print("same draws:", a == b)
        print("log level", os.environ["TF_CPP_MIN_LOG_LEVEL"])
        print("replicas", nb.strategy.num_replicas_in_sync, "precision", nb.setup.precision)
        print("policy", keras.mixed_precision.global_policy().name)
        """,
        COURSE_PROFILE="ci",
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("profile 'ci':")
    assert "TensorFlow " in out and "strategy default (1 replica)" in out
    assert "same draws: True" in out
    assert "log level 2" in out
    assert "replicas 1 precision float32" in out and "policy float32" in out


def test_start_keeps_a_log_level_the_learner_chose():
    result = run_python(
        "import os, course_lib; course_lib.start(); print(os.environ['TF_CPP_MIN_LOG_LEVEL'])",
        COURSE_PROFILE="ci",
        TF_CPP_MIN_LOG_LEVEL="0",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "0"


def test_start_rejects_an_unknown_profile_and_a_bad_seed(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "fast")
    with pytest.raises(ValueError, match="Unknown course profile 'fast'"):
        course_lib.start(tensorflow=False)
    monkeypatch.setenv("COURSE_PROFILE", "ci")
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        course_lib.start(-1, tensorflow=False)
    with pytest.raises(TypeError, match="seed must be an integer"):
        course_lib.start(1.5, tensorflow=False)


def test_notebook_clock_run_dir_and_missing_strategy(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("COURSE_PROFILE", "ci")
    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path))
    nb = course_lib.start(tensorflow=False)
    assert isinstance(nb, Notebook) and nb.profile.name == "ci"
    assert capsys.readouterr().out.startswith("profile 'ci':")
    sum(i * i for i in range(200_000))  # some CPU work
    assert nb.elapsed() > 0 and nb.cpu_seconds() > 0
    assert nb.run_time().startswith("whole notebook ") and "profile 'ci'" in nb.run_time()
    run = nb.run_dir("demo", fresh=True)
    assert run == tmp_path / "demo" and run.is_dir()
    with pytest.raises(RuntimeError, match="tensorflow=False"):
        _ = nb.strategy
