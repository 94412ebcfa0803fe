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
"""

from __future__ import annotations

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
    config = TrainConfig(steps=steps, eval_every=every, steps_per_execution=50, progress="none")
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
