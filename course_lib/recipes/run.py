"""Training one recipe to the end, with checkpoints, exact resume and a one-line summary.

:func:`run` builds a recipe, trains it through :class:`~course_lib.training.Trainer` with
checkpoints in a run directory (a second call with the same directory continues from the
newest checkpoint, with the same data position, optimizer state and schedule, so the result
equals an uninterrupted run's), evaluates the chapter's metric and returns a
:class:`RunSummary`. Ctrl-C saves a checkpoint and returns a summary whose ``stop_reason`` is
``"interrupted"``.

The run directory holds a manifest, ``recipe.json`` (model, profile, the cache key's
config, steps, seed): a directory that holds another model's run, or the same model with
other settings, is refused with one clear error instead of a failed restore.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from course_lib.recipes.base import Built, Recipe, resolve_profile
from course_lib.recipes.registry import get_recipe
from course_lib.runtime.paths import get_paths
from course_lib.runtime.profiles import Profile
from course_lib.runtime.validation import check_int

MANIFEST = "recipe.json"
SUMMARY = "summary.json"


@dataclass
class RunSummary:
    """What one :func:`run` did.

    Attributes:
        model: the recipe's name.
        profile: the profile's name.
        step: the optimizer step the run reached.
        total_steps: the steps the run is planned for.
        start_step: the step it resumed from (0 for a fresh run).
        seconds: wall-clock seconds of this call's training (evaluation excluded).
        eval_seconds: seconds of the final evaluation.
        items_per_second: images or tokens per second of this call's training steps.
        unit: ``"images"`` or ``"tokens"``.
        device: where it ran (``"CPU"``, ``"GPU (NVIDIA ...)"``, ``"2 workers x CPU"``).
        precision: the Keras precision policy.
        stop_reason: the trainer's (``"completed"``, ``"interrupted"``, ``"non-finite"``).
        metrics: the chapter's metric(s) after training (empty if interrupted).
        metric: the key of the headline number in ``metrics``.
        metric_label: its name in the summary line; ``metric_unit`` its unit.
        run_dir: the run directory (checkpoints, manifest, ``summary.json``).
        message: the trainer's message (why it stopped).
        cache_entry: the model-cache folder the finished run's weights were stored in (so a
            notebook with the same key loads them instead of training), or ``""``.
    """

    model: str
    profile: str
    step: int
    total_steps: int
    start_step: int
    seconds: float
    eval_seconds: float
    items_per_second: float
    unit: str
    device: str
    precision: str
    stop_reason: str
    metric: str
    metric_label: str
    metric_unit: str
    run_dir: str
    metrics: dict[str, float] = field(default_factory=dict)
    message: str = ""
    cache_entry: str = ""

    @property
    def steps_per_second(self) -> float:
        """Optimizer steps per second of this call's training."""
        done = self.step - self.start_step
        return done / self.seconds if self.seconds > 0 else float("nan")

    def line(self) -> str:
        """The one-line summary: the headline metric (the others in parentheses), steps,
        seconds, throughput, device, precision."""
        if self.metric in self.metrics:
            unit = f" {self.metric_unit}" if self.metric_unit else ""
            head = f"{self.metric_label} {self.metrics[self.metric]:.4f}{unit}"
            others = [f"{k} {v:.4g}" for k, v in self.metrics.items() if k != self.metric]
            if others:
                head += f" ({', '.join(others)})"
        else:
            head = f"{self.stop_reason} (no metric)"
        resumed = f", resumed at {self.start_step}" if self.start_step else ""
        return (
            f"train {self.model} ({self.profile}): {head} after {self.step}/{self.total_steps} "
            f"steps{resumed}; {self.seconds:.1f} s training ({self.steps_per_second:.2f} steps/s, "
            f"{self.items_per_second:,.0f} {self.unit}/s), {self.eval_seconds:.1f} s evaluation; "
            f"{self.device}, {self.precision}; run dir {self.run_dir}"
        )


def default_run_dir(name: str, profile: Profile) -> Path:
    """``runs/train_<model>_<profile>`` of :func:`~course_lib.runtime.paths.get_paths`."""
    return get_paths().runs / f"train_{name}_{profile.name}"


def manifest(recipe: Recipe, profile: Profile, steps: int | None, seed: int) -> dict[str, Any]:
    """What identifies a run: model, profile, the cache key's config and data, steps, seed."""
    key = recipe.cache_key(profile, steps=steps, seed=seed)
    return {
        "model": recipe.name,
        "profile": profile.name,
        "config": json.loads(json.dumps(key.config, default=str)),
        "data": key.data,
        "steps": key.steps,
        "seed": seed,
    }


def check_run_dir(run_dir: Path, expected: dict[str, Any]) -> None:
    """Refuse a run directory that holds another run: another model's checkpoints, the same
    model with other settings, or checkpoints without a manifest. ``ValueError``, one line."""
    if not run_dir.exists():
        return
    if run_dir.is_file():
        raise ValueError(f"run dir {run_dir} is a file, not a folder")
    path = run_dir / MANIFEST
    if not path.exists():
        if any(run_dir.glob("ckpt-*")) or (run_dir / "checkpoint").exists():
            raise ValueError(
                f"run dir {run_dir} holds checkpoints that `train` did not write (no {MANIFEST}):"
                " pass another --run-dir, or delete that folder"
            )
        return
    try:
        found = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"run dir {run_dir}: unreadable {MANIFEST} ({err})") from None
    if found.get("model") != expected["model"]:
        raise ValueError(
            f"run dir {run_dir} holds checkpoints of model {found.get('model')!r}, not "
            f"{expected['model']!r}: pass another --run-dir, or delete that folder"
        )
    keys = ("profile", "config", "data", "steps", "seed")
    differs = [k for k in keys if found.get(k) != expected[k]]
    if differs:
        shown = ", ".join(
            f"{k} {found.get(k)!r} -> {expected[k]!r}" for k in differs if k != "config"
        )
        if "config" in differs:
            shown = ", ".join(filter(None, [shown, "sizes/optimizer config differ"]))
        raise ValueError(
            f"run dir {run_dir} holds a {expected['model']} run with other settings ({shown}): "
            "rerun with the same settings to resume, or pass another --run-dir"
        )


def _latest_step(run_dir: Path) -> int:
    import tensorflow as tf

    latest = tf.train.latest_checkpoint(str(run_dir)) if run_dir.exists() else None
    return int(latest.rsplit("-", 1)[1]) if latest else 0


def _device(setup: Any, strategy: Any) -> str:
    hw = setup.hw if setup is not None else None
    if hw is None:
        return type(strategy).__name__
    kind = f"GPU ({hw.gpus[0].model})" if hw.gpus else "CPU"
    if len(hw.gpus) > 1:
        kind = f"{len(hw.gpus)} x {kind}"
    return f"{hw.num_workers} workers x {kind}" if hw.num_workers > 1 else kind


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj, indent=1, default=str))
    os.replace(tmp, path)


def runtime_setup(name: str) -> Any:
    """:meth:`~course_lib.runtime.devices.RuntimeSetup.setup` for model ``name``: the strategy,
    and the precision policy decided for that model where the runtime has a decision for it
    (``devices.COURSE_MODELS``; else the runtime's default)."""
    from course_lib.runtime import devices

    if name in getattr(devices, "COURSE_MODELS", ()):
        return devices.RuntimeSetup.setup(model=name)
    return devices.RuntimeSetup.setup()


def _store_in_model_cache(
    recipe: Recipe, profile: Profile, steps: int | None, seed: int, built: Built, history: Any
) -> str:
    """Store a finished run's models under the recipe's cache key; the folder, or ``""``
    when the cache is off (``COURSE_MODEL_CACHE=0``)."""
    from course_lib.training.model_cache import ModelCache

    key = recipe.cache_key(profile, steps=steps, seed=seed)
    seconds = sum(r.seconds for r in history.records)
    path = ModelCache().store(key, built.models, history, seconds)
    return "" if path is None else str(path)


def run(
    name: str,
    profile: Profile | str | None = None,
    *,
    steps: int | None = None,
    run_dir: str | Path | None = None,
    seed: int = 0,
    strategy: Any = None,
    stop_at: int | None = None,
) -> RunSummary:
    """Train recipe ``name`` in ``profile`` to ``steps`` (default: the chapter's), resuming
    from the newest checkpoint in ``run_dir`` (default ``runs/train_<name>_<profile>``).

    ``strategy`` defaults to :func:`runtime_setup`'s choice (``MultiWorkerMirroredStrategy``
    when ``TF_CONFIG`` names several workers), which also sets the precision policy (with a
    given ``strategy``, the current policy is used). ``stop_at`` stops after that step with a
    checkpoint, as Ctrl-C would (a later call continues the same run). Only the chief writes
    the manifest and ``summary.json``; checkpoints are the trainer's (the chief's copy is
    kept). A finished run's models go into the model cache under the recipe's key, so a
    notebook that asks for the same run loads them.
    """
    from course_lib.training import Trainer
    from course_lib.training.checkpointing import is_chief

    recipe = get_recipe(name)
    profile = resolve_profile(profile)
    if steps is not None:
        steps = check_int("steps", steps, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    if stop_at is not None:
        stop_at = check_int("stop_at", stop_at, minimum=1)
    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(name, profile)
    run_dir = run_dir.expanduser().resolve()
    setup = None
    if strategy is None:  # first: it sets the precision policy, part of the manifest's key
        setup = runtime_setup(name)
        strategy = setup.strategy
    expected = manifest(recipe, profile, steps, seed)
    check_run_dir(run_dir, expected)
    chief = is_chief(strategy)
    built: Built = recipe.build(profile, strategy=strategy, seed=seed, steps=steps)
    run_dir.mkdir(parents=True, exist_ok=True)
    if chief:
        _write_json(run_dir / MANIFEST, expected)
    start_step = _latest_step(run_dir)
    config = replace(
        built.train_config,
        checkpoint_dir=run_dir,
        resume=True,
    )
    trainer = Trainer(built.task, config, strategy=strategy)
    began = time.perf_counter()
    history = trainer.fit(built.train_data, built.val_data, steps=stop_at)
    seconds = time.perf_counter() - began
    step = int(trainer.step.numpy())
    step_seconds = sum(r.seconds for r in history.records if r.step > start_step)
    items = (step - start_step) * built.items_per_batch
    metrics: dict[str, float] = {}
    eval_seconds = 0.0
    finished = history.stop_reason == "completed" and step >= built.steps
    if not finished and history.stop_reason == "completed":
        history.stop_reason = "stopped"  # stop_at: a checkpoint, and the run is not over
    if finished:
        began = time.perf_counter()
        metrics = {k: float(v) for k, v in built.evaluate().items()}
        eval_seconds = time.perf_counter() - began
    import keras

    summary = RunSummary(
        model=name,
        profile=profile.name,
        step=step,
        total_steps=built.steps,
        start_step=start_step,
        seconds=seconds,
        eval_seconds=eval_seconds,
        items_per_second=items / step_seconds if step_seconds > 0 else float("nan"),
        unit=built.unit,
        device=_device(setup, strategy),
        precision=keras.mixed_precision.global_policy().name,
        stop_reason=history.stop_reason,
        metric=built.metric,
        metric_label=built.metric_label,
        metric_unit=built.metric_unit,
        run_dir=str(run_dir),
        metrics=metrics,
        message=history.message,
    )
    if chief and finished:
        summary.cache_entry = _store_in_model_cache(recipe, profile, steps, seed, built, history)
        _write_json(run_dir / SUMMARY, asdict(summary))
    return summary
