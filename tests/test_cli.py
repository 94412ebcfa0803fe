"""course_lib.cli: ``python -m course_lib`` commands, exit codes, and a fast ``--help``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from course_lib import cli

ROOT = Path(__file__).resolve().parent.parent


def run_module(*args: str, **env: str) -> subprocess.CompletedProcess:
    """``python -m course_lib *args`` in a fresh interpreter, the course's variables cleared."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith("COURSE_") and k != "TF_CONFIG"
    }
    clean.update(PYTHONPATH=str(ROOT), **env)
    return subprocess.run(
        [sys.executable, "-m", "course_lib", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("TF_CONFIG", "COURSE_PRECISION", "COURSE_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    return monkeypatch


def test_help_exits_0_and_lists_doctor_and_profiles():
    result = run_module("--help")
    assert result.returncode == 0, result.stderr
    assert "doctor" in result.stdout and "profiles" in result.stdout


def test_help_does_not_import_tensorflow_or_keras():
    code = (
        "import sys\n"
        "from course_lib.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0, e.code\n"
        "print('imported:', sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("imported: []")


def test_doctor_prints_tf_version_and_exits_0():
    import tensorflow as tf

    result = run_module("doctor")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert f"TensorFlow  {tf.__version__}" in result.stdout
    assert "ERROR" not in result.stdout


def test_doctor_with_invalid_profile_exits_2_names_valid_profiles_and_still_reports():
    import tensorflow as tf

    result = run_module("doctor", COURSE_PROFILE="gigantic")
    assert result.returncode == 2
    assert "Valid profiles: ci, student, full" in result.stdout
    assert "gigantic" in result.stdout and "problem(s) found" in result.stderr
    assert f"TensorFlow  {tf.__version__}" in result.stdout  # the rest of the report is printed


def test_doctor_with_malformed_tf_config_exits_2_in_process(clean_env, capsys):
    clean_env.setenv("TF_CONFIG", "{not json")
    assert cli.main(["doctor"]) == 2
    out = capsys.readouterr().out
    assert "ERROR: TF_CONFIG is not valid JSON" in out and "Precision   float32" in out


def test_doctor_json_prints_the_report_dict(clean_env, capsys):
    import json

    assert cli.main(["doctor", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["strategy_kind"] == "default" and facts["errors"] == []


def test_doctor_sets_tf_log_level_only_if_unset(monkeypatch, capsys):
    for name in ("TF_CONFIG", "COURSE_PRECISION", "COURSE_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    cli.main(["doctor"])
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL")
    cli.main(["doctor"])
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "2"


def test_profiles_lists_the_three_profiles_and_marks_the_selected_one(clean_env, capsys):
    clean_env.setenv("COURSE_PROFILE", "ci")
    assert cli.main(["profiles"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [
        line.split()[1] if line.startswith(" *") else line.split()[0] for line in lines[1:4]
    ] == ["ci", "student", "full"]
    assert lines[1].startswith(" * ci") and not lines[2].startswith(" *")
    assert "all" in lines[3]  # full: no cap on examples


def test_profiles_with_invalid_profile_exits_2(clean_env, capsys):
    clean_env.setenv("COURSE_PROFILE", "nope")
    assert cli.main(["profiles"]) == 2
    assert "Valid profiles: ci, student, full" in capsys.readouterr().err


def test_no_command_prints_help_and_exits_2(capsys):
    assert cli.main([]) == 2
    assert "doctor" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["train-everything"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_every_registered_command_has_a_subparser():
    parser = cli.build_parser("course")
    required = {
        "grade": ["submission.ipynb"],
        "train": ["gpt"],
    }  # commands with a required argument
    for name in cli.COMMANDS:
        assert parser.parse_args([name, *required.get(name, [])]).command == name
    assert {"doctor", "profiles", "release", "grade", "build"} <= set(cli.COMMANDS)
