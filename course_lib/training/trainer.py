"""The one training loop of the course.

A model describes *what* to minimise as a :class:`~course_lib.training.task.Task`; the
:class:`Trainer` owns *how*:

* compiled steps: ``steps_per_execution`` steps inside one ``tf.function``; the
  per-replica gradient computation optionally compiled by XLA (``jit_compile=True``);
* ``tf.distribute``: each global batch is split across the replicas, every replica
  divides its *sum* of per-example losses by the *global* batch size ``N`` and the
  optimizer sums gradients over replicas, so the update is the gradient of the global mean;
* loss scaling under the ``mixed_float16`` policy (``keras.optimizers.LossScaleOptimizer``);
* a NaN/Inf guard: a step whose loss (or gradient) is not finite is not applied, nor is any
  later step; the run stops naming the step, with the weights of the last good step;
* checkpoints (model, optimizer, step counter, data-iterator position, history) every N
  steps and/or epochs, and exact resume from the newest one;
* history with throughput, early stopping, a progress bar or silence, per profile.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from course_lib.runtime import get_profile
from course_lib.training.checkpointing import RunState
from course_lib.training.config import TrainConfig
from course_lib.training.history import EpochRecord, History
from course_lib.training.replicas import batch_size, replica_slice, sums_over_examples
from course_lib.training.task import Batch, Task, split_loss_output

Callback = Callable[["Trainer", EpochRecord], None]
_EXAMPLES = "examples"


class Trainer:
    """Trains a :class:`Task` under a ``tf.distribute`` strategy.

    Create the models and optimizers inside ``strategy.scope()``, then::

        trainer = Trainer(task, TrainConfig(epochs=3, checkpoint_dir=paths.run_dir("mlp")))
        history = trainer.fit(train_ds, val_ds)

    ``train_ds`` yields *global* batches (tensors or tuples/dicts of them); ``fit`` again, or
    a new process with the same ``checkpoint_dir``, continues the run."""

    def __init__(
        self,
        task: Task,
        config: TrainConfig | None = None,
        strategy: tf.distribute.Strategy | None = None,
    ) -> None:
        self.task = task
        self.config = config or TrainConfig()
        self.strategy = strategy or tf.distribute.get_strategy()
        self.history = History()
        scale = keras.mixed_precision.global_policy().name == "mixed_float16"
        with self.strategy.scope():
            self.optimizers = [
                keras.optimizers.LossScaleOptimizer(o.optimizer)
                if scale and not isinstance(o.optimizer, keras.optimizers.LossScaleOptimizer)
                else o.optimizer
                for o in task.objectives
            ]
            self.variables = [o.trainable_variables() for o in task.objectives]
            for objective, variables in zip(task.objectives, self.variables):
                foreign = [
                    v.name
                    for v in variables
                    if not self.strategy.extended.variable_created_in_scope(getattr(v, "value", v))
                ]
                if foreign:
                    raise ValueError(
                        f"Variables of objective {objective.name!r} were not created under this "
                        f"strategy's scope ({foreign[:3]}...): build the models inside "
                        "`with strategy.scope():`."
                    )
            for optimizer, variables in zip(self.optimizers, self.variables):
                if not optimizer.built:
                    optimizer.build(variables)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
            self._bad_step = tf.Variable(-1, dtype=tf.int64, trainable=False, name="bad_step")
            self._bad_objective = tf.Variable(
                -1, dtype=tf.int64, trainable=False, name="bad_objective"
            )
        self._state: RunState | None = None
        self._dataset: tf.data.Dataset | None = None
        self._grad_fns = [self._make_grad_fn(i) for i in range(len(task.objectives))]
        self._run_steps = tf.function(self._run_steps_py)
        self._eval_replica = tf.function(self._eval_replica_py, jit_compile=self.config.jit_compile)
        self._eval_step = tf.function(self._eval_step_py)

    # ----------------------------------------------------------------- compiled parts
    def _make_grad_fn(self, i: int) -> Callable:
        objective, optimizer, variables = (
            self.task.objectives[i],
            self.optimizers[i],
            self.variables[i],
        )
        scaled = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)

        def grads_fn(batch: Batch):
            n_global = tf.cast(batch_size(batch), tf.float32)
            local = replica_slice(batch)
            with tf.GradientTape() as tape:
                loss, metrics = split_loss_output(objective.loss_fn(local, True), objective.name)
                loss_sum = tf.reduce_sum(tf.cast(loss, tf.float32))
                target = loss_sum / n_global
                if scaled:
                    target = optimizer.scale_loss(target)
            grads = tape.gradient(target, variables)
            missing = [v.name for v, g in zip(variables, grads) if g is None]
            if missing:
                raise ValueError(
                    f"Objective {objective.name!r}: no gradient reaches {missing}. "
                    "Does its loss depend on these variables?"
                )
            finite = tf.math.is_finite(loss_sum)
            if not scaled:  # under loss scaling, overflowing gradients are the optimizer's job
                finite = tf.logical_and(
                    finite, tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in grads])
                )
            sums = {objective.name: loss_sum, **sums_over_examples(metrics, batch_size(local))}
            return sums, grads, 1.0 - tf.cast(finite, tf.float32)

        return tf.function(grads_fn, jit_compile=self.config.jit_compile)

    def _one_step(self, iterator) -> dict[str, tf.Tensor]:
        batch = next(iterator)
        self.step.assign_add(1)
        out = {_EXAMPLES: tf.cast(batch_size(batch), tf.float32)}
        for i, (optimizer, variables) in enumerate(zip(self.optimizers, self.variables)):
            sums, grads, nonfinite = self.strategy.run(self._grad_fns[i], args=(batch,))
            nonfinite = self.strategy.reduce(
                "SUM", nonfinite, axis=None
            )  # replicas that saw NaN/Inf
            ok = tf.logical_and(nonfinite < 0.5, self._bad_step < 0)

            def apply(grads=grads, optimizer=optimizer, variables=variables):
                self.strategy.run(lambda g: optimizer.apply(g, variables), args=(grads,))
                return tf.constant(True)

            def skip(i=i):
                first = self._bad_step < 0
                self._bad_objective.assign(
                    tf.where(first, tf.constant(i, tf.int64), self._bad_objective)
                )
                self._bad_step.assign(tf.where(first, self.step, self._bad_step))
                return tf.constant(False)

            tf.cond(ok, apply, skip)
            for name, value in sums.items():
                if name in out:
                    raise ValueError(f"Two objectives report a value named {name!r}: rename one.")
                out[name] = self.strategy.reduce("SUM", value, axis=None)
        return out

    def _run_steps_py(self, iterator, num_steps: tf.Tensor) -> dict[str, tf.Tensor]:
        acc = self._one_step(iterator)
        for _ in tf.range(num_steps - 1):
            step_out = self._one_step(iterator)
            acc = {k: acc[k] + step_out[k] for k in acc}
        return acc

    def _eval_replica_py(self, batch: Batch) -> dict[str, tf.Tensor]:
        local = replica_slice(batch)
        return sums_over_examples(self.task.evaluate(local), batch_size(local))

    def _eval_step_py(self, batch: Batch) -> dict[str, tf.Tensor]:
        sums = self.strategy.run(self._eval_replica, args=(batch,))
        out = {k: self.strategy.reduce("SUM", v, axis=None) for k, v in sums.items()}
        out[_EXAMPLES] = tf.cast(batch_size(batch), tf.float32)
        return out

    # ----------------------------------------------------------------- public API
    def evaluate(self, data: tf.data.Dataset) -> dict[str, float]:
        """Mean of every validation value over all examples of ``data`` (one pass)."""
        totals: dict[str, float] = {}
        for batch in data:
            for k, v in self._eval_step(batch).items():
                totals[k] = totals.get(k, 0.0) + float(v)
        if not totals.get(_EXAMPLES):
            raise ValueError("Validation data is empty.")
        n = totals.pop(_EXAMPLES)
        return {k: v / n for k, v in totals.items()}

    def fit(
        self,
        train_data: tf.data.Dataset,
        val_data: tf.data.Dataset | None = None,
        *,
        epochs: int | None = None,
        callbacks: Sequence[Callback] = (),
    ) -> History:
        """Train until ``epochs`` (default ``config.epochs``) epochs have run in total.

        Resumes from the newest checkpoint when ``config.resume`` and one exists. Returns
        the :class:`History`, whose ``stop_reason`` says why training ended. Ctrl-C (or a
        callback raising ``KeyboardInterrupt``) saves a checkpoint and returns cleanly.
        """
        cfg = self.config
        total_epochs = int(epochs if epochs is not None else cfg.epochs)
        steps_per_epoch = self._steps_per_epoch(train_data)
        state = self._bind(train_data)
        progress = cfg.progress or ("bar" if get_profile().show_progress else "none")
        self.history.stop_reason, self.history.message = "", ""
        try:
            while True:
                step = int(self.step.numpy())
                epoch, in_epoch = divmod(step, steps_per_epoch)
                if epoch >= total_epochs:
                    return self._finish("completed", "")
                if cfg.max_steps is not None and step >= cfg.max_steps:
                    return self._finish("max_steps", f"reached max_steps={cfg.max_steps}")
                record = self._train_epoch(state, epoch, in_epoch, steps_per_epoch, progress)
                if record is None:  # the NaN guard fired, or max_steps cut the epoch short
                    if self.history.stop_reason == "non-finite":
                        return self.history
                    state.save(self, partial=state.take_partial_epoch(keep=True))
                    continue
                if val_data is not None:
                    record.val = self.evaluate(val_data)
                self.history.epochs.append(record)
                if progress == "epoch" or (progress == "bar" and record.val):
                    print(self.history.summary().splitlines()[-1], flush=True)
                stop = state.early_stopping_update(self, record)
                every, every_steps = cfg.checkpoint_every_epochs, cfg.checkpoint_every_steps
                if (
                    every and (record.epoch % every == 0 or stop or record.epoch == total_epochs)
                ) or (every_steps and record.step % every_steps == 0):
                    state.save(self)
                for callback in callbacks:
                    callback(self, record)
                if stop:
                    return self._finish("early_stopping", stop)
        except KeyboardInterrupt:
            where = state.save(self) if state.enabled else None
            msg = f"interrupted at step {int(self.step.numpy())}" + (
                f"; checkpoint saved in {where}: call fit() again to resume"
                if where
                else " (no checkpoint_dir, so nothing was saved)"
            )
            print(msg, flush=True)
            return self._finish("interrupted", msg)

    def _finish(self, reason: str, message: str) -> History:
        self.history.stop_reason, self.history.message = reason, message
        if self._state is not None:  # writes history.json when checkpoints are on
            self._state.save_history(self)
        return self.history

    def _steps_per_epoch(self, data: tf.data.Dataset) -> int:  # helpers from here on
        if self.config.steps_per_epoch:
            return int(self.config.steps_per_epoch)
        n = int(data.cardinality().numpy())
        if n <= 0:
            raise ValueError(
                "The training data has no known finite length (it repeats, or is "
                "filtered): set TrainConfig.steps_per_epoch."
            )
        return n

    def _bind(self, data: tf.data.Dataset) -> RunState:
        """Attach the data iterator and the checkpoint state on the first ``fit``."""
        if self._state is None:
            if not isinstance(data, tf.data.Dataset):
                raise TypeError(
                    f"train_data must be a tf.data.Dataset of batches, got {type(data).__name__}"
                )
            infinite = data.cardinality().numpy() == tf.data.INFINITE_CARDINALITY
            iterator = iter(data if infinite else data.repeat())
            self._dataset = data
            self._state = RunState(self, iterator)
            self._state.restore_latest(self)
        elif data is not self._dataset:
            raise ValueError(
                "This Trainer is bound to the dataset of its first fit(); "
                "create a new Trainer (it can resume from the same checkpoint_dir)."
            )
        return self._state

    def _train_epoch(
        self, state: RunState, epoch: int, in_epoch: int, steps_per_epoch: int, progress: str
    ) -> EpochRecord | None:
        cfg = self.config
        bar = keras.utils.Progbar(steps_per_epoch, verbose=1) if progress == "bar" else None
        totals, seconds = state.take_partial_epoch()
        while in_epoch < steps_per_epoch:
            step = int(self.step.numpy())
            limits = [cfg.steps_per_execution, steps_per_epoch - in_epoch]
            if cfg.max_steps is not None:
                if step >= cfg.max_steps:  # keep the unfinished epoch's sums for a resume
                    state.keep_partial_epoch(totals, seconds)
                    return None
                limits.append(cfg.max_steps - step)
            if cfg.checkpoint_every_steps:
                limits.append(cfg.checkpoint_every_steps - step % cfg.checkpoint_every_steps)
            n = min(limits)
            start = time.perf_counter()
            out = {
                k: float(v)
                for k, v in self._run_steps(state.iterator, tf.constant(n, tf.int64)).items()
            }
            seconds += time.perf_counter() - start
            in_epoch += n
            if int(self._bad_step.numpy()) >= 0:
                self._handle_nonfinite(state)
                return None
            for k, v in out.items():
                totals[k] = totals.get(k, 0.0) + v
            means = {k: v / out[_EXAMPLES] for k, v in out.items() if k != _EXAMPLES}
            self.history.points.append((int(self.step.numpy()), means))
            if bar is not None:
                bar.update(in_epoch, values=list(means.items()))
            every = cfg.checkpoint_every_steps  # at an epoch's end, fit() saves instead
            if every and int(self.step.numpy()) % every == 0 and in_epoch < steps_per_epoch:
                state.save(self, partial=(totals, seconds))
        n_examples = totals.pop(_EXAMPLES, 0.0)
        train = {k: v / n_examples for k, v in totals.items()} if n_examples else {}
        return EpochRecord(
            epoch=epoch + 1,
            step=int(self.step.numpy()),
            train=train,
            val={},
            examples_per_sec=n_examples / seconds if seconds else math.nan,
            seconds=seconds,
        )

    def _handle_nonfinite(self, state: RunState) -> None:
        bad = int(self._bad_step.numpy())
        name = self.task.objectives[int(self._bad_objective.numpy())].name
        self.step.assign(bad - 1)
        self._bad_step.assign(-1)
        msg = (
            f"non-finite {name!r} (loss or gradient) at step {bad}: training stopped; no update "
            f"from step {bad} on was applied, so the weights are those after step {bad - 1}"
        )
        if not all(np.all(np.isfinite(v.numpy())) for v in self.task.model_variables()):
            where = state.restore_latest(self, force=True)
            msg += (
                f"; non-trainable state (e.g. batch-norm statistics) was not finite, so the last "
                f"checkpoint ({where}) was restored"
                if where
                else "; WARNING: some non-trainable variables are not finite and there is no checkpoint"
            )
        print(msg, flush=True)
        self._finish("non-finite", msg)
