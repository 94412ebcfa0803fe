"""A tiny training run for ``tests/test_workers.py``: one process of a (multi-)worker run.

``python tests/workers_job.py --run-dir D --steps N [--crash-at S] [--nan-at S]`` trains a small
MLP on a fixed synthetic regression set with the course's :class:`~course_lib.training.Trainer`
under the strategy :class:`~course_lib.runtime.devices.RuntimeSetup` picks (``multi_worker``
when ``TF_CONFIG`` names several workers, else the default one-device strategy), checkpoints
in ``D`` and writes ``D/history.json`` (the Trainer does, on the chief).
``--crash-at S`` makes worker 1 exit with code 3 as soon as step ``S`` is reached (a worker
dying mid-run); ``--nan-at S`` feeds a non-finite target at step ``S`` (the NaN guard).
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--eval-every", type=int, default=10)
    parser.add_argument("--crash-at", type=int, default=None)
    parser.add_argument("--nan-at", type=int, default=None)
    args = parser.parse_args(argv)

    import keras
    import numpy as np
    import tensorflow as tf

    from course_lib.runtime import set_seed
    from course_lib.runtime.devices import RuntimeSetup
    from course_lib.training import Task, TrainConfig, Trainer
    from course_lib.training.task import Objective

    setup = RuntimeSetup.setup(precision="float32")
    strategy = setup.strategy
    task_index = json.loads(os.environ.get("TF_CONFIG") or "{}").get("task", {}).get("index", 0)

    set_seed(0)
    rng = np.random.default_rng(0)
    n, d, batch = 512, 16, 64
    x = rng.normal(size=(n, d)).astype("float32")
    w = rng.normal(size=(d, 1)).astype("float32")
    y = (np.tanh(x @ w) + 0.1 * rng.normal(size=(n, 1))).astype("float32")
    nan_at = -1 if args.nan_at is None else args.nan_at

    def poison(step, features_and_target):  # a NaN target in the batch of step nan_at
        features, target = features_and_target
        return features, tf.where(step == nan_at, tf.fill(tf.shape(target), np.nan), target)

    train = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(256, seed=1).batch(batch)
    train = train.repeat().enumerate(start=1).map(poison)
    val = tf.data.Dataset.from_tensor_slices((x[:128], y[:128])).batch(64)

    with strategy.scope():
        model = keras.Sequential(
            [keras.Input((d,)), keras.layers.Dense(32, activation="tanh"), keras.layers.Dense(1)]
        )
        optimizer = keras.optimizers.Adam(1e-2)

    def loss_fn(batch, training):
        features, target = batch
        return tf.reduce_mean(tf.square(model(features, training=training) - target), axis=1)

    task = Task([Objective("loss", loss_fn, model, optimizer)], {"model": model})
    config = TrainConfig(
        steps=args.steps,
        eval_every=args.eval_every,
        steps_per_execution=1,
        checkpoint_dir=args.run_dir,
        progress="records",
    )
    trainer = Trainer(task, config, strategy)

    def crash(trainer: Trainer, record) -> None:
        if task_index == 1 and args.crash_at is not None and record.step >= args.crash_at:
            print(f"worker 1: simulated crash at step {record.step}", flush=True)
            os._exit(3)

    history = trainer.fit(train, val, callbacks=[crash])
    print(
        f"done: {setup.strategy_kind}, {strategy.num_replicas_in_sync} replica(s), "
        f"step {history.last_step}, stop {history.stop_reason}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
