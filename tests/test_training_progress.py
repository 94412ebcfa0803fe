"""The Trainer's progress bar: one bar over the whole run, with the time left; silent in ci."""

from __future__ import annotations

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib.training import TrainConfig, Trainer, supervised_task
from course_lib.training import trainer as trainer_module
from course_lib.training.trainer import PHASES, RunProgress


def small_task():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    return supervised_task(model, keras.losses.mean_squared_error, keras.optimizers.SGD(0.01))


def small_data() -> tf.data.Dataset:
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    return tf.data.Dataset.from_tensor_slices((x, x.sum(1, keepdims=True))).batch(8)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(trainer_module.time, "perf_counter", fake)
    return fake


def test_the_bar_counts_the_whole_run_from_the_resumed_step_and_estimates_the_time_left(
    clock, capsys
):
    bar = RunProgress(total=100, start=40, min_interval=0.0)
    assert bar.seconds_left() is None  # no estimate before the first update
    clock.now = 10.0
    bar.update(50, {"loss": 1.5})  # first call: 10 steps in 10 s (it includes compilation)
    assert bar.seconds_left() == pytest.approx(50.0)
    clock.now = 12.0
    bar.update(60, {"loss": 1.25})  # then 10 steps in 2 s: 5 steps/s, 40 steps left
    assert bar.rate() == pytest.approx(5.0)
    assert bar.seconds_left() == pytest.approx(8.0)
    line = bar.line()
    assert line.startswith("step  60/100 [") and " 60%" in line
    assert "about 8.0 s left" in line and "loss 1.2500" in line
    bar.write("a record")
    clock.now = 20.0
    bar.update(100)
    bar.close()
    out = capsys.readouterr().out
    # the record sits on its own line; the bar is redrawn (\r) on the line below it
    assert "\ra record" in out and "a record" + " " * 3 in out
    last = out.rstrip("\n").split("\r")[-1]
    assert last.startswith("step 100/100 [========================]") and "done in 20 s" in last
    assert out.endswith("\n")


def test_fit_draws_one_bar_over_all_steps_with_records_between(capsys):
    trainer = Trainer(
        small_task(), TrainConfig(steps=23, eval_every=5, steps_per_execution=4, progress="bar")
    )
    history = trainer.fit(small_data())
    out = capsys.readouterr().out
    targets = set(re.findall(r"step +\d+/(\d+) \[", out))
    assert targets == {"23"}  # every draw of the bar counts towards the run's last step
    assert "step 23/23" in out
    lines = [line.strip() for line in re.split(r"[\r\n]", out) if line.strip()]
    records = [line for line in lines if "[" not in line]
    assert len(records) == len(history.records) == 5  # 5, 10, 15, 20, 23
    assert out.endswith("\n")


def test_a_resumed_fit_starts_its_bar_at_the_step_it_resumes_from(capsys):
    trainer = Trainer(small_task(), TrainConfig(eval_every=10, progress="bar"))
    data = small_data()
    trainer.fit(data, steps=10)
    capsys.readouterr()
    trainer.fit(data, steps=25)
    out = capsys.readouterr().out
    counts = [int(c) for c in re.findall(r"step +(\d+)/25 \[", out)]
    assert counts and min(counts) > 10 and counts[-1] == 25


@pytest.mark.parametrize(
    ("progress", "env"),
    [("none", {}), (None, {"COURSE_PROFILE": "ci"}), (None, {"COURSE_PROGRESS": "0"})],
)
def test_no_output_at_all_without_progress(progress, env, capsys, monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "student")
    for name, value in env.items():  # None: the profile decides (ci: silent), or COURSE_PROGRESS
        monkeypatch.setenv(name, value)
    trainer = Trainer(
        small_task(), TrainConfig(steps=12, eval_every=4, steps_per_execution=3, progress=progress)
    )
    trainer.fit(small_data(), small_data())
    assert capsys.readouterr().out == ""


def test_records_mode_prints_one_line_per_record_and_no_bar(capsys):
    Trainer(small_task(), TrainConfig(steps=12, eval_every=4, progress="records")).fit(small_data())
    out = capsys.readouterr().out
    assert "\r" not in out and "[" not in out
    assert len(out.strip().splitlines()) == 3


def test_timings_split_the_run_into_its_parts(tmp_path):
    calls = []
    trainer = Trainer(
        small_task(),
        TrainConfig(
            steps=12, eval_every=4, steps_per_execution=2, checkpoint_dir=tmp_path, progress="none"
        ),
    )
    trainer.fit(small_data(), small_data(), callbacks=[lambda t, r: calls.append(r.step)])
    t = trainer.timings
    assert set(PHASES) <= set(t) and t["calls"] == 6
    assert all(t[p] > 0 for p in PHASES)
    assert calls == [4, 8, 12]
