"""Checkpoints, resume and early-stopping state of one training run.

A checkpoint holds everything needed to continue exactly where a run stopped: the model
weights, each optimizer's state (moments, step counts, loss scale), the global step
counter, and the position of the training-data iterator (``tf.train.Checkpoint`` saves a
``tf.data`` iterator, seeded shuffle buffers included). Beside it, ``history.json`` keeps
the history and ``run_state.json`` the sums of a half-finished epoch, so a resumed run
reports the same epoch means as an uninterrupted one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from course_lib.training.history import EpochRecord, History

if TYPE_CHECKING:  # imported for type hints only (the loop imports this module)
    from course_lib.training.trainer import Trainer


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the real checkpoints (always, except on extra workers)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or resolver is None:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


class RunState:
    """The checkpointable state of a :class:`~course_lib.training.trainer.Trainer` run."""

    def __init__(self, trainer: Trainer, iterator) -> None:
        self.iterator = iterator
        self._partial: tuple[dict[str, float], float] | None = None
        self._best_weights: list[np.ndarray] | None = None
        cfg = trainer.config
        self.dir = Path(cfg.checkpoint_dir).expanduser() if cfg.checkpoint_dir else None
        if self.dir is None:
            return
        if not is_chief(trainer.strategy):  # other workers write a throw-away copy
            self.dir = self.dir / f"worker-{trainer.strategy.cluster_resolver.task_id}-tmp"
        self.dir.mkdir(parents=True, exist_ok=True)
        objects = {"step": trainer.step, "iterator": iterator}
        objects.update({f"model_{k}": m for k, m in trainer.task.models.items()})
        objects.update(
            {
                f"optimizer_{o.name}": opt
                for o, opt in zip(trainer.task.objectives, trainer.optimizers)
            }
        )
        objects.update({f"extra_{k}": t for k, t in trainer.task.trackables.items()})
        self.checkpoint = tf.train.Checkpoint(**objects)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, str(self.dir), max_to_keep=cfg.keep_checkpoints
        )

    @property
    def enabled(self) -> bool:
        """Whether checkpoints are written (``TrainConfig.checkpoint_dir`` is set)."""
        return self.dir is not None

    # --------------------------------------------------------------- save / restore
    def save(
        self, trainer: Trainer, partial: tuple[dict[str, float], float] | None = None
    ) -> str | None:
        """Write a checkpoint at the current step; ``partial`` = sums of an unfinished epoch."""
        if not self.enabled:
            return None
        step = int(trainer.step.numpy())
        path = self.manager.save(checkpoint_number=step)
        state = {
            "step": step,
            "partial": None if partial is None else {"totals": partial[0], "seconds": partial[1]},
        }
        _write_json(self.dir / "run_state.json", state)
        self.save_history(trainer)
        return path

    def save_history(self, trainer: Trainer) -> None:
        """Write ``history.json`` (called at every checkpoint and when a run ends)."""
        if self.enabled:
            trainer.history.save(self.dir / "history.json")

    def restore_latest(self, trainer: Trainer, force: bool = False) -> str | None:
        """Restore the newest checkpoint (if resuming is on, or ``force``); return its path."""
        if not self.enabled or not (trainer.config.resume or force):
            return None
        latest = self.manager.latest_checkpoint
        if latest is None:
            return None
        try:
            self.checkpoint.restore(latest).assert_existing_objects_matched()
        except (AssertionError, ValueError, tf.errors.OpError) as err:
            raise ValueError(
                f"The checkpoint {latest} does not match this model, optimizer or data pipeline "
                f"({type(err).__name__}: {str(err)[:300]}). Use another checkpoint_dir or delete "
                "this one to start afresh."
            ) from err
        step = int(trainer.step.numpy())
        history_file, state_file = self.dir / "history.json", self.dir / "run_state.json"
        if history_file.exists():
            trainer.history = History.load(history_file)
            trainer.history.truncate(step)
        if state_file.exists():
            state = json.loads(state_file.read_text())
            if state.get("step") == step and state.get("partial"):
                self._partial = (
                    dict(state["partial"]["totals"]),
                    float(state["partial"]["seconds"]),
                )
        if not force:
            print(f"resumed from {latest} (step {step})", flush=True)
        return latest

    def take_partial_epoch(self, keep: bool = False) -> tuple[dict[str, float], float]:
        """Sums and seconds of the epoch the run is in the middle of (then forgotten, unless ``keep``)."""
        partial = self._partial if self._partial is not None else ({}, 0.0)
        if not keep:
            self._partial = None
        return partial

    def keep_partial_epoch(self, totals: dict[str, float], seconds: float) -> None:
        """Remember the sums of an epoch cut short (by ``max_steps``) for the next ``fit``."""
        self._partial = (dict(totals), seconds)

    # --------------------------------------------------------------- early stopping
    def early_stopping_update(self, trainer: Trainer, record: EpochRecord) -> str:
        """Track the monitored value; return a reason to stop, or ``""`` to go on."""
        rule = trainer.config.early_stopping
        if rule is None:
            return ""
        split, name = (
            ("val", rule.monitor[4:])
            if rule.monitor.startswith("val_")
            else ("train", rule.monitor)
        )
        values = getattr(record, split)
        if name not in values:
            raise KeyError(
                f"EarlyStopping monitors {rule.monitor!r}, but epoch {record.epoch} recorded "
                f"{split} values {sorted(values)}"
                + (" (no validation data given?)" if split == "val" else "")
            )
        value, best = values[name], trainer.history.best
        sign = 1.0 if rule.mode == "min" else -1.0
        if not best or sign * (value - best["value"]) < -rule.min_delta:
            trainer.history.best = {"value": value, "epoch": record.epoch, "wait": 0}
            if rule.restore_best_weights:
                self._snapshot_best(trainer)
            return ""
        best["wait"] += 1
        if best["wait"] < rule.patience:
            return ""
        reason = f"{rule.monitor} did not improve on {best['value']:.5g} (epoch {best['epoch']}) for {rule.patience} epochs"
        if rule.restore_best_weights:
            self._restore_best(trainer)
            reason += "; weights of the best epoch restored"
        return reason

    def _snapshot_best(self, trainer: Trainer) -> None:
        self._best_weights = [v.numpy() for v in trainer.task.model_variables()]
        if self.enabled:
            np.savez(self.dir / "best_weights.npz", *self._best_weights)

    def _restore_best(self, trainer: Trainer) -> None:
        weights = self._best_weights
        if weights is None and self.enabled and (self.dir / "best_weights.npz").exists():
            with np.load(self.dir / "best_weights.npz") as f:
                weights = [f[f"arr_{i}"] for i in range(len(f.files))]
        if weights is not None:
            for variable, value in zip(trainer.task.model_variables(), weights):
                variable.assign(value)


def _write_json(path: Path, obj: object) -> None:
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(json.dumps(obj))
    os.replace(tmp, path)
