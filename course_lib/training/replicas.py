"""Splitting a global batch over replicas, and turning reported values into (sum, count).

With ``R`` replicas and a global batch of ``N`` examples, replica ``i`` takes rows
``floor(N i / R)`` to ``floor(N (i + 1) / R)``. Every value a replica reports becomes a pair
``(sum, count)``; the loop adds both over replicas and batches, and a mean is
``total sum / total count``. So a mean over examples (count = examples) and a mean over
tokens (count = scored tokens) are both exact, whatever the batch sizes and the split.
"""

from __future__ import annotations

from collections.abc import Mapping

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
    n = batch_size(batch)
    i = ctx.replica_id_in_sync_group
    start = (n * i) // replicas
    end = (n * (i + 1)) // replicas
    return tf.nest.map_structure(lambda t: t[start:end], batch)


def sum_and_count(name: str, value, n_local: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """One reported value as ``(sum, count)``, two float32 scalars.

    * a per-example tensor ``(B,)``: ``(sum over the B values, B)``;
    * a scalar: taken as the mean over this replica's ``n_local`` examples,
      ``(value * n_local, n_local)``;
    * a tuple ``(sum, count)`` of two scalars: as it is (e.g. a sum of token losses and the
      number of tokens, for a per-token mean).
    """
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(
                f"value {name!r} must be a (B,) tensor, a scalar or a (sum, count) pair, "
                f"got a sequence of {len(value)}"
            )
        total = tf.cast(value[0], tf.float32)
        count = tf.cast(value[1], tf.float32)
        if total.shape.rank != 0 or count.shape.rank != 0:
            raise ValueError(
                f"value {name!r} as (sum, count) needs two scalars, got shapes "
                f"{total.shape} and {count.shape}"
            )
        return total, count
    value = tf.cast(value, tf.float32)
    n = tf.cast(n_local, tf.float32)
    if value.shape.rank == 0:
        return value * n, n
    if value.shape.rank != 1:
        raise ValueError(
            f"value {name!r} must be per example, shape (B,), a scalar or a (sum, count) pair, "
            f"got shape {value.shape}"
        )
    return tf.reduce_sum(value), tf.cast(tf.shape(value)[0], tf.float32)


def sums_and_counts(
    values: Mapping[str, object], n_local: tf.Tensor
) -> dict[str, tuple[tf.Tensor, tf.Tensor]]:
    """:func:`sum_and_count` of every value of a dict."""
    return {name: sum_and_count(name, v, n_local) for name, v in values.items()}
