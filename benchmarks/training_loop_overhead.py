"""What does course_lib.training cost? Its throughput against a bare compiled step.

Both sides train the same Keras model on the same tf.data pipeline (shipped MNIST subset,
cached, shuffled, prefetched) with the same optimizer, in one process, alternating rounds
so that machine noise hits both alike:

* textbook baseline: ``for x, y in data: step(x, y)`` with ``step`` a ``tf.function``
  holding a GradientTape and ``optimizer.apply``; every epoch opens a new iterator, which
  must refill the shuffle buffer before its first batch;
* same-iterator baseline: the same ``step`` fed from one iterator over ``data.repeat()``,
  as the course's loop is fed; the ratio against it is the loop's own overhead;
* course: ``Trainer.fit`` (NaN guard, metrics, history, per-replica loss reduction).

It prints examples/s of each (median over rounds; the first round, tracing, is dropped)
and the ratios. Run from the repository root::

    python benchmarks/training_loop_overhead.py                  # MLP, batch 128
    python benchmarks/training_loop_overhead.py --model cnn --batch-size 32
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import tensorflow as tf

from course_lib.data import load_mnist, make_dataset, to_float
from course_lib.runtime import set_seed
from course_lib.training import TrainConfig, Trainer, supervised_task


def build_model(kind: str) -> keras.Model:
    """An MNIST classifier: ``mlp`` (784-256-256-10) or ``cnn`` (two stride-2 convolutions)."""
    if kind == "mlp":
        layers = [
            keras.layers.Flatten(),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(10),
        ]
    elif kind == "cnn":
        layers = [
            keras.layers.Conv2D(32, 3, strides=2, activation="relu"),
            keras.layers.Conv2D(64, 3, strides=2, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ]
    else:
        raise ValueError(f"unknown model {kind!r}: choose mlp or cnn")
    return keras.Sequential([keras.Input((28, 28, 1)), *layers])


def per_example_loss(y, logits):
    return keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)


def make_step(model: keras.Model):
    """The textbook compiled training step: tape, mean loss, gradients, ``optimizer.apply``."""
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.build(model.trainable_variables)

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(per_example_loss(y, model(x, training=True)))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(grads, model.trainable_variables)
        return loss

    return step


def textbook_epoch(step, data: tf.data.Dataset) -> float:
    """Seconds for one epoch of ``for x, y in data: step(x, y)``."""
    start = time.perf_counter()
    for x, y in data:
        loss = step(x, y)
    float(loss)  # wait for the last step
    return time.perf_counter() - start


def same_iterator_epoch(step, iterator, steps: int) -> float:
    """Seconds for ``steps`` steps fed from a long-lived iterator over ``data.repeat()``."""
    start = time.perf_counter()
    for _ in range(steps):
        loss = step(*next(iterator))
    float(loss)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="mlp", choices=["mlp", "cnn"])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=6, help="epochs per side (first one dropped)")
    parser.add_argument("--steps-per-execution", type=int, default=10)
    parser.add_argument(
        "--examples", type=int, default=None, help="use only the first N training images"
    )
    parser.add_argument(
        "--jit", action="store_true", help="XLA for the course loop's gradient step"
    )
    args = parser.parse_args()

    mnist = load_mnist()
    x_train = to_float(mnist.x_train)[: args.examples]
    y_train = mnist.y_train.astype("int32")[: args.examples]
    data = make_dataset(x_train, y_train, batch_size=args.batch_size, seed=0)
    n = len(x_train)
    print(
        f"model {args.model}, batch {args.batch_size}, {n} examples per epoch, "
        f"TF {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPUs"
    )

    models = []
    for _ in range(3):
        set_seed(0)
        models.append(build_model(args.model))
    textbook_step, iterator_step = make_step(models[0]), make_step(models[1])
    task = supervised_task(models[2], per_example_loss, keras.optimizers.Adam(1e-3))
    trainer = Trainer(
        task,
        TrainConfig(
            steps_per_execution=args.steps_per_execution, jit_compile=args.jit, progress="none"
        ),
    )
    steps = int(data.cardinality())
    iterator = iter(data.repeat())

    seconds: dict[str, list[float]] = {"textbook": [], "iterator": [], "course": []}
    textbook_epoch(textbook_step, data)  # first round: tracing, not counted
    same_iterator_epoch(iterator_step, iterator, steps)
    trainer.fit(data, epochs=1)
    for epoch in range(2, args.rounds + 1):  # alternate the sides
        seconds["textbook"].append(textbook_epoch(textbook_step, data))
        seconds["iterator"].append(same_iterator_epoch(iterator_step, iterator, steps))
        seconds["course"].append(trainer.fit(data, epochs=epoch).records[-1].seconds)
    rate = {k: n / statistics.median(v) for k, v in seconds.items()}
    print(f"textbook tf.function loop       : {rate['textbook']:10,.0f} examples/s")
    print(f"same step, one repeated iterator: {rate['iterator']:10,.0f} examples/s")
    print(
        f"course_lib.training             : {rate['course']:10,.0f} examples/s "
        f"(steps_per_execution={args.steps_per_execution}, jit={args.jit})"
    )
    print(f"ratio course / textbook         : {rate['course'] / rate['textbook']:10.3f}")
    print(
        f"ratio course / same iterator    : {rate['course'] / rate['iterator']:10.3f}"
        f"   (medians of {args.rounds - 1} epochs each)"
    )


if __name__ == "__main__":
    main()
