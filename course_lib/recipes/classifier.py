"""Recipe ``classifier``: the MNIST classifier that scores chapter 05's GAN samples; test accuracy.

The run of :func:`course_lib.gan.classifier.train_classifier` as
``chapters/05_practice/03_gan_mnist.ipynb`` calls it (``epochs=2``, its defaults ``seed=0``,
``batch_size=64``, ``learning_rate=1e-3``) on the chapter's MNIST subset
(:func:`~course_lib.recipes.mnist.mnist_data`: at most 2,000 / 20,000 / all training
images in ``ci`` / ``student`` / ``full``): :func:`~course_lib.gan.classifier.build_classifier` (two
3x3 convolutions with 2x2 max-pooling, ``Dense(128)`` features, ``Dense(10)`` logits), Adam
on the per-example cross-entropy ``-ln softmax(logits)_y``, one record per epoch. The metric
is the held-out accuracy, ``(1/M) sum_i [argmax_c p(c | x_i) = y_i]``, on the subset's test
images. The GAN recipe obtains this classifier through the model cache
(:func:`trained_classifier`).
"""

from __future__ import annotations

import dataclasses
import math
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

NAME = "classifier"
CACHE_NAME = "mnist_classifier"


@dataclass(frozen=True)
class ClassifierSizes:
    """``train_classifier``'s settings as chapter 05/03 uses them (the same in every
    profile; the profile changes only the number of images).

    Attributes:
        epochs: passes over the training images.
        batch_size: images per optimizer step.
        learning_rate: Adam's step size.
        steps: ``None`` (``epochs`` passes), or a number of steps that replaces them.
    """

    epochs: int = 2
    batch_size: int = 64
    learning_rate: float = 1e-3
    steps: int | None = None

    def with_steps(self, steps: int | None) -> ClassifierSizes:
        """These settings for a run of ``steps`` steps (``None``: ``epochs`` passes)."""
        if steps is None:
            return self
        return dataclasses.replace(self, steps=check_int("steps", steps, minimum=1))


def sizes(profile: Profile) -> ClassifierSizes:
    """The settings in ``profile`` (equal in all three)."""
    return ClassifierSizes(
        epochs=profile.pick(ci=2, student=2, full=2),
    )


def build(
    profile: Profile, *, strategy: Any = None, seed: int = 0, steps: int | None = None
) -> Built:
    """Seed, build the classifier, its Adam and supervised task, and the shuffled batches of
    ``(x, y)`` (``x`` float32 ``(B, 28, 28, 1)`` in [0, 1], ``y`` ``(B,)``), as
    ``train_classifier`` does. ``steps`` replaces the epochs."""
    import keras

    from course_lib.data import make_dataset, to_float
    from course_lib.gan.classifier import _accuracy, _cross_entropy, build_classifier
    from course_lib.training import TrainConfig, supervised_task

    seed = check_int("seed", seed, minimum=0)
    s = sizes(profile).with_steps(steps)
    strategy = strategy_or_default(strategy)
    data = mnist_data(profile)
    x, y = to_float(data.x_train), data.y_train.astype("int32")
    set_seed(seed)
    with strategy.scope():
        model = build_classifier()
        optimizer = keras.optimizers.Adam(s.learning_rate)
    task = supervised_task(model, _cross_entropy, optimizer, metrics={"accuracy": _accuracy})
    per_epoch = math.ceil(len(x) / s.batch_size)
    if s.steps is None:
        config = TrainConfig(epochs=s.epochs, progress=progress_for(profile))
        total = s.epochs * per_epoch
    else:
        config = TrainConfig(
            steps=s.steps,
            eval_every=min(per_epoch, s.steps),
            progress=progress_for(profile),
        )
        total = s.steps
    return Built(
        name=NAME,
        profile=profile,
        sizes=s,
        models={"model": model},
        task=task,
        train_data=make_dataset(x, y, batch_size=s.batch_size, seed=seed),
        val_data=None,
        train_config=config,
        items_per_batch=s.batch_size,
        unit="images",
        training_flops_per_item=3.0 * forward_flops(model),
        metric="accuracy",
        metric_label="test accuracy",
        metric_unit="",
        evaluate_fn=evaluate,
        strategy=strategy,
        seed=seed,
        steps=total,
        extras={"data": data},
    )


def evaluate(built: Built) -> dict[str, float]:
    """``{"accuracy": share of the subset's held-out digits classified correctly}``."""
    from course_lib.gan.classifier import classifier_accuracy

    data = built.extras["data"]
    return {"accuracy": classifier_accuracy(built.models["model"], data.x_test, data.y_test)}


def cache_key(profile: Profile, *, steps: int | None = None, seed: int = 0) -> Any:
    """The model-cache key of the classifier :func:`build` + its run produce."""
    from course_lib.gan.classifier import ARCHITECTURE_VERSION
    from course_lib.training.model_cache import CacheKey

    s = sizes(profile).with_steps(steps)
    data = mnist_data(profile)
    total = (
        s.steps if s.steps is not None else s.epochs * math.ceil(len(data.x_train) / s.batch_size)
    )
    return CacheKey(
        name=CACHE_NAME,
        config={
            "architecture": ARCHITECTURE_VERSION,
            "recipe": config_dict(s),
            "precision": current_precision(),
        },
        data=mnist_digest(profile),
        steps=total,
        seed=seed,
    )


def trained_classifier(profile: Profile, *, seed: int = 0, strategy: Any = None) -> Any:
    """The trained classifier of ``profile``, from the model cache (trained and stored on a
    miss): ``(model, cache result)``. The GAN recipe scores its samples with it."""
    from course_lib.training import Trainer
    from course_lib.training.model_cache import ModelCache

    built = build(profile, strategy=strategy, seed=seed)
    trainer = Trainer(built.task, built.train_config, strategy=built.strategy)
    result = ModelCache().load_or_train(
        cache_key(profile, seed=seed),
        built.models,
        train=lambda: trainer.fit(built.train_data, built.val_data),
    )
    return built.models["model"], result


RECIPE = Recipe(
    name=NAME,
    description="chapter 05/03: the MNIST classifier that scores GAN samples; test accuracy",
    sizes=sizes,
    build_fn=build,
    cache_key_fn=cache_key,
)

__all__ = [
    "RECIPE",
    "ClassifierSizes",
    "build",
    "cache_key",
    "evaluate",
    "sizes",
    "trained_classifier",
]
