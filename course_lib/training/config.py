"""How to train: the loop's settings, as data (:class:`TrainConfig`).

A run is counted in optimizer *steps*. It is given either as a number of steps
(``steps=1005``) or as a number of passes over the data (``epochs=3``: ``3 * S`` steps, with
``S`` the batches in one pass, or ``steps_per_epoch``). Every ``eval_every`` steps the loop
writes a *record* (training means since the previous record, then validation), and it always
writes one at the last step, so no step is dropped: ``steps=1005, eval_every=250`` records at
steps 250, 500, 750, 1000 and 1005.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from course_lib.runtime.validation import check_bool, check_choice, check_int
from course_lib.training.early_stopping import EarlyStopping

PROGRESS_CHOICES = ("bar", "records", "none")


def _check_optional_int(name: str, value: object, minimum: int) -> int | None:
    if value is None:
        return None
    return check_int(name, value, minimum=minimum)


@dataclass(frozen=True)
class TrainConfig:
    """How to train (sizes come from the run profile; this is the same in every profile).

    Attributes:
        steps: total optimizer steps of the run; a resumed run continues up to it.
        epochs: OR total passes over the training data. Give at most one of ``steps`` and
            ``epochs``; with neither, the run is one epoch. ``fit(steps=..., epochs=...)``
            overrides both for one call.
        steps_per_epoch: steps in one epoch, only with ``epochs`` (or neither); needed when
            the data has no known length (it repeats, is filtered or comes from a
            generator). Default: the number of batches in one pass.
        eval_every: steps between two records. Default: one epoch when counting epochs,
            else ``steps`` (one record at the end). The last step always ends a record.
        steps_per_execution: steps run inside one compiled call (progress, NaN checks and
            checkpoints happen between calls).
        jit_compile: compile each replica's gradient computation with XLA.
        checkpoint_dir: where checkpoints go; ``None`` disables them.
        checkpoint_every: steps between two checkpoints (only with ``checkpoint_dir``);
            default: at every record. The run's last step is always saved.
        keep_checkpoints: how many recent checkpoints to keep (>= 1).
        resume: restore the newest checkpoint in ``checkpoint_dir`` before training.
        early_stopping: an :class:`~course_lib.training.early_stopping.EarlyStopping`, or
            ``None``; its patience counts records.
        progress: ``"bar"`` (one bar over the whole run, from the resumed step to the last,
            with the time left, and a line per record above it), ``"records"`` (a line per
            record) or ``"none"`` (no output); ``None``: a bar in the ``student`` and
            ``full`` profiles, nothing in ``ci`` or with ``COURSE_PROGRESS=0``
            (:func:`course_lib.runtime.progress.progress_enabled`).
    """

    steps: int | None = None
    epochs: int | None = None
    steps_per_epoch: int | None = None
    eval_every: int | None = None
    steps_per_execution: int = 10
    jit_compile: bool = False
    checkpoint_dir: str | Path | None = None
    checkpoint_every: int | None = None
    keep_checkpoints: int = 2
    resume: bool = True
    early_stopping: EarlyStopping | None = None
    progress: str | None = None

    def __post_init__(self) -> None:
        _check_optional_int("TrainConfig.steps", self.steps, minimum=1)
        _check_optional_int("TrainConfig.epochs", self.epochs, minimum=1)
        _check_optional_int("TrainConfig.steps_per_epoch", self.steps_per_epoch, minimum=1)
        _check_optional_int("TrainConfig.eval_every", self.eval_every, minimum=1)
        _check_optional_int("TrainConfig.checkpoint_every", self.checkpoint_every, minimum=1)
        check_int("TrainConfig.steps_per_execution", self.steps_per_execution, minimum=1)
        check_int("TrainConfig.keep_checkpoints", self.keep_checkpoints, minimum=1)
        check_bool("TrainConfig.jit_compile", self.jit_compile)
        check_bool("TrainConfig.resume", self.resume)
        if self.steps is not None and self.epochs is not None:
            raise ValueError(
                f"TrainConfig got both steps={self.steps} and epochs={self.epochs}: give one "
                "(steps counts optimizer updates, epochs counts passes over the data)"
            )
        if self.steps is not None and self.steps_per_epoch is not None:
            raise ValueError(
                "TrainConfig.steps_per_epoch only applies when counting epochs; with "
                f"steps={self.steps} set eval_every to choose how often the loop records"
            )
        if self.checkpoint_dir is not None and not isinstance(self.checkpoint_dir, (str, Path)):
            raise TypeError(
                "TrainConfig.checkpoint_dir must be a str, a pathlib.Path or None, got "
                f"{type(self.checkpoint_dir).__name__}"
            )
        if self.checkpoint_every is not None and self.checkpoint_dir is None:
            raise ValueError(
                f"TrainConfig.checkpoint_every={self.checkpoint_every} needs a checkpoint_dir"
            )
        if self.early_stopping is not None and not isinstance(self.early_stopping, EarlyStopping):
            raise TypeError(
                "TrainConfig.early_stopping must be an EarlyStopping or None, got "
                f"{type(self.early_stopping).__name__}"
            )
        if self.progress is not None:
            check_choice("TrainConfig.progress", self.progress, PROGRESS_CHOICES)
