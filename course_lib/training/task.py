"""What a model hands to the training loop: one or more *objectives*.

An :class:`Objective` is one gradient update: "minimise the mean over the global batch of
``loss_fn(batch)`` with respect to ``variables`` using ``optimizer``". A VAE has one
objective (the negative ELBO); a GAN has two (the discriminator's and the generator's),
applied one after the other on each batch. The loop in :mod:`course_lib.training.trainer`
does the rest (compilation, replicas, loss scaling, checkpoints, NaN guard), so no model
needs special code in the loop.

``loss_fn(batch, training)`` returns the **per-example** loss, shape ``(B,)``, where ``B``
is the number of examples this replica sees. Returning per-example values (rather than a
mean) lets the loop compute the exact mean over the *global* batch across replicas:

.. math:: L = \\frac{1}{N} \\sum_{r=1}^{R} \\sum_{i \\in \\text{replica } r} \\ell_i,

with ``N`` the global batch size. It may also return ``(loss, metrics)`` where ``metrics``
maps names to per-example values ``(B,)``, scalars (taken as the replica's batch mean) or
``(sum, count)`` pairs of scalars (for means over something other than examples, such as
tokens).

Validation values (:meth:`Task.evaluate`) are reported the same way: per example ``(B,)``, or
``(sum, count)``. The loop adds sums and counts over batches and replicas, so every mean it
reports is ``total sum / total count``, exact for unequal batches and any split.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import keras
import tensorflow as tf

Batch = Any  # a tensor or a (nested) tuple/dict of tensors whose leading axis is the batch
Value = tf.Tensor | tuple[tf.Tensor, tf.Tensor]  # (B,), a scalar, or (sum, count)
LossOutput = tf.Tensor | tuple[tf.Tensor, Mapping[str, Value]]
LossFn = Callable[[Batch, bool], LossOutput]


@dataclass
class Objective:
    """One gradient update per training step.

    Attributes:
        name: name of the loss in the history (``"loss"``, ``"d_loss"``, ``"g_loss"``).
        loss_fn: ``loss_fn(batch, training) -> per-example loss (B,)`` or
            ``(loss (B,), {metric_name: (B,), scalar or (sum, count)})``.
        variables: the trainable variables this objective updates, or a Keras layer /
            model whose ``trainable_variables`` are used. They must exist already (build
            the model, e.g. by calling it once, inside ``strategy.scope()``).
        optimizer: a Keras 3 optimizer, used only by this objective.
    """

    name: str
    loss_fn: LossFn
    variables: Sequence[tf.Variable] | keras.layers.Layer
    optimizer: keras.optimizers.Optimizer

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"Objective.name must be a non-empty str, got {self.name!r}")
        if not callable(self.loss_fn):
            raise TypeError(
                f"Objective {self.name!r}: loss_fn must be callable as loss_fn(batch, training), "
                f"got {type(self.loss_fn).__name__}"
            )
        if not isinstance(self.optimizer, keras.optimizers.Optimizer):
            raise TypeError(
                f"Objective {self.name!r}: optimizer must be a keras.optimizers.Optimizer, "
                f"got {type(self.optimizer).__name__}"
            )

    def trainable_variables(self) -> list[tf.Variable]:
        """The variables as a list; a clear error if there are none."""
        source = self.variables
        variables = list(
            source.trainable_variables if isinstance(source, keras.layers.Layer) else source
        )
        if not variables:
            raise ValueError(
                f"Objective {self.name!r} has no trainable variables. Build the model first "
                "(call it on a batch, or give it an Input shape) inside strategy.scope()."
            )
        return variables


@dataclass
class Task:
    """Everything the loop needs from a model.

    Attributes:
        objectives: applied in order on every batch.
        models: named Keras models whose weights are checkpointed, snapshotted for early
            stopping and checked after a NaN (``{"vae": vae}`` or
            ``{"generator": g, "discriminator": d}``).
        eval_fn: ``eval_fn(batch) -> {name: per-example values (B,) or (sum, count)}`` for
            validation; by default each objective's ``loss_fn(batch, training=False)``.
        trackables: extra objects to checkpoint (e.g. a ``keras.random.SeedGenerator``).
    """

    objectives: Sequence[Objective]
    models: Mapping[str, keras.Model]
    eval_fn: Callable[[Batch], Mapping[str, tf.Tensor]] | None = None
    trackables: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.objectives:
            raise ValueError("A Task needs at least one Objective.")
        for objective in self.objectives:
            if not isinstance(objective, Objective):
                raise TypeError(
                    f"Task.objectives must hold Objective objects, got {type(objective).__name__}"
                )
        if not isinstance(self.models, Mapping):
            raise TypeError(
                f"Task.models must be a dict name -> keras.Model, got {type(self.models).__name__}"
            )
        for name, model in self.models.items():
            if not isinstance(model, keras.layers.Layer):
                raise TypeError(
                    f"Task.models[{name!r}] must be a Keras model, got {type(model).__name__}"
                )
        if self.eval_fn is not None and not callable(self.eval_fn):
            raise TypeError(f"Task.eval_fn must be callable, got {type(self.eval_fn).__name__}")
        names = [o.name for o in self.objectives]
        if len(set(names)) != len(names):
            raise ValueError(f"Objective names must be unique, got {names}")
        if not self.models:
            raise ValueError("A Task needs at least one model in `models` (for checkpoints).")

    def evaluate(self, batch: Batch) -> dict[str, Value]:
        """Validation values of one batch: ``{name: per-example (B,) or (sum, count)}``."""
        if self.eval_fn is not None:
            return dict(self.eval_fn(batch))
        values: dict[str, tf.Tensor] = {}
        for objective in self.objectives:
            loss, metrics = split_loss_output(objective.loss_fn(batch, False), objective.name)
            values[objective.name] = loss
            values.update(metrics)
        return values

    def model_variables(self) -> list[tf.Variable]:
        """All variables of all models (trainable and not), in a fixed order."""
        return [v for name in sorted(self.models) for v in self.models[name].variables]


def split_loss_output(output: LossOutput, name: str) -> tuple[tf.Tensor, dict[str, Value]]:
    """Normalise a ``loss_fn`` result to ``(per-example loss (B,), metrics dict)``."""
    if isinstance(output, tuple):
        if len(output) != 2 or not isinstance(output[1], Mapping):
            raise TypeError(f"loss_fn of {name!r} must return loss or (loss, dict of metrics)")
        loss, metrics = output
    else:
        loss, metrics = output, {}
    loss = tf.convert_to_tensor(loss)
    if loss.shape.rank != 1:
        raise ValueError(
            f"loss_fn of {name!r} must return one loss per example, shape (B,), "
            f"got shape {loss.shape}. Do not average over the batch: the loop does it."
        )
    return loss, dict(metrics)


def supervised_task(
    model: keras.Model,
    loss: Callable[[tf.Tensor, tf.Tensor], tf.Tensor],
    optimizer: keras.optimizers.Optimizer,
    metrics: Mapping[str, Callable[[tf.Tensor, tf.Tensor], tf.Tensor]] | None = None,
) -> Task:
    """A :class:`Task` for batches ``(x, y)``: minimise ``loss(y, model(x))`` per example.

    ``loss(y_true, y_pred) -> (B,)`` must not reduce over the batch (for example
    ``keras.losses.sparse_categorical_crossentropy``). The model's own regularisation
    losses (``model.losses``) are added to every example, so their mean is added once.
    ``metrics`` maps names to functions of the same form, e.g. accuracy per example.
    """
    metric_fns = dict(metrics or {})

    def loss_fn(batch: Batch, training: bool) -> LossOutput:
        x, y = batch
        y_pred = model(x, training=training)
        per_example = tf.cast(loss(y, y_pred), tf.float32)
        if per_example.shape.rank == 0:
            raise ValueError(
                "supervised_task needs a loss that returns one value per example, shape (B,), "
                "such as keras.losses.sparse_categorical_crossentropy; the loss classes "
                "(e.g. keras.losses.SparseCategoricalCrossentropy()) average over the batch."
            )
        per_example = tf.reshape(per_example, [tf.shape(per_example)[0], -1])
        per_example = tf.reduce_mean(per_example, axis=1)
        if model.losses:
            per_example += tf.cast(tf.add_n(model.losses), tf.float32)
        values = {name: tf.cast(fn(y, y_pred), tf.float32) for name, fn in metric_fns.items()}
        return per_example, values

    return Task(objectives=[Objective("loss", loss_fn, model, optimizer)], models={"model": model})
