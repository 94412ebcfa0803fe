"""A local cache of trained models: a chapter reuses a model another chapter trained.

Several chapters need the same model (chapter 06's Shakespeare GPT is compressed in chapter 08
and scored in the FAQ; chapter 06's translator is read in chapter 08 and scored in the FAQ).
Training it again in each would cost the learner minutes for nothing, and loading "whatever
is on disk" would silently mix models trained with other settings. So a trained model is
stored under a :class:`CacheKey` that names everything its weights depend on:

* ``config`` -- the model's configuration and the run's settings (sizes, batch size, learning
  rate and schedule, dropout, ...), as plain data;
* ``data`` -- a checksum of the training data (:func:`course_lib.runtime.fingerprint.array_digest`);
* ``steps`` and ``seed``;
* ``library`` -- a digest of the library's source
  (:func:`course_lib.runtime.fingerprint.library_digest`): any change to ``course_lib``'s
  code gives new keys, so a fixed bug is never served from an old entry.

Change any of them and the key's digest changes, the lookup misses, and the model is trained
again through the same code (:meth:`ModelCache.load_or_train`). What is *not* in the key must
not change the weights: ``steps_per_execution``, XLA on or off, the progress display.

An entry is a folder ``<name>-<first 12 hex digits of the digest>/`` holding each model's
weights (``model_<name>.weights.h5``), the run's :class:`~course_lib.training.history.History`
(``history.json``, so a chapter that loads the model can still plot its training curves) and
``entry.json`` (the key, the training time, the date). A folder is written under a temporary
name and renamed when complete, so a reader never sees half an entry, and two processes that
train the same model at once both succeed (the second rename finds the entry and discards its
own copy).

The cache lives in ``runs/model_cache`` (``$COURSE_MODEL_CACHE_DIR`` moves it);
``COURSE_MODEL_CACHE=0`` turns it off: every ``load_or_train`` then trains and stores nothing.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from course_lib.runtime import fingerprint
from course_lib.runtime.paths import get_paths
from course_lib.runtime.validation import check_int
from course_lib.training.history import History

CACHE_DIR_ENV = "COURSE_MODEL_CACHE_DIR"
CACHE_SWITCH_ENV = "COURSE_MODEL_CACHE"
ENTRY_FORMAT = "course-model-cache-1"
ENTRY_FILE = "entry.json"
HISTORY_FILE = "history.json"


@dataclass(frozen=True)
class CacheKey:
    """Everything a trained model's weights depend on.

    Attributes:
        name: a readable name, also the prefix of the entry's folder (``"shakespeare_gpt"``).
        config: the model's configuration and the run's settings, as plain data (numbers,
            strings, lists, dicts, dataclasses).
        data: a checksum of the training data (a hex digest).
        steps: optimizer steps of the run.
        seed: the seed the run started from.
        library: a digest of the library's source; by default the current one.
    """

    name: str
    config: Mapping[str, Any]
    data: str
    steps: int
    seed: int
    library: str = field(default_factory=fingerprint.library_digest)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.replace("_", "").isalnum():
            raise ValueError(
                f"CacheKey name must be letters, digits and underscores, got {self.name!r}"
            )
        if not isinstance(self.data, str) or not self.data:
            raise ValueError(
                "CacheKey data must be a non-empty checksum string, e.g. "
                f"fingerprint.array_digest(train_ids), got {self.data!r}"
            )
        check_int("steps", self.steps, minimum=0)
        check_int("seed", self.seed, minimum=0)
        fingerprint.canonical_json(dict(self.config))  # plain data, or a TypeError naming why

    def as_dict(self) -> dict[str, Any]:
        """The key as plain data (what ``entry.json`` records)."""
        return json.loads(
            fingerprint.canonical_json(
                {
                    "name": self.name,
                    "config": dict(self.config),
                    "data": self.data,
                    "steps": self.steps,
                    "seed": self.seed,
                    "library": self.library,
                }
            )
        )

    @property
    def digest(self) -> str:
        """SHA-256 (hex) of the whole key and the entry format."""
        return fingerprint.digest([ENTRY_FORMAT, fingerprint.canonical_json(self.as_dict())])

    @property
    def folder(self) -> str:
        """The entry's folder name: ``<name>-<12 hex digits>``."""
        return f"{self.name}-{self.digest[:12]}"


def key_differences(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "") -> list[str]:
    """What differs between two keys' dicts, one short phrase per difference.

    ``library`` differences are reported as "the library's code changed"; nested ``config``
    values by their dotted path (``config.model.n_layer 2 -> 4``).
    """
    out: list[str] = []
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        if a == b:
            continue
        path = f"{prefix}{name}"
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            out += key_differences(a, b, prefix=f"{path}.")
        elif path == "library":
            out.append("the library's code changed")
        elif path == "data":
            out.append("the training data changed")
        else:
            out.append(f"{path} {a!r} -> {b!r}")
    return out


@dataclass
class CacheResult:
    """What :meth:`ModelCache.load_or_train` did.

    Attributes:
        key: the key looked up.
        hit: ``True`` when the weights were loaded from the cache (training did not run).
        history: the history of the run that produced the weights.
        seconds: wall-clock seconds of this call (loading, or training and storing).
        trained_seconds: how long the training that produced the weights took.
        trained_on: the date of that training (ISO format).
        path: the entry's folder (``None`` when the cache is off).
        note: why a lookup missed, when there is something to say (other settings cached).
    """

    key: CacheKey
    hit: bool
    history: History
    seconds: float
    trained_seconds: float
    trained_on: str
    path: Path | None
    note: str = ""

    def __str__(self) -> str:
        key = f"{self.key.name} (key {self.key.digest[:12]})"
        if self.hit:
            return (
                f"model cache: loaded {key} in {self.seconds:.1f} s; it was trained on "
                f"{self.trained_on} in {self.trained_seconds:.0f} s ({self.key.steps} steps), "
                "so this run skipped that training"
            )
        if self.path is None:
            return (
                f"model cache off (${CACHE_SWITCH_ENV}=0): trained {key} in "
                f"{self.trained_seconds:.0f} s, stored nothing"
            )
        line = (
            f"model cache: no entry for {key}; trained it in {self.trained_seconds:.0f} s and "
            f"stored it in {self.path}"
        )
        return f"{line} ({self.note})" if self.note else line


def _check_models(models: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(models, Mapping) or not models:
        raise TypeError("models must be a non-empty dict of name -> Keras model")
    for name, model in models.items():
        if not isinstance(name, str) or not name.replace("_", "").isalnum():
            raise ValueError(f"model names must be letters, digits and underscores: {name!r}")
        if not hasattr(model, "save_weights") or not hasattr(model, "load_weights"):
            raise TypeError(f"models[{name!r}] is a {type(model).__name__}, not a Keras model")
        if not getattr(model, "built", False) or not model.weights:
            raise ValueError(
                f"models[{name!r}] is not built: call it once on a batch (or build it) before "
                "caching, so that its weights exist"
            )
    return dict(models)


class ModelCache:
    """Trained models on disk, found by :class:`CacheKey`.

    Args:
        directory: the cache's folder; default ``$COURSE_MODEL_CACHE_DIR`` or
            ``<runs>/model_cache``.
        enabled: default ``True`` unless ``$COURSE_MODEL_CACHE`` is ``"0"``.
    """

    def __init__(self, directory: str | Path | None = None, *, enabled: bool | None = None):
        if directory is None:
            directory = os.environ.get(CACHE_DIR_ENV) or get_paths().runs / "model_cache"
        self.directory = Path(directory).expanduser()
        if enabled is None:
            enabled = os.environ.get(CACHE_SWITCH_ENV, "1").strip() != "0"
        self.enabled = bool(enabled)

    def path(self, key: CacheKey) -> Path:
        """The folder of ``key``'s entry (it may not exist)."""
        return self.directory / key.folder

    def entries(self, name: str | None = None) -> list[dict[str, Any]]:
        """The complete entries (their ``entry.json``), optionally of one name, newest first."""
        if not self.directory.is_dir():
            return []
        found = []
        for folder in self.directory.iterdir():
            meta = folder / ENTRY_FILE
            if folder.name.startswith(".") or not meta.is_file():
                continue
            entry = json.loads(meta.read_text())
            if name is None or entry["key"]["name"] == name:
                found.append({**entry, "path": str(folder)})
        return sorted(found, key=lambda e: e.get("stored_at", 0), reverse=True)

    def load(self, key: CacheKey, models: Mapping[str, Any]) -> CacheResult | None:
        """Load ``key``'s weights into ``models`` (built Keras models); ``None`` on a miss."""
        models = _check_models(models)
        folder = self.path(key)
        if not self.enabled or not (folder / ENTRY_FILE).is_file():
            return None
        began = time.perf_counter()
        entry = json.loads((folder / ENTRY_FILE).read_text())
        missing = sorted(set(models) - set(entry["models"]))
        if missing or entry["key"] != key.as_dict():
            raise ValueError(
                f"The cache entry {folder} does not hold {missing or 'this key'}: delete the "
                "folder and run again"
            )
        for name, model in models.items():
            try:
                model.load_weights(folder / f"model_{name}.weights.h5")
            except (ValueError, KeyError, OSError) as err:
                raise ValueError(
                    f"The cached weights {folder}/model_{name}.weights.h5 do not fit "
                    f"models[{name!r}] ({type(err).__name__}: {str(err)[:200]}): the key does not "
                    "name everything the model's shape depends on; delete the folder and fix "
                    "the key's config"
                ) from err
        history = History.from_dict(json.loads((folder / HISTORY_FILE).read_text()))
        return CacheResult(
            key=key,
            hit=True,
            history=history,
            seconds=time.perf_counter() - began,
            trained_seconds=float(entry["trained_seconds"]),
            trained_on=entry["trained_on"],
            path=folder,
        )

    def store(
        self, key: CacheKey, models: Mapping[str, Any], history: History, seconds: float
    ) -> Path | None:
        """Store trained ``models`` and their ``history`` under ``key``; return the folder.

        ``seconds`` is how long the training took (recorded, and reported on later hits).
        An existing entry for ``key`` is kept (same key, same weights up to the run's
        non-determinism). Returns ``None`` when the cache is off.
        """
        models = _check_models(models)
        if not isinstance(history, History):
            raise TypeError(f"history must be a History, got {type(history).__name__}")
        if not self.enabled:
            return None
        final = self.path(key)
        if (final / ENTRY_FILE).is_file():
            return final
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key.folder}-", dir=self.directory))
        try:
            for name, model in models.items():
                model.save_weights(tmp / f"model_{name}.weights.h5")
            (tmp / HISTORY_FILE).write_text(json.dumps(history.to_dict()))
            entry = {
                "format": ENTRY_FORMAT,
                "key": key.as_dict(),
                "digest": key.digest,
                "models": sorted(models),
                "trained_seconds": float(seconds),
                "trained_on": date.today().isoformat(),
                "stored_at": time.time(),
                "machine": f"{platform.machine()} {platform.node()}",
            }
            (tmp / ENTRY_FILE).write_text(json.dumps(entry, indent=1))
            try:
                os.rename(tmp, final)
            except OSError:  # another process stored the same key first: keep its entry
                if not (final / ENTRY_FILE).is_file():
                    raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return final

    def load_or_train(
        self,
        key: CacheKey,
        models: Mapping[str, Any],
        train: Callable[[], History],
    ) -> CacheResult:
        """Load ``key``'s weights into ``models``, or call ``train()`` and store the result.

        ``train`` trains ``models`` in place (typically ``lambda: trainer.fit(data)``) and
        returns the run's :class:`History`. On a hit it is not called.
        """
        if not callable(train):
            raise TypeError("train must be a function that trains the models and returns a History")
        loaded = self.load(key, models)
        if loaded is not None:
            return loaded
        note = ""
        if self.enabled:
            others = self.entries(key.name)
            if others:
                changes = key_differences(others[0]["key"], key.as_dict())
                note = "another entry of this name has other settings: " + "; ".join(changes)
        began = time.perf_counter()
        history = train()
        if not isinstance(history, History):
            raise TypeError(
                f"train() must return the run's History (trainer.fit(...) does), got "
                f"{type(history).__name__}"
            )
        trained = time.perf_counter() - began
        path = self.store(key, models, history, trained)
        return CacheResult(
            key=key,
            hit=False,
            history=history,
            seconds=time.perf_counter() - began,
            trained_seconds=trained,
            trained_on=date.today().isoformat(),
            path=path,
            note=note,
        )

    def clear(self, name: str | None = None) -> int:
        """Delete every entry (or every entry of ``name``); return how many were deleted."""
        entries = self.entries(name)
        for entry in entries:
            shutil.rmtree(entry["path"], ignore_errors=True)
        return len(entries)
