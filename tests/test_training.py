"""Tests of course_lib.training: the loop every model of the course trains through."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib.training import (
    EarlyStopping,
    Objective,
    Task,
    TrainConfig,
    Trainer,
    supervised_task,
)

ROOT = Path(__file__).resolve().parent.parent
TRUE_W = np.array([[1.0], [2.0], [-1.0]], dtype="float32")


def regression_data(n: int = 512, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype("float32")
    return x, x @ TRUE_W + 0.5


def make_dataset(batch: int = 32, n: int = 512) -> tf.data.Dataset:
    x, y = regression_data(n)
    return tf.data.Dataset.from_tensor_slices((x, y)).shuffle(n, seed=1).batch(batch).prefetch(2)


def make_task(
    learning_rate: float = 0.05, seed: int = 0, global_clipnorm: float | None = None
) -> Task:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)]
    )
    optimizer = keras.optimizers.Adam(learning_rate, global_clipnorm=global_clipnorm)
    return supervised_task(model, keras.losses.mean_squared_error, optimizer)


def weights(task: Task) -> list[np.ndarray]:
    return [v.numpy() for v in task.model_variables()]


def test_loss_falls_on_a_small_regression():
    task = make_task()
    history = Trainer(task, TrainConfig(epochs=6, progress="none")).fit(
        make_dataset(), make_dataset()
    )
    losses = history.series("loss")
    assert losses[-1] < 0.05 * losses[0]
    assert history.series("loss", "val")[-1] < 0.1
    assert history.stop_reason == "completed"
    assert history.steps() == [16, 32, 48, 64, 80, 96]
    assert [r.epoch for r in history.records] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert all(r.examples_per_sec > 0 for r in history.records)


def test_history_counts_every_example_once_per_epoch():
    task = make_task()
    trainer = Trainer(task, TrainConfig(epochs=2, steps_per_execution=3, progress="none"))
    # 11 batches, the last one of 10
    history = trainer.fit(make_dataset(batch=50, n=510))
    assert history.steps() == [11, 22]
    assert history.points[-1][0] == 22


def test_no_leftover_step_is_dropped():
    """steps=23, eval_every=5: records at 5, 10, 15, 20 and 23, and 23 updates."""
    task = make_task()
    config = TrainConfig(steps=23, eval_every=5, steps_per_execution=4, progress="none")
    trainer = Trainer(task, config)
    history = trainer.fit(make_dataset())
    assert history.steps() == [5, 10, 15, 20, 23]
    assert int(trainer.step.numpy()) == 23
    assert int(task.objectives[0].optimizer.iterations.numpy()) == 23
    assert history.records[-1].epoch == pytest.approx(23 / 16)
    assert history.message == "ran 23 steps"


def test_fit_steps_continue_the_same_run():
    trainer = Trainer(make_task(), TrainConfig(eval_every=10, progress="none"))
    data = make_dataset()
    assert trainer.fit(data, steps=10).steps() == [10]
    assert trainer.fit(data, steps=25).steps() == [10, 20, 25]
    assert int(trainer.step.numpy()) == 25


def test_mean_loss_equals_an_independent_computation():
    """The loop's epoch loss with zero learning rate equals numpy's MSE of the fixed model."""
    task = make_task(learning_rate=0.0)
    before = task.models["model"](regression_data()[0]).numpy()
    # 11 batches of 48 and one of 32: unequal batches
    history = Trainer(task, TrainConfig(epochs=1, progress="none")).fit(make_dataset(batch=48))
    expected = float(np.mean((before - regression_data()[1]) ** 2))
    assert history.series("loss")[0] == pytest.approx(expected, rel=1e-5)


def test_interrupted_run_resumes_to_the_same_weights_and_history(tmp_path):
    reference = make_task()
    ref_history = Trainer(reference, TrainConfig(epochs=3, progress="none")).fit(make_dataset())

    def interrupt_after_first_record(trainer, record):
        if record.step == 16:
            raise KeyboardInterrupt

    config = TrainConfig(epochs=3, checkpoint_dir=tmp_path, progress="none")
    first = Trainer(make_task(seed=0), config)
    history = first.fit(make_dataset(), callbacks=[interrupt_after_first_record])
    assert history.stop_reason == "interrupted" and history.steps() == [16]
    assert "checkpoint saved" in history.message

    # different initial weights: the checkpoint must win
    resumed_task = make_task(seed=123)
    resumed = Trainer(resumed_task, config)
    # a resumed script seeds as the original did (data order)
    keras.utils.set_random_seed(0)
    history = resumed.fit(make_dataset())
    assert int(resumed.step.numpy()) == 48 and history.steps() == [16, 32, 48]
    for a, b in zip(weights(reference), weights(resumed_task), strict=True):
        np.testing.assert_array_equal(a, b)
    assert history.series("loss") == pytest.approx(ref_history.series("loss"), rel=1e-6)
    assert json.loads((tmp_path / "history.json").read_text())["stop_reason"] == "completed"


def test_resume_from_a_mid_record_checkpoint_gives_the_same_weights_and_records(tmp_path):
    """A run that died after its step-25 checkpoint, resumed, equals the run that did not."""
    config = TrainConfig(
        steps=32,
        eval_every=16,
        checkpoint_dir=tmp_path,
        checkpoint_every=5,
        keep_checkpoints=10,
        progress="none",
    )
    reference = make_task()
    ref_history = Trainer(reference, config).fit(make_dataset(), make_dataset())
    saved = sorted(int(p.name[5:-6]) for p in tmp_path.glob("ckpt-*.index"))
    # every 5 steps and at the end; not at the record of step 16
    assert saved == [5, 10, 15, 20, 25, 30, 32]
    for step in (30, 32):
        for f in tmp_path.glob(f"ckpt-{step}.*"):
            f.unlink()
    (tmp_path / "checkpoint").write_text(
        'model_checkpoint_path: "ckpt-25"\nall_model_checkpoint_paths: "ckpt-25"\n'
    )
    task = make_task(seed=7)
    trainer = Trainer(task, config)
    keras.utils.set_random_seed(0)
    history = trainer.fit(make_dataset(), make_dataset())
    for a, b in zip(weights(reference), weights(task), strict=True):
        np.testing.assert_array_equal(a, b)
    assert history.steps() == ref_history.steps() == [16, 32]
    assert history.series("loss") == pytest.approx(ref_history.series("loss"), rel=1e-6)
    assert history.series("loss", "val") == pytest.approx(
        ref_history.series("loss", "val"), rel=1e-6
    )


def test_checkpoint_of_another_model_gives_a_clear_error(tmp_path):
    Trainer(make_task(), TrainConfig(epochs=1, checkpoint_dir=tmp_path, progress="none")).fit(
        make_dataset()
    )
    keras.utils.set_random_seed(0)
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    task = supervised_task(other, keras.losses.mean_squared_error, keras.optimizers.Adam())
    with pytest.raises(ValueError, match="does not match"):
        Trainer(task, TrainConfig(epochs=2, checkpoint_dir=tmp_path, progress="none")).fit(
            make_dataset()
        )


def test_nan_guard_stops_names_the_step_and_keeps_the_last_good_weights(capsys):
    task = make_task()
    model = task.models["model"]
    loss_fn = task.objectives[0].loss_fn
    trainer_ref = {}

    def poisoned(batch, training):
        loss, metrics = loss_fn(batch, training)
        step = trainer_ref["t"].step
        # no NaN in the gradient before step 7
        poison = tf.where(tf.equal(step, 7), np.float32(np.nan), np.float32(0.0))
        return loss + poison, metrics

    task = Task(
        [Objective("loss", poisoned, model, task.objectives[0].optimizer)], {"model": model}
    )
    trainer = Trainer(task, TrainConfig(epochs=3, steps_per_execution=4, progress="none"))
    trainer_ref["t"] = trainer

    # the weights after step 6, from a reference run of the same seed and data
    ref = make_task()
    Trainer(ref, TrainConfig(steps=6, progress="none")).fit(make_dataset())
    after6 = weights(ref)

    history = trainer.fit(make_dataset())
    assert history.stop_reason == "non-finite"
    assert "step 7" in history.message and "'loss'" in history.message
    assert "step 7" in capsys.readouterr().out
    assert int(trainer.step.numpy()) == 6
    for a, b in zip(after6, weights(task), strict=True):
        np.testing.assert_array_equal(a, b)
    assert all(np.isfinite(w).all() for w in weights(task))


def test_early_stopping_stops_and_restores_the_best_record():
    # far too large a learning rate: the validation loss soon stops improving
    task = make_task(learning_rate=0.5)
    rule = EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
    trainer = Trainer(task, TrainConfig(epochs=40, early_stopping=rule, progress="none"))
    history = trainer.fit(make_dataset(), make_dataset())
    assert history.stop_reason == "early_stopping"
    assert "restored" in history.message
    assert len(history.records) < 40
    val = history.series("loss", "val")
    assert val[-1] > min(val)
    assert trainer.evaluate(make_dataset())["loss"] == pytest.approx(min(val), rel=1e-4)


def test_early_stopping_resumes_exactly(tmp_path):
    """Interrupted and resumed, early stopping stops at the same step with the same weights."""
    rule = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    config = TrainConfig(
        steps=400, eval_every=8, early_stopping=rule, checkpoint_dir=tmp_path, progress="none"
    )
    reference = make_task(learning_rate=0.5)
    no_checkpoints = dataclasses.replace(config, checkpoint_dir=None)
    ref_history = Trainer(reference, no_checkpoints).fit(make_dataset(), make_dataset())
    assert ref_history.stop_reason == "early_stopping"
    stop = ref_history.steps()[-1]

    def interrupt_one_record_before_the_stop(trainer, record):
        if record.step == stop - 8:
            raise KeyboardInterrupt

    Trainer(make_task(learning_rate=0.5), config).fit(
        make_dataset(), make_dataset(), callbacks=[interrupt_one_record_before_the_stop]
    )
    task = make_task(learning_rate=0.5, seed=3)
    keras.utils.set_random_seed(0)
    history = Trainer(task, config).fit(make_dataset(), make_dataset())
    assert history.stop_reason == "early_stopping"
    assert history.steps() == ref_history.steps()
    for a, b in zip(weights(reference), weights(task), strict=True):
        np.testing.assert_array_equal(a, b)


def test_early_stopping_on_an_unknown_value_is_a_clear_error():
    config = TrainConfig(epochs=2, early_stopping=EarlyStopping("val_acc"), progress="none")
    trainer = Trainer(make_task(), config)
    with pytest.raises(KeyError, match="val_acc"):
        trainer.fit(make_dataset(), make_dataset())


def test_two_objectives_train_in_turn_like_a_gan():
    """Two players, two optimizers, no special case: each minimises its own loss."""
    keras.utils.set_random_seed(0)
    a = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    b = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])

    def loss_a(x, training):
        # pulls a's weight to 3
        return tf.reduce_sum(tf.square(a(x) - 3.0 * x), axis=1)

    def loss_b(x, training):
        # pulls b's weight to twice a's (reads a's fresh value)
        return tf.reduce_sum(tf.square(b(x) - 2.0 * tf.stop_gradient(a(x))), axis=1)

    task = Task(
        [
            Objective("a_loss", loss_a, a, keras.optimizers.Adam(0.1)),
            Objective("b_loss", loss_b, b, keras.optimizers.Adam(0.1)),
        ],
        {"a": a, "b": b},
    )
    data = tf.data.Dataset.from_tensor_slices(
        np.linspace(-1, 1, 64, dtype="float32")[:, None]
    ).batch(16)
    history = Trainer(task, TrainConfig(epochs=60, progress="none")).fit(data)
    assert set(history.records[-1].train) == {"a_loss", "b_loss"}
    assert a.get_weights()[0].item() == pytest.approx(3.0, abs=0.05)
    assert b.get_weights()[0].item() == pytest.approx(6.0, abs=0.1)


def test_per_batch_loss_instead_of_per_example_is_rejected():
    task = make_task()
    model = task.models["model"]

    def mean_loss(batch, training):
        x, y = batch
        return tf.reduce_mean(tf.square(model(x) - y))

    bad = Task([Objective("loss", mean_loss, model, keras.optimizers.SGD())], {"model": model})
    with pytest.raises(ValueError, match=r"one loss per example"):
        Trainer(bad, TrainConfig(progress="none")).fit(make_dataset())


def test_objective_without_gradient_is_rejected():
    task = make_task()
    model = task.models["model"]
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    bad = Task(
        [Objective("loss", task.objectives[0].loss_fn, other, keras.optimizers.SGD())],
        {"model": model, "other": other},
    )
    with pytest.raises(ValueError, match="no gradient reaches"):
        Trainer(bad, TrainConfig(progress="none")).fit(make_dataset())


def test_unbuilt_model_is_rejected():
    model = keras.Sequential([keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="Build the model first"):
        Trainer(supervised_task(model, keras.losses.mean_squared_error, keras.optimizers.SGD()))


def test_repeated_dataset_needs_steps_per_epoch_or_steps():
    trainer = Trainer(make_task(), TrainConfig(progress="none"))
    with pytest.raises(ValueError, match=r"repeats forever.*steps_per_epoch"):
        trainer.fit(make_dataset().repeat())
    config = TrainConfig(steps_per_epoch=5, epochs=2, progress="none")
    history = Trainer(make_task(), config).fit(make_dataset().repeat())
    assert history.steps() == [5, 10]
    history = Trainer(make_task(), TrainConfig(steps=7, progress="none")).fit(
        make_dataset().repeat()
    )
    assert history.steps() == [7] and history.records[0].epoch is None


def test_xla_compiled_steps_match_plain_steps():
    plain, compiled = make_task(), make_task()
    Trainer(plain, TrainConfig(epochs=2, progress="none")).fit(make_dataset())
    Trainer(compiled, TrainConfig(epochs=2, jit_compile=True, progress="none")).fit(make_dataset())
    for a, b in zip(weights(plain), weights(compiled), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def _run_in_fresh_process(code: str) -> str:
    """Logical devices and precision policies are process-wide: test them in a new process."""
    env = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONPATH": str(ROOT),
        "COURSE_PROFILE": "ci",
    }
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_mixed_float16_policy_wraps_the_optimizer_in_loss_scaling():
    out = _run_in_fresh_process("""
        import keras, numpy as np
        keras.mixed_precision.set_global_policy("mixed_float16")
        from tests.test_training import make_task, make_dataset, TrainConfig, Trainer
        task = make_task()
        trainer = Trainer(task, TrainConfig(epochs=4, progress="none"))
        history = trainer.fit(make_dataset())
        losses = history.series("loss")
        print(type(trainer.optimizers[0]).__name__, losses[0], losses[-1])
    """)
    name, first, last = out.split()[-3:]
    assert name == "LossScaleOptimizer"
    assert float(last) < 0.2 * float(first)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def test_multi_worker_strategy_on_two_local_workers_matches_one_device(tmp_path):
    """TF_CONFIG naming two workers on loopback: the MultiWorkerMirroredStrategy path of the loop.

    With a global_clipnorm that binds, the weights equal one device's only if the gradient is
    summed over both workers' replicas before it is clipped, once.
    """
    reference = make_task(global_clipnorm=0.5)
    Trainer(reference, TrainConfig(epochs=2, progress="none")).fit(make_dataset(batch=50, n=510))
    ports = [_free_port(), _free_port()]
    code = textwrap.dedent("""
        import json, sys, numpy as np, tensorflow as tf, keras
        from course_lib.runtime import devices
        from tests.test_training import make_dataset, make_task, weights, TrainConfig, Trainer
        hw = devices.describe_hardware()
        assert devices.choose_strategy_kind(hw) == "multi_worker", hw
        strategy = devices.make_strategy("multi_worker", hw)
        with strategy.scope():
            task = make_task(global_clipnorm=0.5)
        config = TrainConfig(epochs=2, checkpoint_dir=sys.argv[1], progress="none")
        Trainer(task, config, strategy).fit(make_dataset(batch=50, n=510))
        np.savez(sys.argv[2], *weights(task))
        print("replicas", strategy.num_replicas_in_sync)
    """)
    env = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONPATH": str(ROOT),
        "COURSE_PROFILE": "ci",
    }
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    procs = []
    for index in range(2):
        env_i = {
            **env,
            "TF_CONFIG": json.dumps(
                {"cluster": cluster, "task": {"type": "worker", "index": index}}
            ),
        }
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    code,
                    str(tmp_path / "ckpt"),
                    str(tmp_path / f"w{index}.npz"),
                ],
                cwd=ROOT,
                env=env_i,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err[-3000:]
        assert "replicas 2" in out
    for index in range(2):
        with np.load(tmp_path / f"w{index}.npz") as f:
            got = [f[f"arr_{i}"] for i in range(len(f.files))]
        for a, b in zip(weights(reference), got, strict=True):
            np.testing.assert_allclose(a, b, atol=1e-5)
    # the chief wrote the real checkpoint, the other worker a throw-away copy
    assert (tmp_path / "ckpt" / "checkpoint").exists()
    assert (tmp_path / "ckpt" / "worker-1-tmp").exists()


def test_batch_size_reads_the_first_leaf_of_a_nested_batch():
    from course_lib.training import batch_size

    batch = {"x": tf.zeros([7, 3]), "y": tf.zeros([7])}
    assert int(batch_size(batch)) == 7 and int(batch_size((tf.zeros([2, 5]), tf.zeros([2])))) == 2


def test_sum_and_count_of_vectors_scalars_and_pairs():
    from course_lib.training.replicas import sum_and_count

    n = tf.constant(3)
    total, count = sum_and_count("v", tf.constant([1.0, 2.0, 4.0]), n)
    assert (float(total), float(count)) == (7.0, 3.0)
    total, count = sum_and_count("mean", tf.constant(2.5), n)
    assert (float(total), float(count)) == (7.5, 3.0)
    total, count = sum_and_count("tokens", (tf.constant(10.0), tf.constant(40)), n)
    assert (float(total), float(count)) == (10.0, 40.0)
    with pytest.raises(ValueError, match="per example"):
        sum_and_count("m", tf.zeros([3, 2]), n)
    with pytest.raises(ValueError, match="two scalars"):
        sum_and_count("p", (tf.zeros([3]), tf.constant(3.0)), n)


def test_replica_slice_is_the_whole_batch_with_one_replica():
    from course_lib.training import replica_slice

    batch = (tf.range(5), tf.range(5) * 2)
    sliced = replica_slice(batch)
    assert [t.numpy().tolist() for t in sliced] == [[0, 1, 2, 3, 4], [0, 2, 4, 6, 8]]
