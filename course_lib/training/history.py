"""The record of a training run: what the loop measured, epoch by epoch, ready to plot.

A :class:`History` survives interruption: the loop writes it as JSON next to every
checkpoint, and a resumed run continues the same history.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class EpochRecord:
    """What one epoch measured.

    Attributes:
        epoch: 1-based epoch number.
        step: global step counter at the end of the epoch.
        train: mean of every loss and metric over the epoch's training examples.
        val: the same on the validation data (empty without validation data).
        examples_per_sec: training throughput (compiled steps only, no validation).
        seconds: wall time of the epoch's training steps.
    """

    epoch: int
    step: int
    train: dict[str, float]
    val: dict[str, float]
    examples_per_sec: float
    seconds: float


@dataclass
class History:
    """All epochs of a run plus finer-grained loss points and why the run stopped.

    Attributes:
        epochs: one :class:`EpochRecord` per finished epoch.
        points: ``(step, {name: mean over the last chunk of steps})`` for smooth curves.
        stop_reason: ``"completed"``, ``"max_steps"``, ``"early_stopping"``,
            ``"interrupted"`` or ``"non-finite"`` (with the step named in ``message``).
        message: a human-readable note about how the run ended.
        best: early-stopping state ``{"value": ..., "epoch": ..., "wait": ...}``.
    """

    epochs: list[EpochRecord] = field(default_factory=list)
    points: list[tuple[int, dict[str, float]]] = field(default_factory=list)
    stop_reason: str = ""
    message: str = ""
    best: dict[str, float] = field(default_factory=dict)

    def series(self, name: str, split: str = "train") -> list[float]:
        """Per-epoch values of ``name`` from ``split`` (``"train"`` or ``"val"``)."""
        if split not in ("train", "val"):
            raise ValueError(f"split must be 'train' or 'val', got {split!r}")
        values = [getattr(r, split).get(name) for r in self.epochs]
        if not values or any(v is None for v in values):
            known = sorted({k for r in self.epochs for k in getattr(r, split)})
            raise KeyError(f"{name!r} is not recorded for every epoch in {split!r}; known: {known}")
        return values  # type: ignore[return-value]

    @property
    def last_step(self) -> int:
        """Global step at the end of the last recorded epoch (0 if none)."""
        return self.epochs[-1].step if self.epochs else 0

    def truncate(self, step: int) -> None:
        """Drop everything recorded after global step ``step`` (used when resuming)."""
        self.epochs = [r for r in self.epochs if r.step <= step]
        self.points = [p for p in self.points if p[0] <= step]

    def to_json(self) -> str:
        """Serialise (NaN and infinities are written as strings, which JSON allows)."""
        return json.dumps(_encode(asdict(self)), indent=1)

    @classmethod
    def from_json(cls, text: str) -> History:
        """Inverse of :meth:`to_json`."""
        raw = _decode(json.loads(text))
        epochs = [EpochRecord(**r) for r in raw.get("epochs", [])]
        points = [(int(s), dict(v)) for s, v in raw.get("points", [])]
        return cls(
            epochs, points, raw.get("stop_reason", ""), raw.get("message", ""), raw.get("best", {})
        )

    def save(self, path: Path) -> None:
        """Write atomically, so a crash mid-write never leaves a broken file."""
        tmp = Path(str(path) + ".tmp")
        tmp.write_text(self.to_json())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> History:
        """Read a history written by :meth:`save`."""
        return cls.from_json(Path(path).read_text())

    def summary(self) -> str:
        """One line per epoch, e.g. for printing at the end of a notebook cell."""
        lines = []
        for r in self.epochs:
            parts = [f"epoch {r.epoch:3d}", f"step {r.step:6d}"]
            parts += [f"{k} {v:.4f}" for k, v in r.train.items()]
            parts += [f"val_{k} {v:.4f}" for k, v in r.val.items()]
            parts.append(f"{r.examples_per_sec:,.0f} ex/s")
            lines.append("  ".join(parts))
        if self.stop_reason:
            lines.append(
                f"stopped: {self.stop_reason}" + (f" ({self.message})" if self.message else "")
            )
        return "\n".join(lines)


def _encode(obj: object) -> object:
    if isinstance(obj, float) and not math.isfinite(obj):
        return repr(obj)  # 'nan', 'inf', '-inf'
    if isinstance(obj, dict):
        return {k: _encode(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_encode(v) for v in obj]
    return obj


def _decode(obj: object) -> object:
    if obj in ("nan", "inf", "-inf"):
        return float(obj)  # type: ignore[arg-type]
    if isinstance(obj, dict):
        return {k: _decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    return obj
