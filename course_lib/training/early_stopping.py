"""Early stopping: stop when a recorded value has stopped improving, keep the best weights.

:class:`EarlyStopping` is the rule (data, part of a
:class:`~course_lib.training.config.TrainConfig`); :class:`EarlyStopper` applies it to one
run: after every record it compares the monitored value ``v`` with the best so far ``v*``.
For ``mode="min"`` the record improves when ``v < v* - min_delta`` (for ``"max"``:
``v > v* + min_delta``); after ``patience`` records in a row without improvement the run
stops (as in ``keras.callbacks.EarlyStopping``), and with ``restore_best_weights`` the
weights of the best record are put back.

The stopper's state (best value, its step, records waited) is a small dict, and the best
weights a list of arrays, so a checkpoint can save both and a resumed run stops exactly
where an uninterrupted one would.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from course_lib.runtime.validation import check_bool, check_choice, check_int, check_real
from course_lib.training.history import Record


class _Variable(Protocol):
    def numpy(self) -> np.ndarray: ...

    def assign(self, value: Any) -> Any: ...


@dataclass(frozen=True)
class EarlyStopping:
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` records.

    Attributes:
        monitor: a training value (``"loss"``) or, with the prefix ``val_``, a validation
            value (``"val_loss"``).
        mode: ``"min"`` (lower is better) or ``"max"``.
        patience: the run stops after this many records in a row without improvement
            (>= 0; 0 and 1 both stop at the first record that does not improve).
        min_delta: the smallest change that counts as an improvement (>= 0).
        restore_best_weights: put the weights of the best record back when stopping.
    """

    monitor: str = "val_loss"
    mode: str = "min"
    patience: int = 3
    min_delta: float = 0.0
    restore_best_weights: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.monitor, str) or not self.monitor or self.monitor == "val_":
            raise ValueError(
                f"EarlyStopping.monitor must name a value such as 'val_loss', got {self.monitor!r}"
            )
        check_choice("EarlyStopping.mode", self.mode, ("min", "max"))
        check_int("EarlyStopping.patience", self.patience, minimum=0)
        check_real("EarlyStopping.min_delta", self.min_delta, minimum=0.0)
        check_bool("EarlyStopping.restore_best_weights", self.restore_best_weights)

    @property
    def split(self) -> str:
        """``"val"`` for a ``val_`` monitor, else ``"train"``."""
        return "val" if self.monitor.startswith("val_") else "train"

    @property
    def value_name(self) -> str:
        """The monitored name inside the record's split (``"val_loss"`` -> ``"loss"``)."""
        return self.monitor[4:] if self.split == "val" else self.monitor


class EarlyStopper:
    """Applies an :class:`EarlyStopping` rule to the records of one run.

    Args:
        rule: the rule.
        variables: the model variables to snapshot at the best record and to restore
            (objects with ``numpy()`` and ``assign()``, e.g. ``tf.Variable``).
    """

    def __init__(self, rule: EarlyStopping, variables: Sequence[_Variable]) -> None:
        self.rule = rule
        self._variables = list(variables)
        self.best: float | None = None
        self.best_step: int | None = None
        self.wait = 0
        self.best_weights: list[np.ndarray] | None = None

    def update(self, record: Record) -> str:
        """Take one record; return why the run should stop, or ``""`` to go on.

        Raises ``KeyError`` if the record lacks the monitored value.
        """
        rule = self.rule
        values = getattr(record, rule.split)
        if rule.value_name not in values:
            hint = " (no validation data given?)" if rule.split == "val" and not values else ""
            raise KeyError(
                f"EarlyStopping monitors {rule.monitor!r}, but the record at step {record.step} "
                f"has {rule.split} values {sorted(values)}{hint}"
            )
        value = float(values[rule.value_name])
        sign = 1.0 if rule.mode == "min" else -1.0
        improved = math.isfinite(value) and (
            self.best is None or sign * (value - self.best) < -rule.min_delta
        )
        if improved:
            self.best = value
            self.best_step = record.step
            self.wait = 0
            if rule.restore_best_weights:
                self.best_weights = [v.numpy() for v in self._variables]
            return ""
        self.wait += 1
        if self.wait < rule.patience:
            return ""
        best = "none" if self.best is None else f"{self.best:.5g} (step {self.best_step})"
        reason = (
            f"{rule.monitor} did not improve on {best} for {self.wait} record(s) "
            f"(patience {rule.patience})"
        )
        if rule.restore_best_weights and self.restore_best():
            reason += "; weights of the best record restored"
        return reason

    def restore_best(self) -> bool:
        """Assign the best record's weights back; ``False`` if there are none."""
        if self.best_weights is None:
            return False
        for variable, value in zip(self._variables, self.best_weights, strict=True):
            variable.assign(value)
        return True

    def state(self) -> dict[str, Any]:
        """The serialisable state (JSON-ready); the best weights are kept apart."""
        return {"best": self.best, "best_step": self.best_step, "wait": self.wait}

    def load_state(
        self, state: dict[str, Any], best_weights: list[np.ndarray] | None = None
    ) -> None:
        """Continue from a saved :meth:`state` (and the best weights saved with it)."""
        self.best = None if state.get("best") is None else float(state["best"])
        self.best_step = None if state.get("best_step") is None else int(state["best_step"])
        self.wait = int(state.get("wait", 0))
        self.best_weights = None if best_weights is None else list(best_weights)
