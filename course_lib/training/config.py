"""How to train: the loop's settings, as data (:class:`TrainConfig`, :class:`EarlyStopping`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class EarlyStopping:
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    ``monitor`` names a training value (``"loss"``) or, with the prefix ``val_``, a
    validation value (``"val_loss"``). ``restore_best_weights`` puts the weights of the
    best epoch back when the run stops early.
    """

    monitor: str = "val_loss"
    mode: str = "min"
    patience: int = 3
    min_delta: float = 0.0
    restore_best_weights: bool = True

    def __post_init__(self) -> None:
        if self.mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping.mode must be 'min' or 'max', got {self.mode!r}")
        if self.patience < 0:
            raise ValueError("EarlyStopping.patience must be >= 0")


@dataclass(frozen=True)
class TrainConfig:
    """How to train (sizes come from the run profile; this is the same in every profile).

    Attributes:
        epochs: total number of epochs (a resumed run continues up to it).
        steps_per_epoch: steps in one epoch; default: batches in one pass over the data.
        max_steps: stop at this global step even within an epoch (``None``: no limit).
        steps_per_execution: steps run inside one compiled call (progress, NaN checks
            and step checkpoints happen between calls).
        jit_compile: compile each replica's gradient computation with XLA.
        checkpoint_dir: where checkpoints go; ``None`` disables them.
        checkpoint_every_epochs / checkpoint_every_steps: when to save (either or both).
        keep_checkpoints: how many recent checkpoints to keep.
        resume: restore the newest checkpoint in ``checkpoint_dir`` before training.
        early_stopping: an :class:`EarlyStopping`, or ``None``.
        progress: ``"bar"``, ``"epoch"`` (a line per epoch) or ``"none"``; ``None``:
            a bar in the ``student`` and ``full`` profiles, nothing in ``ci``.
    """

    epochs: int = 1
    steps_per_epoch: int | None = None
    max_steps: int | None = None
    steps_per_execution: int = 10
    jit_compile: bool = False
    checkpoint_dir: str | Path | None = None
    checkpoint_every_epochs: int | None = 1
    checkpoint_every_steps: int | None = None
    keep_checkpoints: int = 2
    resume: bool = True
    early_stopping: EarlyStopping | None = None
    progress: str | None = None

    def __post_init__(self) -> None:
        for name in ("epochs", "steps_per_execution", "keep_checkpoints"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"TrainConfig.{name} must be >= 1, got {getattr(self, name)}")
        for name in (
            "steps_per_epoch",
            "max_steps",
            "checkpoint_every_epochs",
            "checkpoint_every_steps",
        ):
            value = getattr(self, name)
            if value is not None and int(value) < 1:
                raise ValueError(f"TrainConfig.{name} must be >= 1 or None, got {value}")
        if self.progress not in (None, "bar", "epoch", "none"):
            raise ValueError(
                f"TrainConfig.progress must be 'bar', 'epoch', 'none' or None, got {self.progress!r}"
            )
