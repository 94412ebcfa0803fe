"""Splitting a global batch over replicas, and turning per-example values into sums.

With ``R`` replicas and a global batch of ``N`` examples, replica ``i`` takes rows
``floor(N i / R)`` to ``floor(N (i + 1) / R)``; each replica returns *sums* over its rows,
which the loop adds across replicas and divides by ``N`` (the exact global mean).
"""

from __future__ import annotations

import tensorflow as tf

from course_lib.training.task import Batch


def batch_size(batch: Batch) -> tf.Tensor:
    """Number of examples in a (possibly nested) batch: the first leaf's leading axis."""
    return tf.shape(tf.nest.flatten(batch)[0])[0]


def replica_slice(batch: Batch) -> Batch:
    """This replica's contiguous share of a global batch (the whole batch with 1 replica)."""
    ctx = tf.distribute.get_replica_context()
    replicas = ctx.num_replicas_in_sync
    if replicas == 1:
        return batch
    n, i = batch_size(batch), ctx.replica_id_in_sync_group
    start, end = (n * i) // replicas, (n * (i + 1)) // replicas
    return tf.nest.map_structure(lambda t: t[start:end], batch)


def sums_over_examples(values: dict[str, tf.Tensor], n_local: tf.Tensor) -> dict[str, tf.Tensor]:
    """Per-example values (B,) -> sums; a scalar is taken as a batch mean (times B)."""
    out = {}
    for name, v in values.items():
        v = tf.cast(v, tf.float32)
        out[name] = tf.reduce_sum(v) if v.shape.rank else v * tf.cast(n_local, tf.float32)
    return out
