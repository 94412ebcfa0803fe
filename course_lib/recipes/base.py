"""What a recipe is (:class:`Recipe`) and what building one gives: the run, ready (:class:`Built`).

A *recipe* is one course model trained exactly as its chapter trains it: the same sizes per
profile, data, optimizer, schedule and seed. :func:`Recipe.build` returns a :class:`Built`:
the models (built, i.e. with weights), the :class:`~course_lib.training.Task`, the data, the
:class:`~course_lib.training.TrainConfig`, and what a benchmark needs to turn steps per second
into FLOP/s: ``items_per_batch`` (images or tokens per global batch) and
``training_flops_per_item`` (forward and backward FLOPs per image or token).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from course_lib.runtime.profiles import Profile, get_profile

if TYPE_CHECKING:  # TensorFlow is imported only when a recipe is built
    import keras
    import tensorflow as tf

    from course_lib.training import Task, TrainConfig
    from course_lib.training.model_cache import CacheKey

UNITS = ("images", "tokens")


@dataclass
class Built:
    """One course model, built and ready to train (the result of :meth:`Recipe.build`).

    Attributes:
        name: the recipe's name (``"gpt"``, ``"translator"``, ``"classifier"``, ``"vae"``,
            ``"gan"``).
        profile: the run profile whose sizes were used.
        sizes: the recipe's frozen sizes dataclass for that profile.
        models: name -> BUILT Keras model (weights exist; what checkpoints and the model
            cache store).
        task: the :class:`~course_lib.training.Task` the trainer minimises.
        train_data: endless or finite ``tf.data.Dataset`` of GLOBAL batches.
        val_data: one pass of validation batches for the records, or ``None``.
        train_config: the chapter's :class:`~course_lib.training.TrainConfig` (no
            ``checkpoint_dir``: :func:`course_lib.recipes.run` adds it).
        items_per_batch: images, or tokens (``B x T``), in one global batch.
        unit: ``"images"`` or ``"tokens"``.
        training_flops_per_item: FLOPs of one training step per item (forward and backward;
            ``6 N + 12 L T d`` per token for a GPT, counted layer by layer otherwise).
        metric: the key of the chapter's headline number in :meth:`evaluate`'s dict.
        metric_label: how the summary line names that number (e.g. ``"val loss"``).
        metric_unit: its unit (``"nats/char"``, ``""`` ...).
        evaluate_fn: ``evaluate_fn(built) -> {name: float}``: the chapter's metric.
        strategy: the ``tf.distribute`` strategy the models were built under.
        seed: the seed the weights and data order came from.
        steps: total optimizer steps of the run (the schedule is laid over them).
        extras: what else the chapter keeps at hand (tokenizer, held-out arrays ...).
    """

    name: str
    profile: Profile
    sizes: Any
    models: dict[str, keras.Model]
    task: Task
    train_data: tf.data.Dataset
    val_data: tf.data.Dataset | None
    train_config: TrainConfig
    items_per_batch: int
    unit: str
    training_flops_per_item: float
    metric: str
    metric_label: str
    metric_unit: str
    evaluate_fn: Callable[[Built], dict[str, float]]
    strategy: Any
    seed: int
    steps: int
    extras: dict[str, Any] = field(default_factory=dict)

    def evaluate(self) -> dict[str, float]:
        """The chapter's metric(s) of the models as they are now: ``{name: value}``."""
        return dict(self.evaluate_fn(self))

    @property
    def training_flops_per_step(self) -> float:
        """FLOPs of one optimizer step: ``items_per_batch x training_flops_per_item``."""
        return self.items_per_batch * self.training_flops_per_item


@dataclass(frozen=True)
class Recipe:
    """One course model's recipe: how to build it, and the key of its trained weights.

    Attributes:
        name: the name used by ``RECIPES`` and ``python -m course_lib train NAME``.
        description: one line: which chapter, which model, which metric.
        sizes: ``sizes(profile) -> frozen dataclass`` of the chapter's sizes in that profile.
        build_fn: ``build_fn(profile, strategy, seed, steps) -> Built``.
        cache_key_fn: ``cache_key_fn(profile, steps, seed) -> CacheKey``.
    """

    name: str
    description: str
    sizes: Callable[[Profile], Any]
    build_fn: Callable[..., Built]
    cache_key_fn: Callable[..., CacheKey]

    def build(
        self,
        profile: Profile | str | None = None,
        *,
        strategy: Any = None,
        seed: int = 0,
        steps: int | None = None,
    ) -> Built:
        """Seed, load the data and build the models and task under ``strategy`` (default:
        the current one). ``steps`` overrides the chapter's number of steps (the
        learning-rate schedule is then laid over the new number)."""
        return self.build_fn(resolve_profile(profile), strategy=strategy, seed=seed, steps=steps)

    def cache_key(
        self, profile: Profile | str | None = None, steps: int | None = None, seed: int = 0
    ) -> CacheKey:
        """The model-cache key of the weights this recipe trains (config, data, steps, seed)."""
        return self.cache_key_fn(resolve_profile(profile), steps=steps, seed=seed)


def resolve_profile(profile: Profile | str | None) -> Profile:
    """A :class:`Profile` from a profile, a name, or ``None`` (``$COURSE_PROFILE``)."""
    if isinstance(profile, Profile):
        return profile
    if profile is not None and not isinstance(profile, str):
        raise TypeError(f"profile must be a Profile, a name or None, got {type(profile).__name__}")
    return get_profile(profile)


def current_precision() -> str:
    """The global Keras precision policy's name (``"float32"``, ``"mixed_bfloat16"`` ...):
    part of every cache key, since it changes the trained weights."""
    import keras

    return keras.mixed_precision.global_policy().name


def progress_for(profile: Profile) -> str:
    """The training loop's ``progress`` for ``profile``: ``"bar"`` where it shows progress
    (``student``, ``full``), ``"none"`` in ``ci`` (whatever ``$COURSE_PROFILE`` says)."""
    return "bar" if profile.show_progress else "none"


def strategy_or_default(strategy: Any) -> Any:
    """``strategy``, or TensorFlow's current strategy when it is ``None``."""
    import tensorflow as tf

    return strategy if strategy is not None else tf.distribute.get_strategy()


def config_dict(obj: Any) -> Mapping[str, Any]:
    """A frozen dataclass as a plain dict (for cache keys and the run directory's manifest)."""
    import dataclasses

    return dataclasses.asdict(obj)


def forward_flops(model: Any) -> int:
    """Multiply-add FLOPs (2 per multiply-accumulate) of one example's forward pass through
    the ``Dense``, ``Conv2D`` and ``Conv2DTranspose`` layers of a built functional ``model``
    (nested models included), counted from the layers' weights and output shapes:

    * ``Dense``: ``2 d_in d_out`` per position (``d_in x d_out`` kernel);
    * ``Conv2D``: ``2 k_h k_w c_in c_out H_out W_out``;
    * ``Conv2DTranspose``: ``2 k_h k_w c_in c_out H_in W_in`` (each input pixel scatters a
      ``k_h x k_w x c_out`` patch).

    Biases, activations, pooling and normalisation are not counted (a few % of the total for
    the course's CNNs). Training costs about three forward passes (forward, then backward to
    the activations and to the weights): ``6 N`` per example for a dense network with ``N``
    weights, the same rule as a GPT's ``6 N`` per token."""
    import keras

    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += forward_flops(layer)
            continue
        kernel = getattr(layer, "kernel", None)
        if kernel is None:
            continue
        kernel_size = 1
        for n in kernel.shape:
            kernel_size *= int(n)
        if isinstance(layer, keras.layers.Conv2DTranspose):
            h, w = layer.input.shape[1:3]
            total += 2 * kernel_size * int(h) * int(w)
        elif isinstance(layer, keras.layers.Conv2D):
            h, w = layer.output.shape[1:3]
            total += 2 * kernel_size * int(h) * int(w)
        elif isinstance(layer, keras.layers.Dense):
            positions = 1
            for n in layer.output.shape[1:-1]:
                positions *= int(n)
            total += 2 * kernel_size * positions
    return total


def task_means(built: Built, data: Any) -> dict[str, float]:
    """Every validation value of ``built.task`` over one pass of ``data``: the loop's own
    ``total sum / total count`` (:meth:`~course_lib.training.Trainer.evaluate`)."""
    from course_lib.training import Trainer

    return Trainer(built.task, strategy=built.strategy).evaluate(data)
