"""The loop's parts on their own: (sum, count) means, Checkpointer, EarlyStopper, History."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib.training import (
    EarlyStopper,
    EarlyStopping,
    History,
    Objective,
    Record,
    Task,
    TrainConfig,
    Trainer,
)
from course_lib.training.checkpointing import Checkpointer

VOCAB = 5


def token_task(learning_rate: float = 0.0) -> tuple[Task, keras.Model]:
    """Per-position logits of a tiny model; tokens (B, T) with a 0/1 weight per position."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(6 * VOCAB)])

    def logits(x):
        return tf.reshape(model(tf.cast(x, tf.float32)), [-1, 6, VOCAB])

    def per_token(batch):
        x, y, w = batch
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits(x))
        return ce, tf.cast(w, tf.float32)

    def loss_fn(batch, training):
        ce, w = per_token(batch)
        per_example = tf.reduce_sum(ce * w, axis=1) / tf.maximum(tf.reduce_sum(w, axis=1), 1.0)
        return per_example, {"token_loss": (tf.reduce_sum(ce * w), tf.reduce_sum(w))}

    def eval_fn(batch):
        ce, w = per_token(batch)
        per_example = tf.reduce_sum(ce * w, axis=1) / tf.maximum(tf.reduce_sum(w, axis=1), 1.0)
        return {
            "example_loss": per_example,
            "token_loss": (tf.reduce_sum(ce * w), tf.reduce_sum(w)),
        }

    optimizer = keras.optimizers.SGD(learning_rate)
    task = Task([Objective("loss", loss_fn, model, optimizer)], {"model": model}, eval_fn=eval_fn)
    return task, model


def token_data(n: int = 23):
    rng = np.random.default_rng(0)
    x = rng.integers(0, VOCAB, size=(n, 6)).astype("int32")
    y = rng.integers(0, VOCAB, size=(n, 6)).astype("int32")
    # unequal numbers of scored tokens per example (1 to 6)
    lengths = rng.integers(1, 7, size=n)
    w = (np.arange(6)[None, :] < lengths[:, None]).astype("float32")
    return x, y, w


def numpy_losses(model: keras.Model, x, y, w) -> tuple[float, float]:
    """Per-example mean and per-token mean of the cross-entropy, computed with NumPy."""
    z = model(x.astype("float32")).numpy().reshape(-1, 6, VOCAB).astype(np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    ce = -np.take_along_axis(log_p, y[..., None], axis=-1)[..., 0]
    per_example = (ce * w).sum(axis=1) / w.sum(axis=1)
    return float(per_example.mean()), float((ce * w).sum() / w.sum())


def test_evaluate_gives_exact_per_example_and_per_token_means_over_unequal_batches():
    task, model = token_task()
    x, y, w = token_data()
    # 23 examples in batches of 5: four of 5 and one of 3
    data = tf.data.Dataset.from_tensor_slices((x, y, w)).batch(5)
    got = Trainer(task, TrainConfig(progress="none")).evaluate(data)
    per_example, per_token = numpy_losses(model, x, y, w)
    assert got["example_loss"] == pytest.approx(per_example, rel=1e-5)
    assert got["token_loss"] == pytest.approx(per_token, rel=1e-5)
    # the two means differ here: the test tells them apart
    assert abs(per_example - per_token) > 1e-3


def test_records_report_training_values_as_sums_over_counts():
    task, model = token_task(learning_rate=0.0)
    x, y, w = token_data()
    data = tf.data.Dataset.from_tensor_slices((x, y, w)).batch(5)
    history = Trainer(task, TrainConfig(epochs=1, steps_per_execution=2, progress="none")).fit(data)
    per_example, per_token = numpy_losses(model, x, y, w)
    assert history.records[0].train["loss"] == pytest.approx(per_example, rel=1e-5)
    assert history.records[0].train["token_loss"] == pytest.approx(per_token, rel=1e-5)


def test_checkpointer_saves_restores_and_prunes_side_files(tmp_path):
    variable = tf.Variable([1.0, 2.0])
    checkpointer = Checkpointer(tmp_path, {"v": variable}, keep=2)
    assert checkpointer.restore() is None
    for step in (1, 2, 3):
        variable.assign([float(step), 0.0])
        arrays = {"best": [np.full(2, step), np.zeros(1)]}
        checkpointer.save(step, {"note": f"step {step}"}, arrays)
    assert sorted(p.name for p in tmp_path.glob("state-*.json")) == ["state-2.json", "state-3.json"]
    assert sorted(p.name for p in tmp_path.glob("arrays-*.npz")) == ["arrays-2.npz", "arrays-3.npz"]
    variable.assign([0.0, 0.0])
    restored = checkpointer.restore()
    assert restored.step == 3 and restored.state == {"note": "step 3"}
    np.testing.assert_array_equal(variable.numpy(), [3.0, 0.0])
    np.testing.assert_array_equal(restored.arrays["best"][0], [3, 3])
    assert checkpointer.write_json("history.json", {"a": 1}).read_text() == json.dumps({"a": 1})


def test_checkpointer_reports_a_checkpoint_of_other_objects(tmp_path):
    Checkpointer(tmp_path, {"v": tf.Variable([1.0])}, keep=1).save(1, {})
    other = Checkpointer(tmp_path, {"w": tf.Variable([1.0, 2.0])}, keep=1)
    with pytest.raises(ValueError, match="does not match"):
        other.restore()


def record(step: int, val_loss: float) -> Record:
    return Record(step, None, {"loss": 1.0}, {"loss": val_loss}, 1.0, 1.0)


def test_early_stopper_counts_records_without_improvement_and_restores_the_best():
    variable = tf.Variable(0.0)
    stopper = EarlyStopper(EarlyStopping(patience=2, min_delta=0.1), [variable])
    reasons = []
    for step, value in enumerate([1.0, 0.8, 0.75, 0.72, 0.9], start=1):
        variable.assign(float(step))
        reasons.append(stopper.update(record(step, value)))
    # 0.75 and 0.72 are within min_delta of 0.8: the second of them stops the run
    assert reasons[:3] == ["", "", ""]
    assert reasons[3].startswith("val_loss did not improve on 0.8 (step 2) for 2 record(s)")
    assert stopper.best_step == 2 and float(variable.numpy()) == 2.0
    state = stopper.state()
    again = EarlyStopper(stopper.rule, [tf.Variable(0.0)])
    again.load_state(json.loads(json.dumps(state)), stopper.best_weights)
    assert again.state() == state


def test_early_stopper_max_mode_and_missing_value():
    stopper = EarlyStopper(EarlyStopping("accuracy", mode="max", patience=1), [])
    assert stopper.update(Record(1, None, {"accuracy": 0.5}, {}, 1.0, 1.0)) == ""
    assert stopper.update(Record(2, None, {"accuracy": 0.6}, {}, 1.0, 1.0)) == ""
    assert stopper.update(Record(3, None, {"accuracy": 0.55}, {}, 1.0, 1.0)) != ""
    with pytest.raises(KeyError, match="'val_loss'"):
        EarlyStopper(EarlyStopping(), []).update(Record(1, None, {}, {}, 1.0, 1.0))


def test_history_steps_series_json_and_summary():
    history = History(
        records=[
            Record(250, 0.5, {"loss": 2.0}, {"loss": 2.5}, 100.0, 1.0),
            Record(300, 0.6, {"loss": float("nan")}, {}, 50.0, 1.0),
        ],
        points=[(250, {"loss": 2.0})],
        stop_reason="completed",
        message="ran 300 steps",
    )
    assert history.steps() == [250, 300]
    assert history.last_step == 300
    assert history.series("loss")[0] == 2.0
    with pytest.raises(KeyError, match="not recorded in every record"):
        history.series("loss", "val")
    with pytest.raises(ValueError, match="split must be one of"):
        history.series("loss", "test")
    again = History.from_json(history.to_json())
    assert again.steps() == [250, 300] and np.isnan(again.records[1].train["loss"])
    assert again.message == "ran 300 steps"
    lines = history.summary().splitlines()
    assert lines[0].startswith("step    250  epoch   0.50  loss 2.0000  val_loss 2.5000")
    assert lines[-1] == "stopped: completed (ran 300 steps)"
