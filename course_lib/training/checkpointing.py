"""Checkpoints of one training run, and their JSON and array side files.

A checkpoint at step ``s`` holds everything needed to continue exactly where a run stopped:

* ``ckpt-s.*`` (``tf.train.Checkpoint``): the objects it was given -- model weights, each
  optimizer's state (moments, step counts, loss scale), the global step counter and the
  position of the training-data iterator (seeded shuffle buffers included);
* ``state-s.json``: plain data the caller hands over (the history, the sums of a record
  interval in progress, the early-stopping state);
* ``arrays-s.npz`` (optional): named lists of arrays (the early-stopping best weights).

Side files of checkpoints the manager deleted are deleted too, so every kept checkpoint has
the side files of its own step and a run resumed from an older checkpoint reports exactly
what an uninterrupted one would. :class:`Checkpointer` knows nothing of the trainer: it is
given the objects to save and returns what it restored.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

_STEP = re.compile(r"ckpt-(\d+)$")


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the real checkpoints (always, except on extra workers)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or resolver is None:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


@dataclass
class Restored:
    """What :meth:`Checkpointer.restore` read back.

    Attributes:
        path: the checkpoint's prefix (``.../ckpt-120``).
        step: the step it was saved at.
        state: the ``state`` dict saved with it (``{}`` if its side file is missing).
        arrays: the named arrays saved with it (``{}`` if none).
    """

    path: str
    step: int
    state: dict[str, Any]
    arrays: dict[str, list[np.ndarray]]


class Checkpointer:
    """Saves and restores a fixed set of trackable objects, with side files per step.

    Args:
        directory: where checkpoints go (created if missing).
        objects: name -> object that ``tf.train.Checkpoint`` can track (Keras models and
            optimizers, ``tf.Variable``, a ``tf.data`` iterator, ...).
        keep: how many recent checkpoints to keep.
        strategy: the distribution strategy; on a worker that is not the chief, checkpoints
            go to a throw-away sub-directory ``worker-<i>-tmp`` (every worker must take part
            in saving, only the chief's copy is kept), and :meth:`restore` reads the
            *chief's* newest checkpoint, so every worker resumes from the same step with the
            same weights and data position (the run directory must be one all workers see:
            the same disk on one machine, a shared file system on a cluster).
    """

    def __init__(
        self,
        directory: str | Path,
        objects: Mapping[str, Any],
        keep: int,
        strategy: tf.distribute.Strategy | None = None,
    ) -> None:
        self.run_directory = Path(directory).expanduser()
        self.directory = self.run_directory
        strategy = strategy or tf.distribute.get_strategy()
        if not is_chief(strategy):
            task_id = strategy.cluster_resolver.task_id
            self.directory = self.run_directory / f"worker-{task_id}-tmp"
        self.directory.mkdir(parents=True, exist_ok=True)
        self.checkpoint = tf.train.Checkpoint(**dict(objects))
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, str(self.directory), max_to_keep=keep
        )

    @property
    def latest(self) -> str | None:
        """The newest checkpoint's prefix, or ``None``."""
        return self.manager.latest_checkpoint

    def save(
        self,
        step: int,
        state: Mapping[str, Any],
        arrays: Mapping[str, list[np.ndarray]] | None = None,
    ) -> str:
        """Write the checkpoint ``ckpt-<step>`` with its side files; return its prefix."""
        # side files first: a process killed in between leaves an unused side file, never a
        # checkpoint without its state (the manager's index names a step only once it is saved)
        _write_json(self.directory / f"state-{step}.json", dict(state))
        if arrays:
            flat = {
                f"{name}__{i}": a for name, values in arrays.items() for i, a in enumerate(values)
            }
            tmp = self.directory / f"arrays-{step}.tmp.npz"
            np.savez(tmp, **flat)
            os.replace(tmp, self.directory / f"arrays-{step}.npz")
        else:
            (self.directory / f"arrays-{step}.npz").unlink(missing_ok=True)
        path = self.manager.save(checkpoint_number=step)
        self._delete_orphan_side_files()
        return path

    def restore(self) -> Restored | None:
        """Restore the newest checkpoint into the objects; ``None`` if there is none.

        Raises ``ValueError`` when the checkpoint does not match the objects (another
        model, optimizer or data pipeline).
        """
        source = self.run_directory  # the chief's checkpoints, also on the other workers
        latest = tf.train.latest_checkpoint(str(source))
        if latest is None:
            return None
        try:
            self.checkpoint.restore(latest).assert_existing_objects_matched()
        except (AssertionError, ValueError, tf.errors.OpError) as err:
            raise ValueError(
                f"The checkpoint {latest} does not match this model, optimizer or data pipeline "
                f"({type(err).__name__}: {str(err)[:300]}). Use another checkpoint_dir, or "
                "start afresh (nb.run_dir(name, fresh=True) empties the run directory)."
            ) from err
        step = _step_of(latest)
        state_file = source / f"state-{step}.json"
        state = json.loads(state_file.read_text()) if state_file.exists() else {}
        return Restored(path=latest, step=step, state=state, arrays=_read_arrays(source, step))

    def write_json(self, name: str, obj: Any) -> Path:
        """Write ``obj`` as ``<directory>/<name>`` atomically (e.g. ``history.json``)."""
        path = self.directory / name
        _write_json(path, obj)
        return path

    def _delete_orphan_side_files(self) -> None:
        kept = {_step_of(path) for path in self.manager.checkpoints}
        for pattern in ("state-*.json", "arrays-*.npz"):
            for path in self.directory.glob(pattern):
                stem = path.name.split("-", 1)[1].split(".", 1)[0]
                if stem.isdigit() and int(stem) not in kept:
                    path.unlink(missing_ok=True)


def _read_arrays(directory: Path, step: int) -> dict[str, list[np.ndarray]]:
    path = directory / f"arrays-{step}.npz"
    if not path.exists():
        return {}
    grouped: dict[str, dict[int, np.ndarray]] = {}
    with np.load(path) as f:
        for key in f.files:
            name, index = key.rsplit("__", 1)
            grouped.setdefault(name, {})[int(index)] = f[key]
    return {name: [values[i] for i in sorted(values)] for name, values in grouped.items()}


def _step_of(path: str) -> int:
    match = _STEP.search(path)
    if match is None:
        raise ValueError(f"not a checkpoint prefix of the form .../ckpt-<step>: {path}")
    return int(match.group(1))


def _write_json(path: Path, obj: object) -> None:
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(json.dumps(obj))
    os.replace(tmp, path)
