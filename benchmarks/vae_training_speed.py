"""Convolutional VAE training speed: course_lib vs the TensorFlow CVAE tutorial's own step.

Both sides train the layout of TensorFlow's "Convolutional Variational Autoencoder"
tutorial (encoder: two 3x3 stride-2 convolutions with 32 and 64 filters, Dense to
2 * latent_dim; decoder: Dense to 7x7x32 and three transposed convolutions), latent_dim 2,
Adam(1e-4), on the same statically binarised images (the tutorial's ``x > 0.5``) with the
same batch size, in one process, alternating rounds so machine noise hits both alike:

* tutorial: its step as written there -- a ``tf.function`` with a GradientTape around the
  one-sample Monte Carlo ELBO (``log p(x|z) + log p(z) - log q(z|x)``) and
  ``optimizer.apply``, fed by ``for x in dataset`` (a new iterator each epoch);
* course:   ``course_lib.vae.VAE(kind="conv")`` trained by ``course_lib.training.Trainer``
  (analytic KL, NaN guard, metrics, history, checkpoint-ready iterator).

Each is run with and without XLA (``jit_compile``) at batch 32 and 128; the script prints
images/s (median over rounds; the first, tracing and compiling, is dropped) and ratios.

    python benchmarks/vae_training_speed.py            # about 4 minutes on 2 CPU cores
    python benchmarks/vae_training_speed.py --rounds 6 --batch-sizes 32
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

from course_lib.data import binarize_static, load_mnist, make_dataset, to_float
from course_lib.runtime import set_seed
from course_lib.training import TrainConfig, Trainer
from course_lib.vae import VAE, VAEConfig, make_task

LATENT_DIM = 2


def tutorial_models() -> tuple[keras.Model, keras.Model]:
    """The tutorial's encoder and decoder, layer for layer."""
    encoder = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(32, 3, strides=2, activation="relu"),
            keras.layers.Conv2D(64, 3, strides=2, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(2 * LATENT_DIM),
        ]
    )
    decoder = keras.Sequential(
        [
            keras.Input((LATENT_DIM,)),
            keras.layers.Dense(7 * 7 * 32, activation="relu"),
            keras.layers.Reshape((7, 7, 32)),
            keras.layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu"),
            keras.layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu"),
            keras.layers.Conv2DTranspose(1, 3, strides=1, padding="same"),
        ]
    )
    return encoder, decoder


def tutorial_step(encoder: keras.Model, decoder: keras.Model, jit: bool):
    """The tutorial's compute_loss + train_step, with Keras 3's ``optimizer.apply``."""
    optimizer = keras.optimizers.Adam(1e-4)
    variables = encoder.trainable_variables + decoder.trainable_variables
    optimizer.build(variables)
    log2pi = tf.math.log(2.0 * np.pi)

    def log_normal_pdf(sample, mean, logvar):
        return tf.reduce_sum(
            -0.5 * ((sample - mean) ** 2.0 * tf.exp(-logvar) + logvar + log2pi), axis=1
        )

    def step(x):
        with tf.GradientTape() as tape:
            mean, logvar = tf.split(encoder(x), num_or_size_splits=2, axis=1)
            z = tf.random.normal(shape=tf.shape(mean)) * tf.exp(logvar * 0.5) + mean
            x_logit = decoder(z)
            cross_ent = tf.nn.sigmoid_cross_entropy_with_logits(logits=x_logit, labels=x)
            logpx_z = -tf.reduce_sum(cross_ent, axis=[1, 2, 3])
            loss = -tf.reduce_mean(
                logpx_z + log_normal_pdf(z, 0.0, 0.0) - log_normal_pdf(z, mean, logvar)
            )
        optimizer.apply(tape.gradient(loss, variables), variables)
        return loss

    return tf.function(step, jit_compile=jit)


def tutorial_epoch(step, data: tf.data.Dataset) -> float:
    start = time.perf_counter()
    for x in data:
        loss = step(x)
    if not math.isfinite(float(loss)):
        raise FloatingPointError("the tutorial step diverged")
    return time.perf_counter() - start


def compare(x: np.ndarray, batch_size: int, jit: bool, rounds: int) -> dict[str, float]:
    """Images/s of both sides (medians) for one batch size and XLA setting."""
    data = make_dataset(x, batch_size=batch_size, seed=0)
    set_seed(0)
    step = tutorial_step(*tutorial_models(), jit=jit)
    set_seed(0)
    vae = VAE(VAEConfig(latent_dim=LATENT_DIM, kind="conv"))
    trainer = Trainer(
        make_task(vae, keras.optimizers.Adam(1e-4)), TrainConfig(jit_compile=jit, progress="none")
    )
    tutorial_epoch(step, data)  # round 1: tracing and compiling, not counted
    trainer.fit(data, epochs=1)
    tutorial_s, course_s = [], []
    for epoch in range(2, rounds + 1):
        tutorial_s.append(tutorial_epoch(step, data))
        course_s.append(trainer.fit(data, epochs=epoch).records[-1].seconds)
    return {
        "tutorial": len(x) / statistics.median(tutorial_s),
        "course": len(x) / statistics.median(course_s),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--rounds", type=int, default=4, help="epochs per side and setting (first dropped)"
    )
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128])
    parser.add_argument(
        "--examples", type=int, default=None, help="use only the first N training images"
    )
    args = parser.parse_args()
    mnist = load_mnist()
    # (N, 28, 28, 1) float32 0/1, as in the tutorial
    x = binarize_static(to_float(mnist.x_train))[: args.examples]
    print(
        f"{len(x)} images per epoch ({mnist.source}), TF {tf.__version__}, "
        f"Keras {keras.__version__}, {os.cpu_count()} CPUs; medians of {args.rounds - 1} epochs"
    )
    print(
        f"{'batch':>5} {'XLA':>5} {'tutorial img/s':>15} {'course img/s':>13} "
        f"{'course/tutorial':>16}"
    )
    results = {}
    for batch_size in args.batch_sizes:
        for jit in (False, True):
            r = results[batch_size, jit] = compare(x, batch_size, jit, args.rounds)
            print(
                f"{batch_size:>5} {jit!s:>5} {r['tutorial']:>15,.0f} {r['course']:>13,.0f} "
                f"{r['course'] / r['tutorial']:>16.2f}",
                flush=True,
            )
    for batch_size in args.batch_sizes:
        best = max(results[batch_size, j]["course"] for j in (False, True))
        print(
            f"batch {batch_size}: course's best setting vs the tutorial as written (no XLA): "
            f"{best / results[batch_size, False]['tutorial']:.2f}x"
        )


if __name__ == "__main__":
    main()
