"""The record of a training run: what the loop measured, record by record, ready to plot.

Every ``eval_every`` steps (and at the last step) the loop appends a :class:`Record`: the
means of the training values over the steps since the previous record, and the validation
means. Every mean is a ratio of sums, ``sum of values / number of values``, both summed over
all batches (and replicas) it covers, so a mean over examples and a mean over tokens are both
exact: :class:`IntervalSums` accumulates those sums and counts between two records.
Between records, :attr:`History.points` keeps finer means, one per compiled call.

A :class:`History` survives interruption: the loop saves it with every checkpoint, and a
resumed run continues the same history.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from course_lib.runtime.validation import check_choice

STOP_REASONS = ("completed", "early_stopping", "interrupted", "non-finite")


@dataclass
class Record:
    """What the loop measured up to one step.

    Attributes:
        step: global step (optimizer updates so far) at the record.
        epoch: passes over the training data so far, ``step / steps_per_epoch`` (a float;
            ``None`` when the data has no known length).
        train: mean of every loss and metric over the training examples (or tokens) of the
            steps since the previous record.
        val: the same on the validation data (empty without validation data).
        examples_per_sec: training throughput over those steps (compiled steps only, no
            validation).
        seconds: wall time of those training steps.
    """

    step: int
    epoch: float | None
    train: dict[str, float]
    val: dict[str, float]
    examples_per_sec: float
    seconds: float


@dataclass
class History:
    """All records of a run, finer-grained points, and why the run stopped.

    Attributes:
        records: one :class:`Record` per ``eval_every`` steps, and one at the last step.
        points: ``(step, {name: mean over the last compiled call})`` for smooth curves.
        stop_reason: ``""`` while running, then ``"completed"``, ``"early_stopping"``,
            ``"interrupted"`` or ``"non-finite"`` (with the step named in ``message``).
        message: a human-readable note about how the run ended.
    """

    records: list[Record] = field(default_factory=list)
    points: list[tuple[int, dict[str, float]]] = field(default_factory=list)
    stop_reason: str = ""
    message: str = ""

    def steps(self) -> list[int]:
        """The global step of every record, e.g. ``[250, 500, 750, 1000, 1005]``."""
        return [record.step for record in self.records]

    def series(self, name: str, split: str = "train") -> list[float]:
        """The value ``name`` of every record, from ``split`` (``"train"`` or ``"val"``)."""
        check_choice("split", split, ("train", "val"))
        values = [getattr(record, split).get(name) for record in self.records]
        if not values or any(v is None for v in values):
            known = sorted({k for record in self.records for k in getattr(record, split)})
            raise KeyError(
                f"{name!r} is not recorded in every record's {split!r} values "
                f"({len(self.records)} records); known: {known}"
            )
        return values  # type: ignore[return-value]

    @property
    def last_step(self) -> int:
        """Global step of the last record (0 if none)."""
        return self.records[-1].step if self.records else 0

    def to_dict(self) -> dict:
        """A JSON-ready dict (NaN and infinities written as strings)."""
        return _encode(asdict(self))  # type: ignore[return-value]

    @classmethod
    def from_dict(cls, raw: dict) -> History:
        """Inverse of :meth:`to_dict`."""
        raw = _decode(raw)  # type: ignore[assignment]
        records = [Record(**r) for r in raw.get("records", [])]
        points = [(int(s), dict(v)) for s, v in raw.get("points", [])]
        return cls(records, points, raw.get("stop_reason", ""), raw.get("message", ""))

    def to_json(self) -> str:
        """Serialise (NaN and infinities are written as strings, which JSON allows)."""
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_json(cls, text: str) -> History:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    def save(self, path: str | Path) -> None:
        """Write atomically, so a crash mid-write never leaves a broken file."""
        tmp = Path(str(path) + ".tmp")
        tmp.write_text(self.to_json())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | Path) -> History:
        """Read a history written by :meth:`save`."""
        return cls.from_json(Path(path).read_text())

    def summary(self) -> str:
        """One line per record, then how the run stopped, e.g. for the end of a cell."""
        lines = [format_record(record) for record in self.records]
        if self.stop_reason:
            note = f" ({self.message})" if self.message else ""
            lines.append(f"stopped: {self.stop_reason}{note}")
        return "\n".join(lines)


def format_record(record: Record) -> str:
    """One line: step, epoch, training and validation means, throughput."""
    parts = [f"step {record.step:6d}"]
    if record.epoch is not None:
        parts.append(f"epoch {record.epoch:6.2f}")
    parts += [f"{k} {v:.4f}" for k, v in record.train.items()]
    parts += [f"val_{k} {v:.4f}" for k, v in record.val.items()]
    parts.append(f"{record.examples_per_sec:,.0f} ex/s")
    return "  ".join(parts)


def _encode(obj: object) -> object:
    if isinstance(obj, float) and not math.isfinite(obj):
        # 'nan', 'inf', '-inf'
        return repr(obj)
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


@dataclass
class IntervalSums:
    """Sums and counts of every training value since the last record (JSON-ready)."""

    sums: dict[str, list[float]] = field(default_factory=dict)
    examples: float = 0.0
    seconds: float = 0.0

    def add(self, values: dict[str, tuple[float, float]], examples: float, seconds: float):
        """Add one compiled call's ``{name: (sum, count)}``, examples and wall time."""
        for name, (total, count) in values.items():
            previous = self.sums.setdefault(name, [0.0, 0.0])
            previous[0] += total
            previous[1] += count
        self.examples += examples
        self.seconds += seconds

    def means(self) -> dict[str, float]:
        """``{name: sum / count}`` (NaN for a value with count 0)."""
        return {name: mean_from_sum(total, count) for name, (total, count) in self.sums.items()}

    def state(self) -> dict:
        """The JSON-ready state, for a checkpoint."""
        return {"sums": self.sums, "examples": self.examples, "seconds": self.seconds}

    @classmethod
    def from_state(cls, state: dict | None) -> IntervalSums:
        """Inverse of :meth:`state` (``None``: empty)."""
        if not state:
            return cls()
        sums = {k: [float(v[0]), float(v[1])] for k, v in state["sums"].items()}
        return cls(sums, float(state["examples"]), float(state["seconds"]))


def mean_from_sum(total: float, count: float) -> float:
    """``total / count``, the mean of values reduced as (sum, count); NaN when ``count`` is 0."""
    return total / count if count else math.nan
