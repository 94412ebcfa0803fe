"""Recipe ``gan``: chapter 05 part 3's DCGAN on MNIST, metric a classifier's scores of its samples.

The run of ``chapters/05_practice/03_gan_mnist.ipynb`` (cells 20-24): ``GANConfig(kind="dcgan",
filters=F)`` (``z`` of 64 dimensions, 5x5 kernels, dropout 0.3 in D) with ``F = (32, 64)`` in
``ci`` and ``(64, 128)`` otherwise, ``GAN(cfg, seed=0)``, two Adams (step size ``2e-4``,
``beta_1 = 0.5``), the non-saturating loss, batches of 64 training images mapped to [-1, 1]
(repeated, shuffled with seed 0, the last partial batch dropped), 400 / 2,000 / 6,000 steps,
a record every 100 / 250 / 500 steps, 50 steps per compiled call. Each step is D's update
then G's:

.. math:: \\ell_D = -\\ln D(x) - \\ln(1 - D(G(z))), \\qquad \\ell_G = -\\ln D(G(z)).

The metric is the chapter's: ``n_score`` samples ``G(z)`` (500 / 1,000 / 2,000, at most the
held-out count; ``z`` drawn with seed 2) scored by the MNIST classifier of
:mod:`course_lib.recipes.classifier`, obtained through the model cache: the classifier
Inception score ``exp(E_x KL(p(y|x) || p(y)))`` (higher is better) and the Fréchet distance
of its 128-d features to the training images (lower is better), with the real-vs-real
baseline of the same sizes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from course_lib.recipes.base import (
    Built,
    Recipe,
    config_dict,
    current_precision,
    forward_flops,
    progress_for,
    strategy_or_default,
)
from course_lib.recipes.mnist import mnist_data, mnist_digest
from course_lib.runtime.profiles import Profile
from course_lib.runtime.seeding import set_seed
from course_lib.runtime.validation import check_int

NAME = "gan"
CACHE_NAME = "mnist_dcgan"
SCORE_SEED = 2  # the chapter's z_score = gan.sample_z(n_score, seed=2)


@dataclass(frozen=True)
class GANSizes:
    """The chapter's sizes for one profile.

    Attributes:
        filters: ``(F1, F2)``, D's two stride-2 convolutions (G mirrors them).
        steps: optimizer steps (each one D and one G update).
        eval_every: steps between two records.
        n_score: samples scored by the classifier (capped by the held-out images).
        batch_size: real images per step.
        learning_rate, beta_1: both Adams' step size and first-moment decay.
        steps_per_execution: steps inside one compiled call.
    """

    filters: tuple[int, int]
    steps: int
    eval_every: int
    n_score: int
    batch_size: int = 64
    learning_rate: float = 2e-4
    beta_1: float = 0.5
    steps_per_execution: int = 50

    def with_steps(self, steps: int | None) -> GANSizes:
        """These sizes for a run of ``steps`` steps (records at most every ``steps``)."""
        if steps is None:
            return self
        steps = check_int("steps", steps, minimum=1)
        return dataclasses.replace(self, steps=steps, eval_every=min(self.eval_every, steps))

    def model_config(self) -> Any:
        """The :class:`~course_lib.gan.GANConfig` of these sizes."""
        from course_lib.gan import GANConfig

        return GANConfig(kind="dcgan", filters=self.filters)


def sizes(profile: Profile) -> GANSizes:
    """The chapter's sizes in ``profile`` (cell 20 of 05/03)."""
    return GANSizes(
        filters=profile.pick(ci=(32, 64), student=(64, 128), full=(64, 128)),
        steps=profile.pick(ci=400, student=2000, full=6000),
        eval_every=profile.pick(ci=100, student=250, full=500),
        n_score=profile.pick(ci=500, student=1000, full=2000),
    )


def build(
    profile: Profile, *, strategy: Any = None, seed: int = 0, steps: int | None = None
) -> Built:
    """Seed, build the DCGAN, its two Adams and two-objective task, and the endless batches
    of real images in [-1, 1], float32 ``(64, 28, 28, 1)``."""
    import keras

    from course_lib.data import make_dataset, to_float
    from course_lib.gan import GAN, make_task, to_tanh_range
    from course_lib.training import TrainConfig

    seed = check_int("seed", seed, minimum=0)
    s = sizes(profile).with_steps(steps)
    strategy = strategy_or_default(strategy)
    data = mnist_data(profile)
    x_train = to_tanh_range(to_float(data.x_train))
    set_seed(seed)
    with strategy.scope():
        gan = GAN(s.model_config(), seed=seed)
        d_optimizer = keras.optimizers.Adam(s.learning_rate, beta_1=s.beta_1)
        g_optimizer = keras.optimizers.Adam(s.learning_rate, beta_1=s.beta_1)
    task = make_task(gan, d_optimizer, g_optimizer)
    dataset = make_dataset(
        x_train, batch_size=s.batch_size, seed=seed, repeat=True, drop_remainder=True
    )
    g_flops, d_flops = forward_flops(gan.generator), forward_flops(gan.discriminator)
    return Built(
        name=NAME,
        profile=profile,
        sizes=s,
        models=dict(task.models),
        task=task,
        train_data=dataset,
        val_data=None,
        train_config=TrainConfig(
            steps=s.steps,
            eval_every=s.eval_every,
            steps_per_execution=s.steps_per_execution,
            progress=progress_for(profile),
        ),
        items_per_batch=s.batch_size,
        unit="images",
        # D step: G forward (1 G), D forward+backward on real and fake (2 x 3 D);
        # G step: G forward+backward (3 G), D forward+backward to its input (2 D)
        training_flops_per_item=float(4 * g_flops + 8 * d_flops),
        metric="fd",
        metric_label="FD",
        metric_unit="",
        evaluate_fn=evaluate,
        strategy=strategy,
        seed=seed,
        steps=s.steps,
        extras={"data": data, "gan": gan, "config": s.model_config()},
    )


def evaluate(built: Built) -> dict[str, float]:
    """``{"fd", "inception_score", "real_fd", "real_inception_score", "classifier_accuracy"}``:
    the chapter's scores of ``n_score`` samples (``z`` seed 2) against the training images,
    and the real-vs-real baseline, from the classifier of the model cache."""
    from course_lib.gan import from_tanh_range
    from course_lib.gan.classifier import classifier_accuracy
    from course_lib.gan.sample_quality import digit_scores, real_vs_real_baseline
    from course_lib.recipes.classifier import trained_classifier

    data = built.extras["data"]
    gan = built.extras["gan"]
    n_score = min(len(data.x_test), built.sizes.n_score)
    z = gan.sample_z(n_score, seed=SCORE_SEED)
    images = from_tanh_range(gan.generator(z, training=False).numpy())
    classifier, _ = trained_classifier(built.profile, strategy=built.strategy)
    inception, fd = digit_scores(classifier, images, data.x_train)
    baseline = real_vs_real_baseline(classifier, data.x_train, data.x_test[:n_score])
    return {
        "fd": fd,
        "inception_score": inception,
        "real_fd": baseline.fd,
        "real_inception_score": baseline.inception_score,
        "classifier_accuracy": classifier_accuracy(classifier, data.x_test, data.y_test),
    }


def cache_key(profile: Profile, *, steps: int | None = None, seed: int = 0) -> Any:
    """The model-cache key of the DCGAN :func:`build` + ``steps`` steps produce."""
    from course_lib.training.model_cache import CacheKey

    s = sizes(profile).with_steps(steps)
    train_only = {k: v for k, v in config_dict(s).items() if k not in ("eval_every", "n_score")}
    return CacheKey(
        name=CACHE_NAME,
        config={
            "model": config_dict(s.model_config()),
            "recipe": train_only,
            "precision": current_precision(),
        },
        data=mnist_digest(profile),
        steps=s.steps,
        seed=seed,
    )


RECIPE = Recipe(
    name=NAME,
    description="chapter 05/03: DCGAN on MNIST; metric: classifier FD and IS of its samples",
    sizes=sizes,
    build_fn=build,
    cache_key_fn=cache_key,
)

__all__ = ["RECIPE", "GANSizes", "build", "cache_key", "evaluate", "sizes"]
