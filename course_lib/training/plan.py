"""How long one ``fit`` runs, and the data it runs on, checked before the first step.

A run is counted in optimizer steps. ``TrainConfig(steps=...)`` gives them directly;
``TrainConfig(epochs=...)`` gives passes over the data, which :func:`plan_run` turns into steps
with the number of batches in one pass. A :class:`RunPlan` then says where the records fall:
every ``eval_every`` steps and at the last step, so no leftover step is dropped
(``steps=1005, eval_every=250``: records at 250, 500, 750, 1000 and 1005).

:func:`check_dataset` and :func:`check_validation_data` refuse, with a message that says what to
do, what the loop cannot train on: arrays instead of a ``tf.data.Dataset``, empty data,
validation data that repeats forever.
"""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

from course_lib.runtime.validation import check_int
from course_lib.training.config import TrainConfig

_WRAP_HINT = (
    "wrap arrays with course_lib.data.make_dataset(...) or "
    "tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)"
)


@dataclass(frozen=True)
class RunPlan:
    """The length of one ``fit`` call, in steps.

    Attributes:
        total_steps: the step at which the run is complete.
        steps_per_epoch: steps in one pass over the data (``None`` if unknown).
        eval_every: steps between records (records at multiples of it, and at the end).
        checkpoint_every: steps between checkpoints (``None``: at every record).
    """

    total_steps: int
    steps_per_epoch: int | None
    eval_every: int
    checkpoint_every: int | None

    def record_end(self, step: int) -> int:
        """The step of the next record after ``step``."""
        following = (step // self.eval_every + 1) * self.eval_every
        return min(following, self.total_steps)

    def epoch(self, step: int) -> float | None:
        """Passes over the data after ``step`` steps."""
        if self.steps_per_epoch is None:
            return None
        return step / self.steps_per_epoch


def check_dataset(name: str, data: object) -> tf.data.Dataset:
    """``data`` if it is a ``tf.data.Dataset``; else a ``TypeError`` saying how to make one."""
    if not isinstance(data, tf.data.Dataset):
        raise TypeError(
            f"{name} must be a tf.data.Dataset of batches, got {type(data).__name__}: {_WRAP_HINT}"
        )
    return data


def check_validation_data(val: object) -> tf.data.Dataset:
    """``val`` if it is one finite, non-empty pass of validation data; else a clear error."""
    check_dataset("val", val)
    cardinality = int(val.cardinality().numpy())
    if cardinality == 0:
        raise ValueError("val is empty: the validation dataset yields no batch")
    if cardinality == tf.data.INFINITE_CARDINALITY:
        raise ValueError("val repeats forever: pass one pass of the validation data (no .repeat())")
    return val


def plan_run(
    config: TrainConfig, train: tf.data.Dataset, steps: int | None, epochs: int | None
) -> RunPlan:
    """The :class:`RunPlan` of one ``fit``: its total steps, epoch length and record interval.

    ``steps`` / ``epochs`` (from ``fit``) override ``config.steps`` / ``config.epochs``; with
    none of them the run is one epoch. Counting epochs needs the number of batches in one pass:
    ``config.steps_per_epoch``, else the dataset's cardinality.

    Raises:
        ValueError: both ``steps`` and ``epochs``; empty training data; epochs of data whose
            length is unknown (filtered, or repeating forever).
        TypeError: ``steps`` / ``epochs`` that are not integers.
    """
    cfg = config
    if steps is not None and epochs is not None:
        raise ValueError(
            f"fit() got both steps={steps} and epochs={epochs}: give one (steps counts "
            "optimizer updates, epochs counts passes over the data)"
        )
    if steps is not None:
        steps = check_int("steps", steps, minimum=1)
    elif epochs is not None:
        epochs = check_int("epochs", epochs, minimum=1)
    else:
        steps = cfg.steps
        epochs = cfg.epochs
        if steps is None and epochs is None:
            epochs = 1
    cardinality = int(train.cardinality().numpy())
    if cardinality == 0:
        raise ValueError(
            "train is empty: the training dataset yields no batch (cardinality 0). Check "
            "the arrays it was made from, and that batch(..., drop_remainder=True) is not "
            "dropping the only, incomplete batch."
        )
    steps_per_epoch = cfg.steps_per_epoch or (cardinality if cardinality > 0 else None)
    if epochs is not None:
        if steps_per_epoch is None:
            why = (
                "repeats forever"
                if cardinality == tf.data.INFINITE_CARDINALITY
                else "has no known length (it is filtered, or read from a generator or files)"
            )
            raise ValueError(
                f"Counting epochs needs the number of batches in one pass, but the training "
                f"data {why}: set TrainConfig.steps_per_epoch, or give steps= instead of "
                "epochs="
            )
        total = epochs * steps_per_epoch
        eval_every = cfg.eval_every or steps_per_epoch
    else:
        total = steps
        eval_every = cfg.eval_every or steps
    return RunPlan(total, steps_per_epoch, eval_every, cfg.checkpoint_every)
