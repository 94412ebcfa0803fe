"""Unit tests of the training package's small public pieces, each against known values:
the run plan, interval sums, (sum, count) reduction, loss-output normalisation, the dataset
check, the record format and the history's JSON round trip, and the optimizer switch."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib.training.history import History, IntervalSums, Record, format_record, mean_from_sum
from course_lib.training.plan import RunPlan, check_dataset, check_validation_data
from course_lib.training.replicas import sum_and_count, sums_and_counts
from course_lib.training.task import split_loss_output
from course_lib.training.update import without_optimizer_all_reduce


def test_run_plan_records_at_multiples_of_eval_every_and_at_the_end():
    plan = RunPlan(total_steps=1005, steps_per_epoch=250, eval_every=250, checkpoint_every=None)
    ends, step = [], 0
    while step < plan.total_steps:
        step = plan.record_end(step)
        ends.append(step)
    assert ends == [250, 500, 750, 1000, 1005]  # no leftover step dropped
    assert plan.record_end(260) == 500  # a resumed run continues to the next multiple
    assert plan.epoch(500) == 2.0 and plan.epoch(125) == 0.5
    assert RunPlan(10, None, 5, None).epoch(5) is None


def test_interval_sums_give_sum_over_count_and_survive_a_checkpoint():
    sums = IntervalSums()
    sums.add({"loss": (6.0, 3.0), "acc": (1.0, 3.0)}, examples=3, seconds=0.5)
    sums.add({"loss": (2.0, 1.0), "acc": (1.0, 1.0)}, examples=1, seconds=0.25)
    assert sums.means() == {"loss": 2.0, "acc": 0.5}  # (6 + 2) / 4 and (1 + 1) / 4
    assert sums.examples == 4 and sums.seconds == 0.75
    restored = IntervalSums.from_state(sums.state())
    assert restored == sums
    assert IntervalSums.from_state(None) == IntervalSums()
    empty = IntervalSums({"loss": [0.0, 0.0]})
    assert math.isnan(empty.means()["loss"])


def test_sum_and_count_of_each_kind_of_value():
    n = tf.constant(4)
    total, count = sum_and_count("loss", tf.constant([1.0, 2.0, 3.0, 4.0]), n)
    assert (float(total), float(count)) == (10.0, 4.0)
    total, count = sum_and_count("mean", tf.constant(2.5), n)  # a batch mean over 4 examples
    assert (float(total), float(count)) == (10.0, 4.0)
    total, count = sum_and_count("tokens", (tf.constant(7.0), tf.constant(3)), n)
    assert (float(total), float(count)) == (7.0, 3.0)
    values = sums_and_counts({"a": tf.constant([1.0]), "b": (2.0, 5.0)}, tf.constant(1))
    assert {k: (float(s), float(c)) for k, (s, c) in values.items()} == {
        "a": (1.0, 1.0),
        "b": (2.0, 5.0),
    }


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (tf.zeros((2, 3)), r"per example, shape \(B,\)"),
        ((1.0, 2.0, 3.0), "a sequence of 3"),
        ((tf.zeros(2), 1.0), "needs two scalars"),
    ],
)
def test_sum_and_count_refuses_other_shapes(value, match):
    with pytest.raises(ValueError, match=match):
        sum_and_count("v", value, tf.constant(2))


def test_split_loss_output_normalises_and_refuses_batch_means():
    loss, metrics = split_loss_output(tf.constant([1.0, 2.0]), "mlp")
    assert loss.shape == (2,) and metrics == {}
    loss, metrics = split_loss_output((tf.constant([1.0]), {"acc": tf.constant([1.0])}), "mlp")
    assert list(metrics) == ["acc"]
    with pytest.raises(ValueError, match="one loss per example"):
        split_loss_output(tf.constant(1.0), "mlp")
    with pytest.raises(TypeError, match="must return loss or"):
        split_loss_output((tf.constant([1.0]), 3.0), "mlp")


def test_check_dataset_says_how_to_make_one():
    ds = tf.data.Dataset.from_tensor_slices(np.zeros((4, 2))).batch(2)
    assert check_dataset("train", ds) is ds
    with pytest.raises(
        TypeError, match=r"train must be a tf\.data\.Dataset of batches, got ndarray"
    ):
        check_dataset("train", np.zeros((4, 2)))
    with pytest.raises(TypeError, match="make_dataset"):
        check_dataset("val", [1, 2])
    assert check_validation_data(ds) is ds
    with pytest.raises(ValueError, match="val repeats forever"):
        check_validation_data(ds.repeat())
    with pytest.raises(ValueError, match="val is empty"):
        check_validation_data(ds.take(0))
    assert mean_from_sum(6.0, 4.0) == 1.5 and math.isnan(mean_from_sum(0.0, 0.0))


def test_format_record_and_the_history_json_round_trip_keep_nan_and_infinity():
    record = Record(
        step=250,
        epoch=1.5,
        train={"loss": 0.25},
        val={"loss": math.nan},
        examples_per_sec=1234.4,
        seconds=2.0,
    )
    line = format_record(record)
    assert line.split() == [
        "step",
        "250",
        "epoch",
        "1.50",
        "loss",
        "0.2500",
        "val_loss",
        "nan",
        "1,234",
        "ex/s",
    ]
    history = History(records=[record], stop_reason="completed", message="ran 250 steps")
    back = History.from_json(history.to_json())
    assert back.steps() == [250]
    assert math.isnan(back.records[0].val["loss"])
    assert back.records[0].train == {"loss": 0.25}
    assert back.stop_reason == "completed" and back.summary().endswith("(ran 250 steps)")


def test_without_optimizer_all_reduce_switches_the_sum_off_only_inside_the_block():
    optimizer = keras.optimizers.Adam()
    original = type(optimizer)._all_reduce_sum_gradients
    with without_optimizer_all_reduce(optimizer):
        pairs = [(1, "v")]
        assert optimizer._all_reduce_sum_gradients(pairs) == pairs  # passed through unchanged
    assert "_all_reduce_sum_gradients" not in optimizer.__dict__
    assert type(optimizer)._all_reduce_sum_gradients is original
    scaled = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD())
    with without_optimizer_all_reduce(scaled):
        assert "_all_reduce_sum_gradients" in scaled.inner_optimizer.__dict__
    assert "_all_reduce_sum_gradients" not in scaled.inner_optimizer.__dict__


def test_without_optimizer_all_reduce_refuses_an_optimizer_it_does_not_know():
    class Plain:
        pass

    with (
        pytest.raises(RuntimeError, match="must be adapted"),
        without_optimizer_all_reduce(Plain()),
    ):
        pass
