"""The ring experiment of chapter 05: a small MLP GAN trained on a ring of Gaussians.

Metz et al. (2017, "Unrolled Generative Adversarial Networks", arXiv:1611.02163) used a ring
of eight Gaussians to show mode collapse. Chapter 05 (``05_practice/03_gan_mnist.ipynb``)
trains the same small GAN on it with different optimizer recipes, and
``benchmarks/gan_ring_ablation.py`` repeats the runs for several seeds; both call
:func:`train_ring_gan`, so the notebook's runs and the benchmark's are the same code.

The setup (the one the notebook describes): the data are 10,000 points of
``ring_of_gaussians(10_000, seed=0)`` (8 modes on a circle of radius 2, std 0.02), batches of
256 (a repeating, shuffled dataset), two MLPs with hidden layers ``(128, 128)`` and an 8-D
latent space, one Adam optimizer per player, and the course's
:class:`~course_lib.training.Trainer`. Every ``every`` steps the generator's output for the
same 1,000 noise vectors (``seed=123``) is kept, so you can watch where it puts its mass.

Two counts measure a run: a generator that has collapsed puts its samples on a few of the
``K`` modes, one that has not yet converged puts them between modes.
:func:`ring_mode_coverage` measures both; :func:`ring_modes_occupied` is a cruder count that
also sees where blurry samples go early in training.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import keras
import numpy as np

from course_lib.data import make_dataset, ring_of_gaussians
from course_lib.gan.config import LOSSES, GANConfig
from course_lib.gan.model import GAN, make_task
from course_lib.runtime.validation import check_array, check_choice, check_int, check_real
from course_lib.training import History, TrainConfig, Trainer
from course_lib.training.schedules import warmup_cosine

BATCH_SIZE = 256
SNAPSHOT_SAMPLES = 1000
SNAPSHOT_SEED = 123


@dataclass
class RingRun:
    """What :func:`train_ring_gan` returns.

    Attributes:
        gan: the trained :class:`~course_lib.gan.GAN`.
        snapshots: ``(step, samples)`` after every ``every`` steps, ``samples`` float32
            ``(1000, 2)``: ``G(z)`` for the same 1,000 noise vectors each time.
        seconds: wall-clock time of the training (snapshots included).
        history: the Trainer's :class:`~course_lib.training.History`.
    """

    gan: GAN
    snapshots: list[tuple[int, np.ndarray]]
    seconds: float
    history: History


def ring_optimizer(
    learning_rate: float, *, steps: int, beta_1: float, beta_2: float, cosine_decay: bool
) -> keras.optimizers.Adam:
    """Adam with a constant rate, or a cosine decay from ``learning_rate`` to 0 over ``steps``."""
    rate = check_real("learning_rate", learning_rate, minimum=0.0, strict=True)
    if cosine_decay:
        rate = warmup_cosine(rate, total_steps=steps, warmup_steps=0, final_fraction=0.0)
    return keras.optimizers.Adam(rate, beta_1=beta_1, beta_2=beta_2)


def train_ring_gan(
    *,
    loss: str = "non_saturating",
    steps: int = 2000,
    learning_rate: float = 1e-3,
    d_learning_rate: float | None = None,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    cosine_decay: bool = False,
    every: int = 250,
    seed: int = 0,
    x=None,
    progress: str | None = "none",
) -> RingRun:
    """Train an MLP GAN on the ring of Gaussians with one optimizer recipe.

    Args:
        loss: ``"non_saturating"``, ``"minimax"`` or ``"wgan_gp"`` (:class:`GANConfig`).
        steps: optimizer steps of each player.
        learning_rate: Adam's (peak) rate for the generator, and for the discriminator
            unless ``d_learning_rate`` is given.
        d_learning_rate: the discriminator's (critic's) rate; ``None``: ``learning_rate``.
        beta_1, beta_2: Adam's moment decay rates, for both players.
        cosine_decay: decay both rates to 0 along half a cosine over ``steps`` (no warm-up).
        every: steps between snapshots.
        seed: seeds Keras (``keras.utils.set_random_seed``), the data's shuffling and the GAN.
        x: the training points ``(N, 2)``; ``None``: ``ring_of_gaussians(10_000, seed=0)``.
        progress: the Trainer's display (:class:`~course_lib.training.TrainConfig`):
            ``"none"`` (default: short runs), or ``None`` for the profile's choice (a bar with
            the time left in ``student`` and ``full``, silence in ``ci``).

    Returns:
        A :class:`RingRun`; its snapshots are at steps ``every, 2 every, ...`` and at
        ``steps`` (the loop always records the last step).
    """
    check_choice("loss", loss, LOSSES)
    steps = check_int("steps", steps, minimum=1)
    every = check_int("every", every, minimum=1, maximum=steps)
    seed = check_int("seed", seed, minimum=0)
    beta_1 = check_real("beta_1", beta_1, minimum=0.0, maximum=1.0)
    beta_2 = check_real("beta_2", beta_2, minimum=0.0, maximum=1.0)
    if d_learning_rate is None:
        d_learning_rate = learning_rate
    if x is None:
        x, _ = ring_of_gaussians(10_000, seed=0)
    x = check_array("x", x, shape=(None, 2), kind="float", finite=True, nonempty=True)

    keras.utils.set_random_seed(seed)
    dataset = make_dataset(x, batch_size=BATCH_SIZE, seed=seed, repeat=True, drop_remainder=True)
    gan = GAN(GANConfig(kind="mlp", loss=loss, hidden=(128, 128), latent_dim=8), seed=seed)
    schedule = {"steps": steps, "beta_1": beta_1, "beta_2": beta_2, "cosine_decay": cosine_decay}
    task = make_task(
        gan,
        ring_optimizer(d_learning_rate, **schedule),
        ring_optimizer(learning_rate, **schedule),
    )
    config = TrainConfig(steps=steps, eval_every=every, steps_per_execution=50, progress=progress)
    trainer = Trainer(task, config)
    snapshots: list[tuple[int, np.ndarray]] = []

    def snapshot(_trainer, record) -> None:
        samples = gan.generate(SNAPSHOT_SAMPLES, seed=SNAPSHOT_SEED).numpy()
        snapshots.append((record.step, samples))

    start = time.perf_counter()
    history = trainer.fit(dataset, callbacks=[snapshot])
    seconds = time.perf_counter() - start
    if history.stop_reason != "completed":
        raise RuntimeError(f"the ring GAN did not complete its run: {history.message}")
    return RingRun(gan=gan, snapshots=snapshots, seconds=seconds, history=history)


# --------------------------------------------------------------------------- measuring the runs
def _points_and_centers(samples, centers) -> tuple[np.ndarray, np.ndarray]:
    """``samples (N, d)`` and ``centers (K, d)`` as finite float64 arrays with the same ``d``."""
    samples = check_array(
        "samples", samples, ndim=2, kind="number", finite=True, nonempty=True, dtype=np.float64
    )
    centers = check_array(
        "centers", centers, ndim=2, kind="number", finite=True, nonempty=True, dtype=np.float64
    )
    if samples.shape[1] != centers.shape[1]:
        raise ValueError(
            f"samples (N, d) and centers (K, d) need the same d, got {samples.shape} and "
            f"{centers.shape}"
        )
    return samples, centers


def ring_mode_coverage(
    samples, centers, std: float, threshold: float = 3.0, min_fraction: float = 0.1
) -> tuple[int, float]:
    """``(modes_covered, high_quality_fraction)`` of generated 2-D ``samples``.

    The rule:

    * each sample belongs to its nearest centre (Euclidean distance);
    * it is *high quality* if that distance is at most ``threshold * std``;
    * a mode is *covered* if it receives at least ``min_fraction * N / K`` high-quality
      samples (and at least one), where ``N / K`` is its share under the data distribution.

    For data drawn from the ring itself (isotropic 2-D Gaussians) a sample lies within
    ``3 std`` of its centre with probability ``1 - exp(-9/2) = 0.989``, so real data scores
    ``(K, ~0.99)`` when the modes are well separated.

    Args:
        samples: ``(N, 2)`` points.
        centers: ``(K, 2)`` mode centres, e.g. :func:`course_lib.data.ring_mode_centers`.
        std: standard deviation of each mode (``ring_of_gaussians(std=...)``).
        threshold: the high-quality radius in units of ``std``.
        min_fraction: share of the fair ``N / K`` a mode needs to count as covered.
    """
    samples, centers = _points_and_centers(samples, centers)
    std = check_real("std", std, minimum=0.0, strict=True)
    threshold = check_real("threshold", threshold, minimum=0.0, strict=True)
    min_fraction = check_real("min_fraction", min_fraction, minimum=0.0, maximum=1.0)
    # (N, K)
    distances = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=-1)
    nearest = distances.argmin(axis=1)  # (N,)
    good = distances[np.arange(len(samples)), nearest] <= threshold * std  # (N,)
    # (K,): high-quality samples per mode
    counts = np.bincount(nearest[good], minlength=len(centers))
    needed = max(1, math.ceil(min_fraction * len(samples) / len(centers)))
    return int((counts >= needed).sum()), float(good.mean())


def ring_modes_occupied(samples, centers, min_share: float = 0.5) -> int:
    """The number of modes that are the *nearest* centre of enough ``samples``.

    A mode is occupied when at least ``min_share * N / K`` of the ``N`` samples have it as
    their nearest centre, however far away they are: unlike :func:`ring_mode_coverage`, this
    also counts blurry samples, so it shows early in training where the generator puts its
    mass (``K`` for samples spread evenly over the modes' regions, 1 for a generator that
    has collapsed onto one region).

    Args:
        samples: ``(N, d)`` points.
        centers: ``(K, d)`` mode centres.
        min_share: the fraction of the fair share ``N / K`` a mode needs, in ``[0, 1]``.
    """
    samples, centers = _points_and_centers(samples, centers)
    min_share = check_real("min_share", min_share, minimum=0.0, maximum=1.0)
    # (N,): the nearest centre of each sample
    nearest = np.linalg.norm(samples[:, None, :] - centers[None], axis=-1).argmin(axis=1)
    counts = np.bincount(nearest, minlength=len(centers))  # (K,)
    return int((counts >= min_share * len(samples) / len(centers)).sum())
