"""Tests of course_lib.training: the loop every model of the course trains through."""

from __future__ import annotations

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


def make_task(learning_rate: float = 0.05, seed: int = 0) -> Task:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)]
    )
    return supervised_task(
        model, keras.losses.mean_squared_error, keras.optimizers.Adam(learning_rate)
    )


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
    assert all(r.examples_per_sec > 0 for r in history.epochs)


def test_history_counts_every_example_once_per_epoch():
    task = make_task()
    trainer = Trainer(task, TrainConfig(epochs=2, steps_per_execution=3, progress="none"))
    history = trainer.fit(make_dataset(batch=50, n=510))  # 11 batches, the last one of 10
    assert [r.step for r in history.epochs] == [11, 22]
    assert history.points[-1][0] == 22


def test_mean_loss_equals_an_independent_computation():
    """The loop's epoch loss with zero learning rate equals numpy's MSE of the fixed model."""
    task = make_task(learning_rate=0.0)
    before = task.models["model"](regression_data()[0]).numpy()
    history = Trainer(task, TrainConfig(epochs=1, progress="none")).fit(make_dataset(batch=48))
    expected = float(np.mean((before - regression_data()[1]) ** 2))
    assert history.series("loss")[0] == pytest.approx(expected, rel=1e-5)


def test_interrupted_run_resumes_to_the_same_weights(tmp_path):
    reference = make_task()
    Trainer(reference, TrainConfig(epochs=3, progress="none")).fit(make_dataset())

    def interrupt_after_first_epoch(trainer, record):
        if record.epoch == 1:
            raise KeyboardInterrupt

    config = TrainConfig(epochs=3, checkpoint_dir=tmp_path, progress="none")
    first = Trainer(make_task(seed=0), config)
    history = first.fit(make_dataset(), callbacks=[interrupt_after_first_epoch])
    assert history.stop_reason == "interrupted" and len(history.epochs) == 1

    resumed_task = make_task(seed=123)  # different initial weights: the checkpoint must win
    resumed = Trainer(resumed_task, config)
    keras.utils.set_random_seed(0)  # a resumed script seeds as the original did (data order)
    history = resumed.fit(make_dataset())
    assert int(resumed.step.numpy()) == 48 and [r.epoch for r in history.epochs] == [1, 2, 3]
    for a, b in zip(weights(reference), weights(resumed_task)):
        np.testing.assert_array_equal(a, b)


def test_mid_epoch_checkpoint_resumes_data_position_and_epoch_means(tmp_path):
    reference = make_task()
    ref_history = Trainer(reference, TrainConfig(epochs=2, progress="none")).fit(make_dataset())

    config = TrainConfig(
        epochs=2,
        checkpoint_dir=tmp_path,
        checkpoint_every_steps=5,
        checkpoint_every_epochs=None,
        max_steps=25,
        progress="none",
    )
    first = Trainer(make_task(), config)
    assert first.fit(make_dataset()).stop_reason == "max_steps"
    assert int(first.step.numpy()) == 25
    config = TrainConfig(
        epochs=2,
        checkpoint_dir=tmp_path,
        checkpoint_every_steps=5,
        checkpoint_every_epochs=None,
        progress="none",
    )
    task = make_task(seed=7)
    trainer = Trainer(task, config)
    keras.utils.set_random_seed(0)
    history = trainer.fit(make_dataset())
    for a, b in zip(weights(reference), weights(task)):
        np.testing.assert_allclose(a, b, rtol=0, atol=0)
    assert history.series("loss") == pytest.approx(ref_history.series("loss"), rel=1e-6)


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
        poison = tf.where(
            tf.equal(step, 7), np.float32(np.nan), np.float32(0.0)
        )  # no NaN in the gradient before
        return loss + poison, metrics

    task = Task(
        [Objective("loss", poisoned, model, task.objectives[0].optimizer)], {"model": model}
    )
    trainer = Trainer(task, TrainConfig(epochs=3, steps_per_execution=4, progress="none"))
    trainer_ref["t"] = trainer
    snapshots = {}

    # Record the weights after step 6 with a reference run of the same seed and data.
    ref = make_task()
    Trainer(ref, TrainConfig(epochs=1, max_steps=6, progress="none")).fit(make_dataset())
    snapshots["after6"] = weights(ref)

    history = trainer.fit(make_dataset())
    assert history.stop_reason == "non-finite"
    assert "step 7" in history.message and "'loss'" in history.message
    assert "step 7" in capsys.readouterr().out
    assert int(trainer.step.numpy()) == 6
    for a, b in zip(snapshots["after6"], weights(task)):
        np.testing.assert_array_equal(a, b)
    assert all(np.isfinite(w).all() for w in weights(task))


def test_early_stopping_stops_and_restores_the_best_epoch():
    task = make_task(learning_rate=0.5)  # far too large: the validation loss soon stops improving
    rule = EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
    trainer = Trainer(task, TrainConfig(epochs=40, early_stopping=rule, progress="none"))
    history = trainer.fit(make_dataset(), make_dataset())
    assert history.stop_reason == "early_stopping"
    assert len(history.epochs) < 40
    best = history.best
    assert history.series("loss", "val")[best["epoch"] - 1] == pytest.approx(best["value"])
    assert trainer.evaluate(make_dataset())["loss"] == pytest.approx(best["value"], rel=1e-4)


def test_early_stopping_on_an_unknown_value_is_a_clear_error():
    trainer = Trainer(
        make_task(), TrainConfig(epochs=2, early_stopping=EarlyStopping("val_acc"), progress="none")
    )
    with pytest.raises(KeyError, match="val_acc"):
        trainer.fit(make_dataset(), make_dataset())


def test_two_objectives_train_in_turn_like_a_gan():
    """Two players, two optimizers, no special case: each minimises its own loss."""
    keras.utils.set_random_seed(0)
    a = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    b = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])

    def loss_a(x, training):  # pulls a's weight to 3
        return tf.reduce_sum(tf.square(a(x) - 3.0 * x), axis=1)

    def loss_b(x, training):  # pulls b's weight to twice a's (reads a's fresh value)
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
    assert set(history.epochs[-1].train) == {"a_loss", "b_loss"}
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


def test_repeated_dataset_needs_steps_per_epoch():
    trainer = Trainer(make_task(), TrainConfig(progress="none"))
    with pytest.raises(ValueError, match="steps_per_epoch"):
        trainer.fit(make_dataset().repeat())
    history = Trainer(make_task(), TrainConfig(steps_per_epoch=5, epochs=2, progress="none")).fit(
        make_dataset().repeat()
    )
    assert [r.step for r in history.epochs] == [5, 10]


def test_invalid_config_values_are_rejected():
    with pytest.raises(ValueError, match="epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="progress"):
        TrainConfig(progress="loud")
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="lowest")


def test_xla_compiled_steps_match_plain_steps():
    plain, compiled = make_task(), make_task()
    Trainer(plain, TrainConfig(epochs=2, progress="none")).fit(make_dataset())
    Trainer(compiled, TrainConfig(epochs=2, jit_compile=True, progress="none")).fit(make_dataset())
    for a, b in zip(weights(plain), weights(compiled)):
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


def test_mirrored_strategy_over_two_logical_cpus_matches_one_device():
    out = _run_in_fresh_process("""
        import numpy as np, tensorflow as tf, keras
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from tests.test_training import make_dataset, weights, TrainConfig, Trainer, supervised_task
        def run(strategy):
            keras.utils.set_random_seed(0)
            with strategy.scope():
                model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8, activation="tanh"),
                                          keras.layers.Dense(1)])
                task = supervised_task(model, keras.losses.mean_squared_error, keras.optimizers.Adam(0.05))
            history = Trainer(task, TrainConfig(epochs=3, progress="none"), strategy).fit(
                make_dataset(batch=50, n=510), make_dataset(batch=50, n=510))
            return weights(task), history
        w1, h1 = run(tf.distribute.get_strategy())
        mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        w2, h2 = run(mirrored)
        print("replicas", mirrored.num_replicas_in_sync)
        print("maxdiff", max(float(np.max(np.abs(a - b))) for a, b in zip(w1, w2)))
        print("lossdiff", max(abs(a - b) for a, b in zip(h1.series("loss", "val"), h2.series("loss", "val"))))
    """)
    values = dict(
        line.split()
        for line in out.strip().splitlines()
        if line.split()[0] in ("replicas", "maxdiff", "lossdiff")
    )
    assert values["replicas"] == "2"
    assert float(values["maxdiff"]) < 1e-5
    assert float(values["lossdiff"]) < 1e-5


def test_mixed_float16_policy_wraps_the_optimizer_in_loss_scaling():
    out = _run_in_fresh_process("""
        import keras, numpy as np
        keras.mixed_precision.set_global_policy("mixed_float16")
        from tests.test_training import make_task, make_dataset, TrainConfig, Trainer
        task = make_task()
        trainer = Trainer(task, TrainConfig(epochs=4, progress="none"))
        history = trainer.fit(make_dataset())
        print(type(trainer.optimizers[0]).__name__, history.series("loss")[0], history.series("loss")[-1])
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
    """TF_CONFIG naming two workers on loopback: the MultiWorkerMirroredStrategy path of the loop."""
    reference = make_task()
    Trainer(reference, TrainConfig(epochs=2, progress="none")).fit(make_dataset(batch=50, n=510))
    ports = [_free_port(), _free_port()]
    code = textwrap.dedent("""
        import json, sys, numpy as np, tensorflow as tf, keras
        from course_lib.runtime import devices
        from tests.test_training import make_dataset, weights, TrainConfig, Trainer, supervised_task
        hw = devices.describe_hardware()
        assert devices.choose_strategy_kind(hw) == "multi_worker", hw
        strategy = devices.make_strategy("multi_worker", hw)
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8, activation="tanh"),
                                      keras.layers.Dense(1)])
            task = supervised_task(model, keras.losses.mean_squared_error, keras.optimizers.Adam(0.05))
        Trainer(task, TrainConfig(epochs=2, checkpoint_dir=sys.argv[1], progress="none"), strategy).fit(
            make_dataset(batch=50, n=510))
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
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-3000:]
        assert "replicas 2" in out
    for index in range(2):
        with np.load(tmp_path / f"w{index}.npz") as f:
            got = [f[f"arr_{i}"] for i in range(len(f.files))]
        for a, b in zip(weights(reference), got):
            np.testing.assert_allclose(a, b, atol=1e-5)
    assert (tmp_path / "ckpt" / "checkpoint").exists()  # the chief wrote the real checkpoint
    assert (tmp_path / "ckpt" / "worker-1-tmp").exists()  # the other worker a throw-away copy


def test_supervised_task_rejects_a_loss_that_averages_over_the_batch():
    task = make_task()
    model = task.models["model"]
    averaged = supervised_task(model, keras.losses.MeanSquaredError(), keras.optimizers.SGD())
    with pytest.raises(ValueError, match="one value per example"):
        Trainer(averaged, TrainConfig(progress="none")).fit(make_dataset())


def test_batch_size_reads_the_first_leaf_of_a_nested_batch():
    from course_lib.training import batch_size

    batch = {"x": tf.zeros([7, 3]), "y": tf.zeros([7])}
    assert int(batch_size(batch)) == 7 and int(batch_size((tf.zeros([2, 5]), tf.zeros([2])))) == 2


def test_sums_over_examples_sums_vectors_and_scales_scalar_means():
    from course_lib.training.replicas import sums_over_examples

    out = sums_over_examples(
        {"per_example": tf.constant([1.0, 2.0, 4.0]), "mean": tf.constant(2.5)}, tf.constant(3)
    )
    assert float(out["per_example"]) == 7.0 and float(out["mean"]) == 7.5


def test_replica_slice_is_the_whole_batch_with_one_replica():
    from course_lib.training import replica_slice

    batch = (tf.range(5), tf.range(5) * 2)
    sliced = replica_slice(batch)
    assert [t.numpy().tolist() for t in sliced] == [[0, 1, 2, 3, 4], [0, 2, 4, 6, 8]]


def test_resume_from_an_older_checkpoint_truncates_the_history_and_continues(tmp_path):
    config = TrainConfig(
        epochs=2,
        checkpoint_dir=tmp_path,
        checkpoint_every_steps=8,
        checkpoint_every_epochs=None,
        max_steps=20,
        progress="none",
    )
    Trainer(make_task(), config).fit(make_dataset())  # 16 steps per epoch: a save at step 16
    (tmp_path / "ckpt-20.index").unlink()  # pretend the run died before its step-20 save
    for f in tmp_path.glob("ckpt-20.data*"):
        f.unlink()
    (tmp_path / "checkpoint").write_text(
        'model_checkpoint_path: "ckpt-16"\nall_model_checkpoint_paths: "ckpt-16"\n'
    )
    trainer = Trainer(make_task(seed=5), config)
    history = trainer.fit(make_dataset())
    assert int(trainer.step.numpy()) == 20 and [r.epoch for r in history.epochs] == [1]
