"""course_lib.runtime.progress: a text bar on stdout, silent in ci, with a time estimate."""

from __future__ import annotations

import itertools

import pytest

from course_lib.runtime import progress as progress_module
from course_lib.runtime.progress import format_seconds, progress


class FakeClock:
    """A clock that moves one second per reading, so every update redraws."""

    def __init__(self, step: float = 1.0) -> None:
        self.t = itertools.count(0.0, step)

    def __call__(self) -> float:
        return next(self.t)


@pytest.fixture
def student(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "student")
    monkeypatch.delenv("COURSE_PROGRESS", raising=False)
    monkeypatch.setattr(progress_module, "_now", FakeClock())


def test_silent_in_ci_but_counts(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_PROFILE", "ci")
    monkeypatch.delenv("COURSE_PROGRESS", raising=False)
    seen = list(progress(range(7), desc="x"))
    with progress(total=10, desc="y") as bar:
        bar.update(4)
        bar.update(6)
    out = capsys.readouterr()
    assert seen == list(range(7))
    assert bar.n == 10
    assert out.out == "" and out.err == ""


def test_silent_when_course_progress_is_0(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_PROFILE", "student")
    monkeypatch.setenv("COURSE_PROGRESS", "0")
    list(progress(range(3)))
    assert capsys.readouterr().out == ""


def test_iterator_shows_eta_on_stdout_and_final_line(student, capsys):
    items = list(progress(range(4), desc="IWAE", unit="images"))
    out = capsys.readouterr()
    assert items == [0, 1, 2, 3]
    assert out.err == ""
    assert "\r" in out.out and out.out.endswith("\n")
    assert out.out.count("\n") == 1  # one line, redrawn in place
    states = out.out.strip("\n").split("\r")[1:]
    assert states[0].startswith("IWAE  0/4 images")
    assert any("1/4 images" in s and "left" in s for s in states)
    final = states[-1].rstrip()
    assert final.startswith("IWAE  4/4 images 100%")
    assert "done in" in final and "left" not in final


def test_context_manager_counts_total(student, capsys):
    with progress(total=100, desc="scoring", unit="samples") as bar:
        for _ in range(10):
            bar.update(10)
    assert bar.n == 100 and bar.closed
    final = capsys.readouterr().out.split("\r")[-1]
    assert "100/100 samples" in final and "done in" in final


def test_total_taken_from_len_and_unknown_for_generators(student, capsys):
    assert progress([1, 2, 3]).total == 3
    bar = progress((i for i in range(5)), unit="batches")
    assert bar.total is None
    assert list(bar) == list(range(5)) and bar.n == 5
    final = capsys.readouterr().out.split("\r")[-1]
    assert "5 batches" in final and "done in" in final


def test_stopped_early_says_so(student, capsys):
    def run() -> None:
        with progress(total=10, desc="run") as bar:
            bar.update(3)
            raise KeyError("boom")

    with pytest.raises(KeyError):
        run()
    final = capsys.readouterr().out.split("\r")[-1]
    assert "3/10" in final and "stopped in" in final


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"iterable": 5}, TypeError),
        ({"total": -1}, ValueError),
        ({"total": 2.5}, TypeError),
        ({"total": True}, TypeError),
        ({"desc": 3}, TypeError),
        ({"unit": ""}, ValueError),
    ],
)
def test_bad_arguments_raise(monkeypatch, kwargs, error):
    monkeypatch.setenv("COURSE_PROFILE", "ci")
    with pytest.raises(error):
        progress(**kwargs)


def test_bad_use_raises(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "ci")
    bar = progress(total=3)
    with pytest.raises(TypeError):
        bar.update(1.5)
    with pytest.raises(ValueError):
        bar.update(-1)
    with pytest.raises(TypeError, match="wraps no iterable"):
        iter(bar).__next__()
    bar.close()
    with pytest.raises(RuntimeError, match="closed"):
        bar.update(1)


def test_redraws_are_throttled(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_PROFILE", "student")
    monkeypatch.delenv("COURSE_PROGRESS", raising=False)
    monkeypatch.setattr(progress_module, "_now", FakeClock(step=0.01))
    list(progress(range(1000)))
    # 1000 updates over about 10 fake seconds: about 2 redraws a second, plus first and last
    assert capsys.readouterr().out.count("\r") < 40


def test_format_seconds():
    assert format_seconds(4.25) == "4.2 s"
    assert format_seconds(42) == "42 s"
    assert format_seconds(185) == "3 min 05 s"
    assert format_seconds(3720) == "1 h 02 min"
