"""Recipe ``vae``: chapter 05 part 2's 2-D VAE on binarised MNIST, metric the held-out ELBO.

The run of ``chapters/05_practice/02_vae_mnist.ipynb`` (cells 3, 7 and 15):
``VAEConfig(latent_dim=2, kind="mlp")`` (encoder ``784 -> 512 -> 256 -> 2 x 2``, decoder
``2 -> 256 -> 512 -> 784`` Bernoulli logits), ``VAE(cfg, seed=0)``, Adam with step size
``1e-3``, batches of ``profile.batch_size`` images (64 / 128 / 128) binarised afresh every epoch
(:func:`~course_lib.data.binarize_dynamic_tf`), 5 / 20 / 50 epochs in ``ci`` / ``student`` /
``full``, one record per epoch validated on the held-out images binarised once (seed 0). The
loss is the negative ELBO per image (one sample of ``z``), in nats:

.. math:: -\\mathcal{L}(x) = -\\mathbb{E}_{q(z\\mid x)}[\\ln p(x\\mid z)]
          + \\mathrm{KL}(q(z\\mid x)\\,\\|\\,\\mathcal{N}(0, I)),

and the metric is the held-out ELBO ``L`` (nats per image; higher is better), as the chapter's
last record reports it.
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
    task_means,
)
from course_lib.recipes.mnist import mnist_data, mnist_digest
from course_lib.runtime.profiles import Profile
from course_lib.runtime.seeding import set_seed
from course_lib.runtime.validation import check_int

NAME = "vae"
CACHE_NAME = "mnist_vae_2d"
EVAL_BATCH = 500


@dataclass(frozen=True)
class VAESizes:
    """The chapter's sizes for one profile.

    Attributes:
        latent_dim: dimensions of ``z``.
        kind: the VAE's networks (``"mlp"``).
        epochs: passes over the training images.
        batch_size: images per optimizer step (the profile's ``batch_size``).
        learning_rate: Adam's step size.
        steps: ``None`` (``epochs`` passes), or a number of steps that replaces them.
    """

    epochs: int
    batch_size: int
    latent_dim: int = 2
    kind: str = "mlp"
    learning_rate: float = 1e-3
    steps: int | None = None

    def with_steps(self, steps: int | None) -> VAESizes:
        """These sizes for a run of ``steps`` steps (``None``: ``epochs`` passes)."""
        if steps is None:
            return self
        return dataclasses.replace(self, steps=check_int("steps", steps, minimum=1))


def sizes(profile: Profile) -> VAESizes:
    """The chapter's sizes in ``profile`` (cells 3 and 15 of 05/02)."""
    return VAESizes(epochs=profile.pick(ci=5, student=20, full=50), batch_size=profile.batch_size)


def build(
    profile: Profile, *, strategy: Any = None, seed: int = 0, steps: int | None = None
) -> Built:
    """Seed, build the VAE, its Adam and task, the training batches (grey images binarised
    afresh each epoch, float32 ``(B, 28, 28, 1)``) and the held-out batches (binarised once,
    seed 0, 500 per batch). ``steps`` replaces the epochs."""
    import keras

    from course_lib.data import binarize_dynamic, binarize_dynamic_tf, make_dataset, to_float
    from course_lib.training import TrainConfig
    from course_lib.vae import VAE, VAEConfig, make_task

    seed = check_int("seed", seed, minimum=0)
    s = sizes(profile).with_steps(steps)
    strategy = strategy_or_default(strategy)
    data = mnist_data(profile)
    x_train = to_float(data.x_train)
    x_eval = binarize_dynamic(to_float(data.x_test), seed=0)
    set_seed(seed)
    cfg = VAEConfig(latent_dim=s.latent_dim, kind=s.kind)
    with strategy.scope():
        vae = VAE(cfg, seed=seed)
        optimizer = keras.optimizers.Adam(learning_rate=s.learning_rate)
    train_ds = make_dataset(
        x_train, batch_size=s.batch_size, seed=seed, map_fn=binarize_dynamic_tf, map_with_seed=True
    )
    eval_ds = make_dataset(x_eval, batch_size=EVAL_BATCH, shuffle=False)
    per_epoch = math.ceil(len(x_train) / s.batch_size)
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
    flops = 3.0 * (forward_flops(vae.encoder) + forward_flops(vae.decoder))
    return Built(
        name=NAME,
        profile=profile,
        sizes=s,
        # the encoder and decoder hold every weight (the VAE wrapper is never called, so
        # Keras does not count it as built)
        models={"encoder": vae.encoder, "decoder": vae.decoder},
        task=make_task(vae, optimizer),
        train_data=train_ds,
        val_data=eval_ds,
        train_config=config,
        items_per_batch=s.batch_size,
        unit="images",
        training_flops_per_item=flops,
        metric="elbo",
        metric_label="held-out ELBO",
        metric_unit="nats",
        evaluate_fn=evaluate,
        strategy=strategy,
        seed=seed,
        steps=total,
        extras={"vae": vae, "data": data, "config": cfg, "x_eval": x_eval, "eval_data": eval_ds},
    )


def evaluate(built: Built) -> dict[str, float]:
    """``{"elbo": mean held-out ELBO (nats per image), "reconstruction", "kl"}``: the
    training loop's validation of the chapter (one ``z`` per image), ``elbo = -loss``."""
    means = task_means(built, built.extras["eval_data"])
    out = {"elbo": -means["loss"]}
    out.update({k: v for k, v in means.items() if k != "loss"})
    return out


def cache_key(profile: Profile, *, steps: int | None = None, seed: int = 0) -> Any:
    """The model-cache key of the VAE :func:`build` + its run produce."""
    from course_lib.training.model_cache import CacheKey
    from course_lib.vae import VAEConfig

    s = sizes(profile).with_steps(steps)
    data = mnist_data(profile)
    per_epoch = math.ceil(len(data.x_train) / s.batch_size)
    cfg = VAEConfig(latent_dim=s.latent_dim, kind=s.kind)
    return CacheKey(
        name=CACHE_NAME,
        config={
            "model": config_dict(cfg),
            "recipe": config_dict(s),
            "precision": current_precision(),
        },
        data=mnist_digest(profile),
        steps=s.steps if s.steps is not None else s.epochs * per_epoch,
        seed=seed,
    )


RECIPE = Recipe(
    name=NAME,
    description="chapter 05/02: 2-D VAE on binarised MNIST; metric: held-out ELBO (nats)",
    sizes=sizes,
    build_fn=build,
    cache_key_fn=cache_key,
)

__all__ = ["RECIPE", "VAESizes", "build", "cache_key", "evaluate", "sizes"]
