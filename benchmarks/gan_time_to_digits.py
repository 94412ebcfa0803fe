"""Time to recognisable digits: the course's DCGAN recipe vs the TensorFlow DCGAN tutorial's.

Both recipes train on the same images (the course's MNIST split, scaled to ``[-1, 1]``) in one
process on the same CPU. Every ``--eval-every`` seconds of *training* time (the clock stops
while scoring) the generator draws 1,000 digits from fixed noise and the course's MNIST
classifier (:mod:`course_lib.gan.classifier`, :mod:`course_lib.gan.sample_quality`) scores them:

* ``IS``: the classifier-based Inception score (10 = every digit classified with certainty and
  all classes equally used);
* ``FD``: the Fréchet distance between classifier features of the generated digits and the
  training images.

The script prints the real-vs-real baseline first. With the shipped MNIST subset (8,000 training
images, the first 1,000 held-out ones scored) the classifier reached a held-out accuracy of
0.968, real held-out digits scored IS 8.71 and FD 0.59, and 1,000 images of uniform noise
IS 1.16 and FD 153 (measured 2026-12-05, TensorFlow 2.21.0, on the project's 2-core CPU).

A run counts as "recognisable digits" at the first evaluation with ``IS >= --is-threshold``
(default 5.0) *and* ``FD <= --fd-threshold`` (default 10.0): at that level most samples read as
digits and all ten classes appear, though strokes are still uneven (look at the grid the script
saves).

The recipes:

* ``tutorial``: https://www.tensorflow.org/tutorials/generative/dcgan as written there: its
  generator (Dense 7x7x256, transposed convolutions 128 -> 64 -> 1, batch norm, LeakyReLU) and
  discriminator (5x5 convolutions 64 -> 128, dropout 0.3), ``z`` of 100 dimensions, Adam(1e-4)
  for both, batch 256, one ``tf.function`` step that updates both networks from one forward
  pass, fed by ``for images in dataset``.
* ``course``: ``course_lib.gan.GAN(GANConfig(kind="dcgan"))`` (filters 64 -> 128, ``z`` of 64; its
  generator follows the DCGAN paper's layout, its discriminator is the tutorial's with slope 0.2),
  Adam(2e-4, beta_1=0.5) for both (Radford et al. 2016, Section 4), batch 64, trained by
  ``course_lib.training.Trainer`` (D step, then G step on fresh noise; compiled multi-step
  execution). No XLA: with dropout in D, XLA ran about 4x slower on this CPU (measured when this
  script was written, 2026-11-30; not re-measured).

    python benchmarks/gan_time_to_digits.py                    # both recipes, up to 60 min each
    python benchmarks/gan_time_to_digits.py --recipes course --max-minutes 10

Prints one line per evaluation and a summary with the ratio of the two times. If a recipe does
not reach the threshold within ``--max-minutes``, its time is reported as "> max" and the ratio
as a lower bound.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

from course_lib.data import load_mnist, make_dataset, to_float
from course_lib.gan import GAN, GANConfig, from_tanh_range, make_task, to_tanh_range
from course_lib.gan.classifier import train_classifier
from course_lib.gan.sample_quality import digit_scores, real_vs_real_baseline
from course_lib.runtime import get_paths, set_seed
from course_lib.training import TrainConfig, Trainer
from course_lib.viz.plots import image_grid

N_EVAL = 1000
TUTORIAL_NOISE_DIM = 100


def tutorial_models() -> tuple[keras.Model, keras.Model]:
    """The tutorial's ``make_generator_model`` and ``make_discriminator_model``, layer for layer."""
    generator = keras.Sequential(
        [
            keras.Input((TUTORIAL_NOISE_DIM,)),
            keras.layers.Dense(7 * 7 * 256, use_bias=False),
            keras.layers.BatchNormalization(),
            keras.layers.LeakyReLU(),
            keras.layers.Reshape((7, 7, 256)),
            keras.layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
            keras.layers.BatchNormalization(),
            keras.layers.LeakyReLU(),
            keras.layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
            keras.layers.BatchNormalization(),
            keras.layers.LeakyReLU(),
            keras.layers.Conv2DTranspose(
                1, 5, strides=2, padding="same", use_bias=False, activation="tanh"
            ),
        ]
    )
    discriminator = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(64, 5, strides=2, padding="same"),
            keras.layers.LeakyReLU(),
            keras.layers.Dropout(0.3),
            keras.layers.Conv2D(128, 5, strides=2, padding="same"),
            keras.layers.LeakyReLU(),
            keras.layers.Dropout(0.3),
            keras.layers.Flatten(),
            keras.layers.Dense(1),
        ]
    )
    return generator, discriminator


class Scorer:
    """IS and FD of 1,000 samples from fixed noise, with the real-vs-real baseline."""

    def __init__(self, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray) -> None:
        # The classifier is a cache, kept between runs: fresh=False.
        cache = get_paths().run_dir("mnist_classifier", fresh=False)
        self.classifier = train_classifier(x_train, y_train, epochs=2, cache_dir=cache)
        self.x_train = x_train
        self.baseline = real_vs_real_baseline(self.classifier, x_train, x_test[:N_EVAL])

    def score(self, images_tanh: np.ndarray) -> tuple[float, float]:
        """``(IS, FD)`` of generated images in ``[-1, 1]`` against the training images."""
        x = from_tanh_range(images_tanh)  # (N, 28, 28, 1) in [0, 1]
        return digit_scores(self.classifier, x, self.x_train)


def run(name: str, step_chunk, sample, batch: int, scorer: Scorer, args, out: Path) -> dict:
    """Alternate ``step_chunk()`` (training, timed) and scoring, to the threshold or the budget."""
    train_s = 0.0
    steps = 0
    reached = None
    last = None
    while train_s < 60 * args.max_minutes:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < args.eval_every:
            steps += step_chunk()
        train_s += time.perf_counter() - t0
        images = sample()
        score, fd = scorer.score(images)
        last = images
        print(
            f"{name:>8}: {train_s / 60:6.2f} min of training, step {steps:6d} "
            f"({steps * batch / 1000:7.1f}k images), IS {score:5.2f}, FD {fd:7.3f}",
            flush=True,
        )
        if score >= args.is_threshold and fd <= args.fd_threshold:
            reached = {"minutes": train_s / 60, "steps": steps, "is": score, "fd": fd}
            break
    image_grid(
        from_tanh_range(last[:64]), ncols=16, title=f"{name}: step {steps}, {train_s / 60:.1f} min"
    ).savefig(out / f"gan_{name}.png", dpi=70)
    return {
        "reached": reached,
        "minutes": train_s / 60,
        "steps": steps,
        "images_per_s": steps * batch / train_s,
    }


def tutorial_recipe(x: np.ndarray, seed: int):
    set_seed(seed)
    generator, discriminator = tutorial_models()
    g_opt, d_opt = keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    batch = 256
    dataset = tf.data.Dataset.from_tensor_slices(x).shuffle(len(x)).batch(batch)

    @tf.function
    def train_step(images):
        noise = tf.random.normal([batch, TUTORIAL_NOISE_DIM])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated_images = generator(noise, training=True)
            real_output = discriminator(images, training=True)
            fake_output = discriminator(generated_images, training=True)
            gen_loss = bce(tf.ones_like(fake_output), fake_output)
            disc_loss = bce(tf.ones_like(real_output), real_output) + bce(
                tf.zeros_like(fake_output), fake_output
            )
        g_grads = gen_tape.gradient(gen_loss, generator.trainable_variables)
        d_grads = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
        g_opt.apply_gradients(zip(g_grads, generator.trainable_variables, strict=True))
        d_opt.apply_gradients(zip(d_grads, discriminator.trainable_variables, strict=True))

    def epoch() -> int:  # the tutorial's inner loop: one pass over the data
        n = 0
        for images in dataset:
            train_step(images)
            n += 1
        return n

    z = tf.random.normal([N_EVAL, TUTORIAL_NOISE_DIM], seed=1)
    return epoch, lambda: np.asarray(generator(z, training=False)), batch


def course_recipe(
    x: np.ndarray,
    seed: int,
    batch: int = 64,
    learning_rate: float = 2e-4,
    filters: tuple[int, int] = (64, 128),
):
    set_seed(seed)
    chunk = 100
    gan = GAN(GANConfig(kind="dcgan", filters=filters), seed=seed)
    task = make_task(
        gan,
        keras.optimizers.Adam(learning_rate, beta_1=0.5),
        keras.optimizers.Adam(learning_rate, beta_1=0.5),
    )
    trainer = Trainer(task, TrainConfig(steps=chunk, steps_per_execution=50, progress="none"))
    dataset = make_dataset(x, batch_size=batch, seed=seed, repeat=True, drop_remainder=True)
    done = {"steps": 0}

    def step_chunk() -> int:
        # fit(steps=...) continues the same run up to that total number of steps.
        done["steps"] += chunk
        trainer.fit(dataset, steps=done["steps"])
        return chunk

    z = gan.sample_z(N_EVAL, seed=1)
    return step_chunk, lambda: np.asarray(gan.generator(z, training=False)), batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--recipes", nargs="+", default=["course", "tutorial"], choices=["course", "tutorial"]
    )
    parser.add_argument(
        "--max-minutes", type=float, default=60.0, help="training-time budget per recipe"
    )
    parser.add_argument(
        "--eval-every", type=float, default=30.0, help="seconds of training between scores"
    )
    parser.add_argument("--is-threshold", type=float, default=5.0)
    parser.add_argument("--fd-threshold", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--course-batch", type=int, default=64, help="to try other course recipes")
    parser.add_argument("--course-lr", type=float, default=2e-4)
    parser.add_argument("--course-filters", type=int, nargs=2, default=[64, 128])
    parser.add_argument("--out", type=Path, default=Path("runs/benchmarks"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    mnist = load_mnist()
    scorer = Scorer(mnist.x_train, mnist.y_train, mnist.x_test)
    print(
        f"classifier baseline, {scorer.baseline}; threshold: IS >= {args.is_threshold} and FD <= "
        f"{args.fd_threshold}; {len(mnist.x_train):,} training images; TF {tf.__version__}",
        flush=True,
    )
    x = to_tanh_range(to_float(mnist.x_train))  # (N, 28, 28, 1) in [-1, 1]
    results = {}
    for name in args.recipes:
        if name == "course":
            step_chunk, sample, batch = course_recipe(
                x, args.seed, args.course_batch, args.course_lr, tuple(args.course_filters)
            )
        else:
            step_chunk, sample, batch = tutorial_recipe(x, args.seed)
        results[name] = run(name, step_chunk, sample, batch, scorer, args, args.out)

    print("\nrecipe    images/s   time to threshold   steps")
    for name, r in results.items():
        when = (
            f"{r['reached']['minutes']:8.2f} min" if r["reached"] else f"> {r['minutes']:6.2f} min"
        )
        steps = r["reached"]["steps"] if r["reached"] else r["steps"]
        print(f"{name:8} {r['images_per_s']:9.0f}   {when:>17}   {steps:6d}")
    if len(results) == 2:
        course, tutorial = results["course"], results["tutorial"]
        if course["reached"]:
            t_course = course["reached"]["minutes"]
            if tutorial["reached"]:
                print(
                    "course reaches the threshold "
                    f"{tutorial['reached']['minutes'] / t_course:.1f}x sooner"
                )
            else:
                print(
                    f"course reaches the threshold more than {tutorial['minutes'] / t_course:.1f}x "
                    "sooner "
                    "(the tutorial recipe did not reach it within the budget)"
                )


if __name__ == "__main__":
    main()
