"""The MNIST classifier that scores generated digits, and what it sees of an image.

Sample-quality scores of images (:mod:`course_lib.gan.sample_quality`) need a network that
has learnt what digits look like: the Fréchet distance compares its penultimate features,
the Inception-style score its class probabilities. Published FID and IS use an ImageNet
Inception-v3 network; this course trains a small convolutional classifier on MNIST instead
(:func:`build_classifier`, :func:`train_classifier`; nothing is downloaded), caches its
weights keyed by everything that determines them, and reads out:

* :func:`features` -- the 128-d penultimate activations ``(N, 128)``;
* :func:`class_probabilities` -- ``p(y | x)``, ``(N, 10)``;
* :func:`classifier_accuracy` -- the share of correctly classified images.

Images are ``(N, 28, 28, 1)`` (or ``(N, 28, 28)``) with values in [0, 1].
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from course_lib.data import make_dataset, to_float
from course_lib.runtime import set_seed
from course_lib.runtime.validation import check_array, check_int, check_real
from course_lib.training import TrainConfig, Trainer, supervised_task

IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
FEATURE_DIM = 128
FEATURE_LAYER = "features"
# Bump when build_classifier changes: cached weights are then retrained.
ARCHITECTURE_VERSION = 1


# --------------------------------------------------------------------------- input checks
def check_digit_images(x, name: str = "x") -> np.ndarray:
    """``x`` as float32 ``(N, 28, 28, 1)`` in [0, 1].

    uint8 0..255 and ``(N, 28, 28)`` are accepted.
    """
    x = np.asarray(x)
    good_shape = x.ndim in (3, 4) and x.shape[1:3] == (28, 28) and x.shape[3:] in ((), (1,))
    if not good_shape or not len(x):
        hint = " (add a batch axis: x[None])" if x.shape in ((28, 28), IMAGE_SHAPE) else ""
        raise ValueError(
            f"{name} must be a non-empty batch of images (N, 28, 28, 1) or (N, 28, 28), "
            f"got shape {x.shape}{hint}"
        )
    if x.dtype != np.uint8:
        if not np.issubdtype(x.dtype, np.floating):
            raise TypeError(
                f"{name} must be float in [0, 1] or uint8 in 0..255, got dtype {x.dtype}"
            )
        # False for NaN, so NaN is refused too.
        if not ((x >= 0) & (x <= 1)).all():
            low, high = np.nanmin(x), np.nanmax(x)
            hint = ""
            if low >= -1 and high <= 1:
                hint = "; map a tanh generator's output with (x + 1) / 2"
            raise ValueError(f"{name} must lie in [0, 1], got range [{low:.3g}, {high:.3g}]{hint}")
    return to_float(x)


def _labels(y, n: int, name: str = "y") -> np.ndarray:
    """``y`` as int32 ``(n,)`` class labels in 0..9."""
    y = check_array(name, y, kind="int")
    if y.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), one label per image, got {y.shape}")
    if y.min() < 0 or y.max() >= NUM_CLASSES:
        raise ValueError(
            f"{name} must be labels in 0..{NUM_CLASSES - 1}, got range [{y.min()}, {y.max()}]"
        )
    return y.astype(np.int32)


# --------------------------------------------------------------------------- the classifier
def build_classifier() -> keras.Model:
    """A small CNN, ``x (B, 28, 28, 1)`` in [0, 1] ``-> logits (B, 10)``.

    Two 3x3 ``Conv2D`` (32 and 64 filters, ReLU, 'same'), each followed by 2x2 max-pooling,
    then ``Dense(128, ReLU)`` named ``"features"`` (the penultimate layer that
    :func:`features` reads) and a linear ``Dense(10)`` named ``"logits"``.
    """
    x = keras.Input(shape=IMAGE_SHAPE, name="x")
    # (B, 28, 28, 32), then (B, 14, 14, 32)
    h = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    h = keras.layers.MaxPooling2D()(h)
    # (B, 14, 14, 64), then (B, 7, 7, 64)
    h = keras.layers.Conv2D(64, 3, padding="same", activation="relu")(h)
    h = keras.layers.MaxPooling2D()(h)
    # (B, 3136)
    h = keras.layers.Flatten()(h)
    # (B, 128)
    f = keras.layers.Dense(FEATURE_DIM, activation="relu", name=FEATURE_LAYER)(h)
    # (B, 10)
    logits = keras.layers.Dense(NUM_CLASSES, name="logits")(f)
    return keras.Model(x, logits, name=f"mnist_classifier_v{ARCHITECTURE_VERSION}")


def _cross_entropy(y_true: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """``-log softmax(logits)_y`` per example, ``(B,)``."""
    return keras.losses.sparse_categorical_crossentropy(y_true, logits, from_logits=True)


def _accuracy(y_true: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """1.0 where the most probable class is the label, else 0.0, ``(B,)``."""
    predicted = tf.argmax(logits, -1, output_type=tf.int32)
    return tf.cast(tf.equal(predicted, tf.cast(y_true, tf.int32)), tf.float32)


def train_classifier(
    x_train,
    y_train,
    *,
    epochs: int,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
) -> keras.Model:
    """Train :func:`build_classifier` and return it (or load it from the cache).

    Adam on the per-example sparse cross-entropy ``-log softmax(logits)_y``, through
    :class:`course_lib.training.Trainer`.

    ``x_train``: images ``(N, 28, 28[, 1])`` (uint8 or float in [0, 1]); ``y_train``: ints
    ``(N,)`` in 0..9. With ``cache_dir`` (e.g. ``get_paths().run_dir("mnist_classifier")``)
    the weights are saved as ``classifier-<key>.weights.h5`` and loaded instead of retraining
    when the key matches: a hash of the data's checksum, ``epochs``, ``seed``, ``batch_size``,
    ``learning_rate`` and :data:`ARCHITECTURE_VERSION`.
    """
    x = check_digit_images(x_train, "x_train")
    y = _labels(y_train, len(x), "y_train")
    settings = {
        "epochs": check_int("epochs", epochs, minimum=1),
        "seed": check_int("seed", seed, minimum=0),
        "batch_size": check_int("batch_size", batch_size, minimum=1),
        "learning_rate": check_real("learning_rate", learning_rate, minimum=0.0, strict=True),
    }
    set_seed(settings["seed"])
    model = build_classifier()
    path = None
    if cache_dir is not None:
        # The data's checksum, then a key over the data and every setting.
        data = hashlib.sha256(x.tobytes() + y.tobytes()).hexdigest()
        key = json.dumps(
            {"data": data, "architecture": ARCHITECTURE_VERSION, **settings}, sort_keys=True
        )
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        path = Path(cache_dir) / f"classifier-{digest}.weights.h5"
        if path.is_file():
            model.load_weights(path)
            return model
    # Per-example (B,) loss and accuracy.
    task = supervised_task(
        model,
        _cross_entropy,
        keras.optimizers.Adam(settings["learning_rate"]),
        metrics={"accuracy": _accuracy},
    )
    dataset = make_dataset(x, y, batch_size=settings["batch_size"], seed=settings["seed"])
    Trainer(task, TrainConfig(epochs=settings["epochs"])).fit(dataset)
    if path is not None:
        # Write, then rename, so an interrupted save never leaves a broken cache.
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"partial-{os.getpid()}-{path.name}")
        model.save_weights(partial)
        partial.replace(path)
    return model


# --------------------------------------------------------------------------- what it sees
def _features_and_logits(model: keras.Model, x, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Penultimate activations ``(N, d)`` and logits ``(N, 10)`` of ``x``, float64.

    ``batch_size`` images at a time.
    """
    if FEATURE_LAYER not in [layer.name for layer in model.layers]:
        raise ValueError(
            f"model has no layer named {FEATURE_LAYER!r}: build it with build_classifier()"
        )
    both = keras.Model(model.inputs[0], [model.get_layer(FEATURE_LAYER).output, model.outputs[0]])
    x = check_digit_images(x)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    feature_parts, logit_parts = [], []
    for first in range(0, len(x), batch_size):
        f, logits = both(x[first : first + batch_size], training=False)
        feature_parts.append(np.asarray(f))
        logit_parts.append(np.asarray(logits))
    return (
        np.concatenate(feature_parts).astype(np.float64),
        np.concatenate(logit_parts).astype(np.float64),
    )


def features(model: keras.Model, x, batch_size: int = 500) -> np.ndarray:
    """Activations of the ``"features"`` layer, ``(N, 128)`` float64.

    ``x``: images ``(N, 28, 28, 1)`` (or ``(N, 28, 28)``), float in [0, 1] or uint8.
    """
    return _features_and_logits(model, x, batch_size)[0]


def class_probabilities(model: keras.Model, x, batch_size: int = 500) -> np.ndarray:
    """``p(y|x) = softmax(logits)`` for images ``x (N, 28, 28, 1)``: ``(N, 10)`` float64.

    Each row sums to 1.
    """
    logits = _features_and_logits(model, x, batch_size)[1]
    # A stable softmax: subtract each row's maximum first.
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def classifier_accuracy(model: keras.Model, x, y, batch_size: int = 500) -> float:
    """Fraction of images ``x`` whose most probable class equals the label ``y (N,)``."""
    probs = class_probabilities(model, x, batch_size)
    y = _labels(y, len(probs))
    return float(np.mean(probs.argmax(axis=1) == y))
