"""One objective's update, the same on one device and on many replicas.

For an objective with per-example losses ``l_i`` on a global batch of ``N`` examples split
over ``R`` replicas (replica ``r`` holds the examples ``S_r``), the update is the gradient of
the *global mean*

.. math:: L(\\theta) = \\frac1N \\sum_{i=1}^{N} \\ell_i(\\theta), \\qquad
          g = \\nabla_\\theta L = \\sum_{r=1}^{R} g_r, \\quad
          g_r = \\nabla_\\theta \\frac1N \\sum_{i \\in S_r} \\ell_i(\\theta),

computed in three stages:

1. each replica computes ``g_r`` (the gradient of its *sum* divided by the *global* ``N``),
   densifying sparse ``tf.IndexedSlices`` (embedding gradients) to dense tensors ``(V, d)``;
2. one all-reduce (``ReplicaContext.all_reduce(SUM)``) gives every replica the same ``g``;
3. every replica hands the identical ``g`` to the optimizer, which clips it once (its own
   ``clipnorm`` / ``global_clipnorm`` now see the global gradient) and applies it to its
   copy of the variables, so all copies stay equal and equal to a one-device run.

Keras 3's TensorFlow optimizer sums the gradients over replicas itself when ``apply`` runs in
a replica context (``TFOptimizer._all_reduce_sum_gradients``), *after* clipping each
replica's part. Called with the already reduced ``g``, that would clip per replica and then
add ``R`` copies. :func:`without_optimizer_all_reduce` switches that second sum off for the
duration of the call, so the all-reduce of stage 2 is the only one. Under
``MultiWorkerMirroredStrategy`` the all-reduce of stage 2 is a collective over every replica
of every worker, so the same holds across machines.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import keras
import tensorflow as tf

from course_lib.training.replicas import batch_size, replica_slice, sum_and_count, sums_and_counts
from course_lib.training.task import Batch, Objective, split_loss_output

_REDUCE_METHOD = "_all_reduce_sum_gradients"


def _keep_as_reduced(grads_and_vars):
    return list(grads_and_vars)


@contextlib.contextmanager
def without_optimizer_all_reduce(optimizer: keras.optimizers.Optimizer) -> Iterator[None]:
    """Within the block, ``optimizer.apply`` in a replica context does not sum over replicas.

    Use it only around gradients that are already the global sum (identical on every
    replica). It applies to a ``LossScaleOptimizer``'s inner optimizer too. The switch is an
    instance attribute set and removed in the calling thread, so wrap the ``strategy.run``
    call (not code inside the replica function, which runs in one thread per replica).
    """
    targets = [optimizer]
    inner = getattr(optimizer, "inner_optimizer", None)
    if inner is not None:
        targets.append(inner)
    for target in targets:
        if not hasattr(type(target), _REDUCE_METHOD):
            raise RuntimeError(
                f"{type(target).__name__} has no {_REDUCE_METHOD}: this Keras version sums "
                "gradients over replicas differently; course_lib.training.update must be "
                "adapted (see its module docstring)"
            )
    try:
        for target in targets:
            object.__setattr__(target, _REDUCE_METHOD, _keep_as_reduced)
        yield
    finally:
        for target in targets:
            target.__dict__.pop(_REDUCE_METHOD, None)


class ObjectiveUpdate:
    """One :class:`~course_lib.training.task.Objective`'s gradient step under a strategy.

    Args:
        objective: what to minimise (per-example losses ``(B,)``).
        optimizer: its optimizer (possibly wrapped in a ``LossScaleOptimizer``).
        variables: the variables it updates.
        strategy: the ``tf.distribute`` strategy the variables were created under.
        jit_compile: compile each replica's gradient computation with XLA.
    """

    def __init__(
        self,
        objective: Objective,
        optimizer: keras.optimizers.Optimizer,
        variables: Sequence[tf.Variable],
        strategy: tf.distribute.Strategy,
        jit_compile: bool,
    ) -> None:
        self.objective = objective
        self.optimizer = optimizer
        self.variables = list(variables)
        self.strategy = strategy
        self.scaled = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        self._local_gradients = tf.function(self._local_gradients_py, jit_compile=jit_compile)

    def _local_gradients_py(self, batch: Batch):
        """Replica context: ``g_r`` (dense) and this replica's values as (sum, count)."""
        objective = self.objective
        n_global = tf.cast(batch_size(batch), tf.float32)
        local = replica_slice(batch)
        n_local = batch_size(local)
        with tf.GradientTape() as tape:
            output = objective.loss_fn(local, True)
            loss, metrics = split_loss_output(output, objective.name)
            loss_sum = tf.reduce_sum(tf.cast(loss, tf.float32))
            target = loss_sum / n_global
            if self.scaled:
                target = self.optimizer.scale_loss(target)
        grads = tape.gradient(target, self.variables)
        missing = [v.name for v, g in zip(self.variables, grads, strict=True) if g is None]
        if missing:
            raise ValueError(
                f"Objective {objective.name!r}: no gradient reaches {missing}. "
                "Does its loss depend on these variables?"
            )
        dense = [tf.convert_to_tensor(g) for g in grads]
        values = {objective.name: sum_and_count(objective.name, loss, n_local)}
        for name, value in sums_and_counts(metrics, n_local).items():
            if name in values:
                raise ValueError(
                    f"Objective {objective.name!r} reports a metric with its own name {name!r}"
                )
            values[name] = value
        return values, dense

    def _replica_gradients(self, batch: Batch):
        """Replica context: the global gradient ``g`` and values, after one all-reduce."""
        values, grads = self._local_gradients(batch)
        ctx = tf.distribute.get_replica_context()
        grads, values = ctx.all_reduce(tf.distribute.ReduceOp.SUM, (grads, values))
        finite = tf.math.is_finite(values[self.objective.name][0])
        if not self.scaled:
            # under loss scaling, overflowing gradients are the LossScaleOptimizer's job
            grads_finite = [tf.reduce_all(tf.math.is_finite(g)) for g in grads]
            finite = tf.logical_and(finite, tf.reduce_all(grads_finite))
        return values, grads, finite

    def _replica_apply(self, grads: list[tf.Tensor]) -> None:
        self.optimizer.apply(grads, self.variables)

    def __call__(self, batch: Batch, allowed: tf.Tensor):
        """Cross-replica context (inside a ``tf.function``): one step on a global batch.

        Computes the global gradient and applies it if it is finite and ``allowed``.
        Returns ``(values, finite)``: ``{name: (sum, count)}`` over the global batch, and
        whether the loss (and, without loss scaling, the gradient) was finite.
        """
        values, grads, finite = self.strategy.run(self._replica_gradients, args=(batch,))
        # after the all-reduce every replica holds the same values: read the first one
        finite = self.strategy.experimental_local_results(finite)[0]
        values = tf.nest.map_structure(
            lambda v: self.strategy.experimental_local_results(v)[0], values
        )

        def apply() -> tf.Tensor:
            with without_optimizer_all_reduce(self.optimizer):
                self.strategy.run(self._replica_apply, args=(grads,))
            return tf.constant(True)

        def skip() -> tf.Tensor:
            return tf.constant(False)

        tf.cond(tf.logical_and(finite, allowed), apply, skip)
        return values, finite
