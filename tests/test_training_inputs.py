"""Bad input to the training API gets a clear error, naming the argument and the fix."""

from __future__ import annotations

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
from tests.test_training import make_dataset, make_task, regression_data

CONFIG_CASES = [
    ({"epochs": 2.5}, TypeError, "epochs must be an integer"),
    ({"epochs": 0}, ValueError, "epochs must be an integer >= 1"),
    ({"steps": True}, TypeError, "steps must be an integer, got the bool"),
    ({"steps": "100"}, TypeError, "steps must be an integer"),
    ({"steps": 10, "epochs": 2}, ValueError, "both steps=10 and epochs=2"),
    ({"steps": 10, "steps_per_epoch": 5}, ValueError, "steps_per_epoch only applies"),
    ({"eval_every": 0}, ValueError, "eval_every must be an integer >= 1"),
    ({"steps_per_execution": 0}, ValueError, "steps_per_execution must be an integer >= 1"),
    ({"keep_checkpoints": 0}, ValueError, "keep_checkpoints must be an integer >= 1"),
    ({"checkpoint_every": 5}, ValueError, "checkpoint_every=5 needs a checkpoint_dir"),
    ({"checkpoint_dir": 3}, TypeError, "checkpoint_dir must be a str"),
    ({"jit_compile": "yes"}, TypeError, "jit_compile must be True or False"),
    ({"resume": 1}, TypeError, "resume must be True or False"),
    ({"progress": "loud"}, ValueError, "progress must be one of"),
    ({"early_stopping": "val_loss"}, TypeError, "early_stopping must be an EarlyStopping"),
]


@pytest.mark.parametrize(("kwargs", "error", "message"), CONFIG_CASES)
def test_bad_train_config_values_are_rejected(kwargs, error, message):
    with pytest.raises(error, match=message):
        TrainConfig(**kwargs)


EARLY_STOPPING_CASES = [
    ({"mode": "lowest"}, ValueError, "EarlyStopping.mode must be one of"),
    ({"patience": -1}, ValueError, "patience must be an integer >= 0"),
    ({"patience": 1.5}, TypeError, "patience must be an integer"),
    ({"min_delta": -0.1}, ValueError, "min_delta must be >= 0"),
    ({"monitor": ""}, ValueError, "monitor must name a value"),
    ({"restore_best_weights": "no"}, TypeError, "restore_best_weights must be True or False"),
]


@pytest.mark.parametrize(("kwargs", "error", "message"), EARLY_STOPPING_CASES)
def test_bad_early_stopping_values_are_rejected(kwargs, error, message):
    with pytest.raises(error, match=message):
        EarlyStopping(**kwargs)


@pytest.fixture(scope="module")
def trainer() -> Trainer:
    return Trainer(make_task(), TrainConfig(progress="none"))


def test_fit_on_numpy_arrays_says_how_to_make_a_dataset(trainer):
    x, y = regression_data()
    with pytest.raises(TypeError, match=r"train must be a tf.data.Dataset.*make_dataset"):
        trainer.fit(x)
    with pytest.raises(TypeError, match=r"from_tensor_slices"):
        trainer.fit((x, y))


def test_fit_on_numpy_validation_data_says_how_to_make_a_dataset(trainer):
    with pytest.raises(TypeError, match=r"val must be a tf.data.Dataset.*make_dataset"):
        trainer.fit(make_dataset(), regression_data()[0])


def test_empty_training_data_is_reported_as_empty():
    x = np.zeros((0, 3), "float32")
    empty = tf.data.Dataset.from_tensor_slices((x, x[:, :1])).batch(8)
    with pytest.raises(ValueError, match="train is empty"):
        Trainer(make_task(), TrainConfig(progress="none")).fit(empty)


def test_filtered_empty_data_names_the_step_it_ran_out_at():
    nothing = make_dataset().filter(lambda x, y: tf.reduce_all(x > 100.0))
    config = TrainConfig(epochs=1, steps_per_epoch=5, progress="none")
    with pytest.raises(ValueError, match=r"ran out at step 1.*empty"):
        Trainer(make_task(), config).fit(nothing)
    with pytest.raises(ValueError, match=r"ran out at step 1"):
        Trainer(make_task(), TrainConfig(steps=3, progress="none")).fit(nothing)


def test_filtered_data_without_steps_per_epoch_says_what_to_set():
    some = make_dataset().filter(lambda x, y: True)
    with pytest.raises(ValueError, match=r"no known length.*steps_per_epoch.*steps="):
        Trainer(make_task(), TrainConfig(progress="none")).fit(some)


def test_fit_with_steps_and_epochs_is_rejected(trainer):
    with pytest.raises(ValueError, match=r"both steps=3 and epochs=1"):
        trainer.fit(make_dataset(), steps=3, epochs=1)


def test_fit_with_a_non_integer_length_is_rejected(trainer):
    with pytest.raises(TypeError, match="epochs must be an integer"):
        trainer.fit(make_dataset(), epochs=1.5)
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        trainer.fit(make_dataset(), steps=0)


def test_bad_callbacks_are_rejected(trainer):
    with pytest.raises(TypeError, match="callbacks must be a list"):
        trainer.fit(make_dataset(), callbacks=lambda t, r: None)
    with pytest.raises(TypeError, match="every callback must be callable"):
        trainer.fit(make_dataset(), callbacks=["print"])


def test_empty_or_endless_validation_data_is_rejected(trainer):
    x = np.zeros((0, 3), "float32")
    empty = tf.data.Dataset.from_tensor_slices((x, x[:, :1])).batch(8)
    with pytest.raises(ValueError, match="val is empty"):
        trainer.fit(make_dataset(), empty)
    with pytest.raises(ValueError, match="val repeats forever"):
        trainer.fit(make_dataset(), make_dataset().repeat())
    with pytest.raises(ValueError, match="repeats forever"):
        trainer.evaluate(make_dataset().repeat())
    with pytest.raises(TypeError, match=r"data must be a tf\.data\.Dataset"):
        trainer.evaluate(regression_data())
    nothing = make_dataset().filter(lambda x, y: False)
    with pytest.raises(ValueError, match="validation data is empty"):
        trainer.evaluate(nothing)


def test_monitoring_a_validation_value_without_validation_data_fails_before_training():
    config = TrainConfig(epochs=3, early_stopping=EarlyStopping("val_loss"), progress="none")
    trainer = Trainer(make_task(), config)
    with pytest.raises(ValueError, match="no validation data"):
        trainer.fit(make_dataset())
    assert int(trainer.step.numpy()) == 0


def test_a_second_dataset_for_the_same_trainer_is_rejected():
    trainer = Trainer(make_task(), TrainConfig(steps=2, progress="none"))
    trainer.fit(make_dataset())
    with pytest.raises(ValueError, match="bound to the dataset of its first fit"):
        trainer.fit(make_dataset(), steps=4)


def test_bad_trainer_arguments_are_rejected():
    task = make_task()
    with pytest.raises(TypeError, match=r"task must be a course_lib\.training\.Task"):
        Trainer(task.models["model"])
    with pytest.raises(TypeError, match="config must be a TrainConfig"):
        Trainer(task, {"epochs": 2})
    with pytest.raises(TypeError, match=r"strategy must be a tf\.distribute\.Strategy"):
        Trainer(task, TrainConfig(), "mirrored")


def test_bad_task_and_objective_arguments_are_rejected():
    task = make_task()
    model = task.models["model"]
    with pytest.raises(TypeError, match=r"optimizer must be a keras\.optimizers\.Optimizer"):
        Objective("loss", task.objectives[0].loss_fn, model, "adam")
    with pytest.raises(TypeError, match="loss_fn must be callable"):
        Objective("loss", "mse", model, keras.optimizers.SGD())
    with pytest.raises(TypeError, match="must hold Objective objects"):
        Task([task.objectives[0].loss_fn], {"model": model})
    with pytest.raises(TypeError, match=r"models\['model'\] must be a Keras model"):
        Task(list(task.objectives), {"model": "mlp"})
    with pytest.raises(ValueError, match="at least one Objective"):
        Task([], {"model": model})


def test_a_model_built_outside_the_strategy_scope_is_rejected():
    task = make_task()
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with pytest.raises(ValueError, match=r"strategy\.scope"):
        Trainer(task, TrainConfig(), strategy)


def test_supervised_task_rejects_a_loss_that_averages_over_the_batch():
    task = make_task()
    model = task.models["model"]
    averaged = supervised_task(model, keras.losses.MeanSquaredError(), keras.optimizers.SGD())
    with pytest.raises(ValueError, match="one value per example"):
        Trainer(averaged, TrainConfig(progress="none")).fit(make_dataset())
