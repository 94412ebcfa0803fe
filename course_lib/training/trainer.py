"""The one training loop of the course, counted in optimizer steps.

A model describes *what* to minimise as a :class:`~course_lib.training.task.Task`; the
:class:`Trainer` owns *how*.

**The update.** On a global batch of ``N`` examples with per-example losses ``l_i``, every
objective takes one step along the gradient of the global mean ``L = (1/N) sum_i l_i``, the
same on one device and on ``R`` replicas (:mod:`course_lib.training.update`): each replica
differentiates its own *sum* divided by the global ``N``, the replica gradients are summed
by one all-reduce, and every replica hands that identical gradient to the optimizer, which
clips it once (``clipnorm`` / ``global_clipnorm``) and applies it once to its copy of the
weights. Sparse embedding gradients are made dense before the sum.

**The run.** ``fit`` runs ``steps`` steps (or ``epochs`` passes over the data; the
:class:`~course_lib.training.plan.RunPlan` of :mod:`course_lib.training.plan`) and writes a
:class:`~course_lib.training.history.Record` every ``eval_every`` steps and at the last
step: training means since the previous record and validation means, both computed as
``total sum / total count`` over batches and replicas. Around that:

* compiled steps: ``steps_per_execution`` steps inside one ``tf.function``; the
  per-replica gradient computation optionally compiled by XLA (``jit_compile=True``);
* loss scaling under the ``mixed_float16`` policy (``keras.optimizers.LossScaleOptimizer``);
* a NaN/Inf guard: a step whose loss (or gradient) is not finite is not applied, nor is
  any later step; the run stops naming the step, with the weights of the last good step;
* checkpoints (:class:`~course_lib.training.checkpointing.Checkpointer`: models,
  optimizers, step counter, data-iterator position, history, the sums of the record in
  progress, the early-stopping state) and exact resume from the newest one;
* early stopping (:class:`~course_lib.training.early_stopping.EarlyStopper`), Ctrl-C saves
  a checkpoint and returns, a progress bar or silence per profile.
"""

from __future__ import annotations

import contextlib
import enum
import math
import sys
import time
from collections.abc import Callable, Iterator, Sequence

import keras
import numpy as np
import tensorflow as tf

from course_lib.runtime.progress import format_seconds, progress_enabled
from course_lib.runtime.quiet import GRAPH_NOISE, KNOWN_NOISE, quiet_stderr
from course_lib.training.checkpointing import Checkpointer
from course_lib.training.config import TrainConfig
from course_lib.training.early_stopping import EarlyStopper
from course_lib.training.history import History, IntervalSums, Record, format_record, mean_from_sum
from course_lib.training.plan import RunPlan, check_dataset, check_validation_data, plan_run
from course_lib.training.replicas import batch_size, replica_slice, sums_and_counts
from course_lib.training.task import Batch, Task
from course_lib.training.update import ObjectiveUpdate

Callback = Callable[["Trainer", Record], None]

#: the parts of a run :attr:`Trainer.timings` splits its wall time into: the first compiled
#: call (tracing, XLA compilation and its steps), the other compiled calls, validation at the
#: records, checkpoint writes, and the callbacks
PHASES = ("first_call", "steps", "validation", "checkpoints", "callbacks")


class IntervalEnd(enum.Enum):
    """How a stretch of training steps ended (returned by the inner loop)."""

    #: every step up to the requested one ran and was applied
    REACHED = "reached"
    #: a loss or gradient was not finite; no update from that step on was applied
    NON_FINITE = "non-finite"


class Trainer:
    """Trains a :class:`Task` under a ``tf.distribute`` strategy.

    Create the models and optimizers inside ``strategy.scope()``, then::

        trainer = Trainer(task, TrainConfig(steps=1000, eval_every=250,
                                            checkpoint_dir=nb.run_dir("mlp", fresh=True)))
        history = trainer.fit(train_ds, val_ds)

    ``train_ds`` yields *global* batches (tensors or tuples/dicts of them); ``fit`` again,
    or a new process with the same ``checkpoint_dir``, continues the run.
    """

    def __init__(
        self,
        task: Task,
        config: TrainConfig | None = None,
        strategy: tf.distribute.Strategy | None = None,
    ) -> None:
        if not isinstance(task, Task):
            raise TypeError(f"task must be a course_lib.training.Task, got {type(task).__name__}")
        if config is not None and not isinstance(config, TrainConfig):
            raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
        if strategy is not None and not isinstance(strategy, tf.distribute.Strategy):
            raise TypeError(
                f"strategy must be a tf.distribute.Strategy, got {type(strategy).__name__}"
            )
        self.task = task
        self.config = config or TrainConfig()
        self.strategy = strategy or tf.distribute.get_strategy()
        self.history = History()
        scale = keras.mixed_precision.global_policy().name == "mixed_float16"
        with self.strategy.scope():
            self.optimizers = [_with_loss_scaling(o.optimizer, scale) for o in task.objectives]
            self.variables = [o.trainable_variables() for o in task.objectives]
            for objective, variables in zip(task.objectives, self.variables, strict=True):
                self._check_scope(objective.name, variables)
            for optimizer, variables in zip(self.optimizers, self.variables, strict=True):
                if not optimizer.built:
                    optimizer.build(variables)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
            self._bad_step = tf.Variable(-1, dtype=tf.int64, trainable=False, name="bad_step")
            self._bad_objective = tf.Variable(
                -1, dtype=tf.int64, trainable=False, name="bad_objective"
            )
        self._updates = [
            ObjectiveUpdate(objective, optimizer, variables, self.strategy, self.config.jit_compile)
            for objective, optimizer, variables in zip(
                task.objectives, self.optimizers, self.variables, strict=True
            )
        ]
        self._dataset: tf.data.Dataset | None = None
        self._iterator = None
        self._checkpointer: Checkpointer | None = None
        self._stopper: EarlyStopper | None = None
        self._interval = IntervalSums()
        self._saved_step = -1
        #: wall seconds of each part of the loop, summed over this Trainer's fits (see
        #: :data:`PHASES`); ``calls`` counts compiled calls
        self.timings: dict[str, float] = dict.fromkeys(PHASES, 0.0)
        self.timings["calls"] = 0
        self._bar: RunProgress | None = None
        self._step_fn = tf.function(self._one_step)
        self._run_steps = tf.function(self._run_steps_py)
        self._eval_replica = tf.function(self._eval_replica_py, jit_compile=self.config.jit_compile)
        self._eval_step = tf.function(self._eval_step_py)

    def _check_scope(self, name: str, variables: list[tf.Variable]) -> None:
        extended = self.strategy.extended
        foreign = [
            v.name
            for v in variables
            if not extended.variable_created_in_scope(getattr(v, "value", v))
        ]
        if foreign:
            raise ValueError(
                f"Variables of objective {name!r} were not created under this strategy's scope "
                f"({foreign[:3]}...): build the models inside `with strategy.scope():`."
            )

    # ----------------------------------------------------------------- compiled parts
    def _one_step(self, iterator):
        """One optimizer step of every objective on the next global batch."""
        batch = next(iterator)
        # count the step only once its batch exists (so running out of data names the step)
        with tf.control_dependencies(tf.nest.flatten(batch)):
            self.step.assign_add(1)
        examples = tf.cast(batch_size(batch), tf.float32)
        out: dict[str, tuple[tf.Tensor, tf.Tensor]] = {}
        for index, update in enumerate(self._updates):
            values, finite = update(batch, self._bad_step < 0)
            first_bad = tf.logical_and(tf.logical_not(finite), self._bad_step < 0)
            bad_index = tf.constant(index, tf.int64)
            self._bad_objective.assign(tf.where(first_bad, bad_index, self._bad_objective))
            self._bad_step.assign(tf.where(first_bad, self.step, self._bad_step))
            for name, value in values.items():
                if name in out:
                    raise ValueError(f"Two objectives report a value named {name!r}: rename one.")
                out[name] = value
        return out, examples

    def _run_steps_py(self, iterator, num_steps: tf.Tensor):
        # The first step runs before the loop (its values start the sums). Both calls go to
        # one tf.function, so the step is traced once, not twice (measured: a quarter less
        # tracing CPU time for chapter 06's GPT; benchmarks/training_time_breakdown.py).
        values, examples = self._step_fn(iterator)
        for _ in tf.range(num_steps - 1):
            step_values, step_examples = self._step_fn(iterator)
            values = tf.nest.map_structure(tf.add, values, step_values)
            examples += step_examples
        return values, examples, self.step.read_value(), self._bad_step.read_value()

    def _eval_replica_py(self, batch: Batch):
        local = replica_slice(batch)
        return sums_and_counts(self.task.evaluate(local), batch_size(local))

    def _eval_step_py(self, batch: Batch):
        per_replica = self.strategy.run(self._eval_replica, args=(batch,))
        return tf.nest.map_structure(
            lambda v: self.strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None), per_replica
        )

    # ----------------------------------------------------------------- public API
    def evaluate(self, data: tf.data.Dataset) -> dict[str, float]:
        """Every validation value over one pass of ``data``: ``total sum / total count``.

        A per-example value ``(B,)`` gives the mean over examples, a ``(sum, count)`` value
        (e.g. summed token losses and the number of tokens) the mean over what it counts;
        both exact across batches of unequal size and across replicas.
        """
        check_dataset("data", data)
        if int(data.cardinality().numpy()) == tf.data.INFINITE_CARDINALITY:
            raise ValueError(
                "evaluate() got a dataset that repeats forever: pass one pass of the "
                "validation data (no .repeat()), or .take(n) batches of it"
            )
        totals: dict[str, list[float]] = {}
        batches = 0
        for batch in data:
            batches += 1
            for name, (total, count) in self._eval_step(batch).items():
                previous = totals.setdefault(name, [0.0, 0.0])
                previous[0] += float(total)
                previous[1] += float(count)
        if not batches:
            raise ValueError("The validation data is empty: it yielded no batch.")
        empty = [name for name, (_, count) in totals.items() if not count]
        if empty:
            raise ValueError(f"Validation values {empty} have a total count of 0.")
        return {name: total / count for name, (total, count) in totals.items()}

    def fit(
        self,
        train: tf.data.Dataset,
        val: tf.data.Dataset | None = None,
        *,
        steps: int | None = None,
        epochs: int | None = None,
        callbacks: Sequence[Callback] = (),
    ) -> History:
        """Train until the run has taken ``steps`` steps (or ``epochs`` passes) in total.

        ``steps`` / ``epochs`` override ``config.steps`` / ``config.epochs`` for this call
        (give at most one); with none of the four, the run is one epoch. Resumes from the
        newest checkpoint when ``config.resume`` and one exists. ``callbacks`` are called
        as ``callback(trainer, record)`` after every record. Ctrl-C (or a callback raising
        ``KeyboardInterrupt``) saves a checkpoint and returns. Returns the
        :class:`History`, whose ``stop_reason`` says why training ended.
        """
        check_dataset("train", train)
        if val is not None:
            check_validation_data(val)
        callbacks = self._check_callbacks(callbacks)
        plan = plan_run(self.config, train, steps, epochs)
        rule = self.config.early_stopping
        if rule is not None and rule.split == "val" and val is None:
            raise ValueError(
                f"EarlyStopping monitors {rule.monitor!r}, a validation value, but fit() got "
                "no validation data: pass val=..., or monitor a training value such as 'loss'"
            )
        self._bind(train)
        progress = self.config.progress or ("bar" if progress_enabled() else "none")
        self.history.stop_reason = ""
        self.history.message = ""
        start = self._current_step()
        self._bar = RunProgress(plan.total_steps, start) if progress == "bar" else None
        try:
            while True:
                step = self._current_step()
                if step >= plan.total_steps:
                    return self._finish("completed", f"ran {plan.total_steps} steps")
                end = plan.record_end(step)
                if self._train_interval(end, plan) is IntervalEnd.NON_FINITE:
                    return self._finish("non-finite", self._recover_from_nonfinite())
                with self._timed("validation"):
                    record = self._close_record(plan, val)
                self.history.records.append(record)
                if progress != "none":
                    self._print(format_record(record))
                reason = self._stopper.update(record) if self._stopper is not None else ""
                due = self.config.checkpoint_every is None or end % plan.checkpoint_every == 0
                if due or reason or end == plan.total_steps:
                    self._save()
                with self._timed("callbacks"):
                    for callback in callbacks:
                        callback(self, record)
                if reason:
                    return self._finish("early_stopping", reason)
        except KeyboardInterrupt:
            where = self._save()
            step = self._current_step()
            if where:
                message = (
                    f"interrupted at step {step}; checkpoint saved in {where}: "
                    "call fit() again to resume"
                )
            else:
                message = f"interrupted at step {step} (no checkpoint_dir, so nothing was saved)"
            self._print(message)
            return self._finish("interrupted", message)
        finally:
            if self._bar is not None:  # an error ended the run: end the bar's line
                self._bar.close()
                self._bar = None

    # ----------------------------------------------------------------- checks and plan
    @staticmethod
    def _check_callbacks(callbacks: Sequence[Callback]) -> list[Callback]:
        if callable(callbacks) or isinstance(callbacks, (str, bytes)):
            raise TypeError("callbacks must be a list of functions, e.g. callbacks=[my_callback]")
        callbacks = list(callbacks)
        for callback in callbacks:
            if not callable(callback):
                raise TypeError(
                    "every callback must be callable as callback(trainer, record), got "
                    f"{type(callback).__name__}"
                )
        return callbacks

    # ----------------------------------------------------------------- state
    def _bind(self, train: tf.data.Dataset) -> None:
        """Attach the data iterator, the checkpoint and early-stopping state on the first fit."""
        if self._dataset is not None:
            if train is not self._dataset:
                raise ValueError(
                    "This Trainer is bound to the dataset of its first fit(); create a new "
                    "Trainer (it can resume from the same checkpoint_dir)."
                )
            return
        infinite = int(train.cardinality().numpy()) == tf.data.INFINITE_CARDINALITY
        self._iterator = iter(train if infinite else train.repeat())
        self._dataset = train
        cfg = self.config
        if cfg.early_stopping is not None:
            self._stopper = EarlyStopper(cfg.early_stopping, self.task.model_variables())
        if cfg.checkpoint_dir is None:
            return
        objects = {"step": self.step, "iterator": self._iterator}
        for name, model in self.task.models.items():
            objects[f"model_{name}"] = model
        for objective, optimizer in zip(self.task.objectives, self.optimizers, strict=True):
            objects[f"optimizer_{objective.name}"] = optimizer
        for name, trackable in self.task.trackables.items():
            objects[f"extra_{name}"] = trackable
        self._checkpointer = Checkpointer(
            cfg.checkpoint_dir, objects, cfg.keep_checkpoints, self.strategy
        )
        if cfg.resume:
            self._restore()

    def _restore(self) -> str | None:
        restored = self._checkpointer.restore()
        if restored is None:
            return None
        state = restored.state
        if "history" in state:
            self.history = History.from_dict(state["history"])
        self._interval = IntervalSums.from_state(state.get("interval"))
        if self._stopper is not None and state.get("early_stopping"):
            best = restored.arrays.get("best_weights")
            self._stopper.load_state(state["early_stopping"], best)
        self._saved_step = restored.step
        self._print(f"resumed from {restored.path} (step {restored.step})")
        return restored.path

    def _save(self) -> str | None:
        """Checkpoint the current step (once per step); return its path, or ``None``."""
        if self._checkpointer is None:
            return None
        step = self._current_step()
        if step == self._saved_step:
            return self._checkpointer.latest
        state = {
            "step": step,
            "history": self.history.to_dict(),
            "interval": self._interval.state(),
            "early_stopping": None if self._stopper is None else self._stopper.state(),
        }
        arrays = {}
        if self._stopper is not None and self._stopper.best_weights is not None:
            arrays["best_weights"] = self._stopper.best_weights
        with self._timed("checkpoints"):
            path = self._checkpointer.save(step, state, arrays)
        self._saved_step = step
        return path

    def _finish(self, reason: str, message: str) -> History:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        self.history.stop_reason = reason
        self.history.message = message
        if self._checkpointer is not None:
            self._checkpointer.write_json("history.json", self.history.to_dict())
        return self.history

    def _current_step(self) -> int:
        return int(self.step.numpy())

    @contextlib.contextmanager
    def _timed(self, phase: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self.timings[phase] += time.perf_counter() - began

    def _print(self, line: str) -> None:
        """A line of output; with a bar, printed above it without breaking it."""
        if self._bar is not None:
            self._bar.write(line)
        else:
            print(line, flush=True)

    # ----------------------------------------------------------------- the inner loop
    def _train_interval(self, end: int, plan: RunPlan) -> IntervalEnd:
        """Run compiled calls until the global step is ``end``; say how it ended."""
        every = plan.checkpoint_every
        step = self._current_step()
        while step < end:
            n = min(self.config.steps_per_execution, end - step)
            if every is not None:
                n = min(n, every - step % every)
            began = time.perf_counter()
            # The first call traces and optimises the step; grappler may log a known, harmless
            # refused fusion then (runtime.quiet.GRAPH_NOISE), dropped like the start-up lines.
            first = self.timings["calls"] == 0
            try:
                with quiet_stderr(KNOWN_NOISE + GRAPH_NOISE, enabled=None if first else False):
                    values, examples, step_now, bad = self._run_steps(
                        self._iterator, tf.constant(n, tf.int64)
                    )
                # one host round-trip for everything the loop reads after a call
                values, examples, step_now, bad = tf.nest.map_structure(
                    np.asarray, (values, examples, step_now, bad)
                )
            except tf.errors.OutOfRangeError:
                raise ValueError(
                    f"The training data ran out at step {self._current_step() + 1}: the "
                    f"dataset ({self._dataset.element_spec}) yielded no further batch although "
                    "the loop repeats it, so it is empty (a filter that keeps nothing? an empty "
                    "file?) or declares a length it does not have"
                ) from None
            seconds = time.perf_counter() - began
            phase = "first_call" if not self.timings["calls"] else "steps"
            self.timings[phase] += seconds
            self.timings["calls"] += 1
            if int(bad) >= 0:
                return IntervalEnd.NON_FINITE
            floats = {k: (float(v[0]), float(v[1])) for k, v in values.items()}
            self._interval.add(floats, float(examples), seconds)
            step = int(step_now)
            means = {k: mean_from_sum(total, count) for k, (total, count) in floats.items()}
            self.history.points.append((step, means))
            if self._bar is not None:
                self._bar.update(step, means)
            if every is not None and step % every == 0 and step < end:
                self._save()
        return IntervalEnd.REACHED

    def _close_record(self, plan: RunPlan, val: tf.data.Dataset | None) -> Record:
        """The record at the current step; starts the next interval's sums."""
        interval = self._interval
        step = self._current_step()
        seconds = interval.seconds
        record = Record(
            step=step,
            epoch=plan.epoch(step),
            train=interval.means(),
            val={} if val is None else self.evaluate(val),
            examples_per_sec=interval.examples / seconds if seconds else math.nan,
            seconds=seconds,
        )
        self._interval = IntervalSums()
        return record

    def _recover_from_nonfinite(self) -> str:
        """After the NaN guard fired: step counter and message (restores if needed)."""
        bad = int(self._bad_step.numpy())
        name = self.task.objectives[int(self._bad_objective.numpy())].name
        self.step.assign(bad - 1)
        self._bad_step.assign(-1)
        message = (
            f"non-finite {name!r} (loss or gradient) at step {bad}: training stopped; no update "
            f"from step {bad} on was applied, so the weights are those after step {bad - 1}"
        )
        variables = self.task.model_variables()
        if not all(np.all(np.isfinite(v.numpy())) for v in variables):
            where = self._restore() if self._checkpointer is not None else None
            if where:
                message += (
                    "; non-trainable state (e.g. batch-norm statistics) was not finite, so the "
                    f"last checkpoint ({where}) was restored"
                )
            else:
                message += (
                    "; WARNING: some non-trainable variables are not finite and there is no "
                    "checkpoint to restore"
                )
        self._print(message)
        return message


def _with_loss_scaling(
    optimizer: keras.optimizers.Optimizer, scale: bool
) -> keras.optimizers.Optimizer:
    if scale and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


class RunProgress:
    """One progress bar over a whole run, on stdout: steps done, rate and time left.

    The bar counts global steps from ``start`` (a resumed run starts where it stopped) to
    ``total`` (:attr:`RunPlan.total_steps`), e.g.::

        step  340/1200 [======>.................]  28%  11.3 steps/s, about 1 min 16 s left

    The rate, and so the time left, is measured from the end of the first update on: the
    first compiled call (tracing, XLA compilation) does not recur, while validation,
    checkpoints and callbacks between the updates do, so they are included. :meth:`write`
    prints a line (a record) above the bar and draws the bar again below it. The bar is
    redrawn at most every ``min_interval`` seconds, and always at the last step.
    """

    def __init__(
        self, total: int, start: int = 0, *, width: int = 24, min_interval: float = 0.5
    ) -> None:
        self.total = int(total)
        self.start = int(start)
        self.current = int(start)
        self.values: dict[str, float] = {}
        self.width = width
        self.min_interval = min_interval
        self._began = time.perf_counter()
        self._rate_from: tuple[float, int] | None = None  # (time, step) after the first update
        self._first = (0.0, 0)  # (seconds, steps) of the first update
        self._last_draw = -math.inf
        self._drawn = 0  # characters of the bar on the current line (0: no bar drawn)

    def update(self, step: int, values: dict[str, float] | None = None) -> None:
        """The run is at global step ``step``; ``values``: the latest training means."""
        now = time.perf_counter()
        if self._rate_from is None:
            self._rate_from = (now, int(step))
            # steps of the first update over its time: an estimate until the second update
            self._first = (now - self._began, int(step) - self.current)
        self.current = int(step)
        if values is not None:
            self.values = dict(values)
        if now - self._last_draw >= self.min_interval or self.current >= self.total:
            self._draw(now)

    def rate(self, now: float | None = None) -> float | None:
        """Steps per second since the first update (``None`` before any estimate)."""
        if self._rate_from is None:
            return None
        now = time.perf_counter() if now is None else now
        began, step = self._rate_from
        if self.current > step and now > began:
            return (self.current - step) / (now - began)
        seconds, steps = self._first
        return steps / seconds if steps > 0 and seconds > 0 else None

    def seconds_left(self, now: float | None = None) -> float | None:
        """Estimated seconds until step ``total`` (``None`` before any estimate)."""
        rate = self.rate(now)
        if rate is None:
            return None
        return max(self.total - self.current, 0) / rate

    def line(self, now: float | None = None) -> str:
        """The bar as one line of text (without a line end)."""
        now = time.perf_counter() if now is None else now
        digits = len(str(self.total))
        fraction = min(max(self.current / self.total, 0.0), 1.0) if self.total else 1.0
        filled = int(self.width * fraction)
        arrow = ">" if 0 < filled < self.width else ""
        bar = ("=" * filled + arrow).ljust(self.width, ".")[: self.width]
        parts = [f"step {self.current:>{digits}d}/{self.total} [{bar}] {fraction:4.0%}"]
        rate = self.rate(now)
        if self.current >= self.total:
            parts.append(f"done in {format_seconds(now - self._began)}")
        elif rate is not None:
            left = format_seconds(self.seconds_left(now))
            parts.append(f"{rate:.3g} steps/s, about {left} left")
        parts += [f"{k} {v:.4f}" for k, v in list(self.values.items())[:2]]
        return "  ".join(parts)

    def _draw(self, now: float) -> None:
        text = self.line(now)
        sys.stdout.write("\r" + text.ljust(self._drawn))
        sys.stdout.flush()
        self._drawn = len(text)
        self._last_draw = now

    def write(self, line: str) -> None:
        """Print ``line`` on its own line where the bar was, then draw the bar below it."""
        if self._drawn:
            sys.stdout.write("\r" + line.ljust(self._drawn) + "\n")
            self._drawn = 0
            self._draw(time.perf_counter())
        else:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def close(self) -> None:
        """Draw the bar a last time and end its line."""
        if self._rate_from is None and not self._drawn:
            return
        self._draw(time.perf_counter())
        sys.stdout.write("\n")
        sys.stdout.flush()
        self._drawn = 0
