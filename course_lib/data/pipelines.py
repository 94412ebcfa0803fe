"""tf.data input pipelines built from NumPy arrays, and dynamic binarisation inside them.

TensorFlow is imported inside the functions, so ``import course_lib.data`` stays light.

Pipeline order (see :func:`make_dataset`)::

    from_tensor_slices -> cache -> shuffle -> [repeat] -> map -> batch -> prefetch
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # only for type checkers; importing TensorFlow is slow
    import tensorflow as tf


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def make_dataset(
    x: np.ndarray,
    y: np.ndarray | None = None,
    *,
    batch_size: int,
    shuffle: bool = True,
    seed: int = 0,
    cache: bool = True,
    drop_remainder: bool = False,
    map_fn: Callable[..., Any] | None = None,
    map_with_seed: bool = False,
    repeat: bool = False,
) -> tf.data.Dataset:
    """A batched, prefetched ``tf.data.Dataset`` over NumPy arrays.

    Elements are ``x[i]`` or, with labels, ``(x[i], y[i])``; batches stack ``batch_size`` of
    them, e.g. ``x`` ``(N, 28, 28, 1)`` gives batches ``(B, 28, 28, 1)`` (the last one smaller
    unless ``drop_remainder``). Order: ``from_tensor_slices`` -> ``cache`` -> ``shuffle``
    (buffer = N, so a uniform permutation; ``reshuffle_each_iteration=True``) -> ``repeat``
    (if asked: forever) -> ``map`` (``AUTOTUNE`` parallel calls, deterministic order) ->
    ``batch`` -> ``prefetch(AUTOTUNE)``.

    Determinism: the same ``seed`` gives the same sequence of epochs (each epoch a different
    permutation), given the same TensorFlow global seed state.

    ``map_fn`` is applied per element: ``map_fn(x)`` or ``map_fn(x, y)``. With
    ``map_with_seed=True`` it also gets a last argument ``seed``, an int64 tensor of shape (2,)
    that differs for every element and every epoch and is reproducible from ``seed`` -- made for
    stateless random ops, e.g. dynamic binarisation with fresh samples each epoch::

        make_dataset(to_float(x), batch_size=128, map_fn=binarize_dynamic_tf, map_with_seed=True)
        make_dataset(to_float(x), y, batch_size=128, map_with_seed=True,
                     map_fn=lambda img, label, s: (binarize_dynamic_tf(img, s), label))
    """
    import tensorflow as tf

    batch_size = _check_int("batch_size", batch_size, 1)
    seed = _check_int("seed", seed, 0)
    x = np.asarray(x)
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"x must be an array with at least one example, got shape {x.shape}")
    if y is not None:
        y = np.asarray(y)
        if y.ndim == 0 or len(y) != len(x):
            raise ValueError(
                f"x and y must have the same length, got {len(x)} and "
                f"{'a scalar' if y.ndim == 0 else len(y)}"
            )
    if map_fn is not None and not callable(map_fn):
        raise TypeError(f"map_fn must be callable or None, got {type(map_fn).__name__}")
    if map_with_seed and map_fn is None:
        raise ValueError("map_with_seed=True needs a map_fn that takes the seed")

    ds = tf.data.Dataset.from_tensor_slices(x if y is None else (x, y))
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    if map_fn is not None:
        fn = map_fn
        if map_with_seed:
            # An endless stream of int64s, redrawn for every pass over the dataset, is zipped
            # onto the elements; (seed, r) is then a distinct stateless seed per element/epoch.
            randoms = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
            ds = tf.data.Dataset.zip((ds, randoms))
            base = tf.constant(seed, tf.int64)

            def seeded(element: Any, r: tf.Tensor) -> Any:
                args = element if isinstance(element, tuple) else (element,)
                return map_fn(*args, tf.stack([base, r]))

            fn = seeded

        ds = ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    return ds.prefetch(tf.data.AUTOTUNE)


def binarize_dynamic_tf(x: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Stochastic binarisation in TensorFlow: ``x_bin ~ Bernoulli(x)`` per pixel, ``x`` in [0, 1].

    ``x`` is float intensities in [0, 1] (uint8 is scaled by 1/255), any shape; the result is
    float32 0/1 of the same shape with ``E[x_bin] = x``. ``seed`` is an integer tensor of shape
    (2,): the same seed gives the same sample (``tf.random.stateless_uniform``), so inside a
    ``tf.data`` map pass a per-element, per-epoch seed -- :func:`make_dataset` with
    ``map_with_seed=True`` provides one. See :func:`course_lib.data.images.binarize_dynamic`.
    """
    import tensorflow as tf

    x = tf.convert_to_tensor(x)
    x = tf.cast(x, tf.float32) / 255.0 if x.dtype == tf.uint8 else tf.cast(x, tf.float32)
    u = tf.random.stateless_uniform(tf.shape(x), seed=tf.cast(seed, tf.int64), dtype=tf.float32)
    return tf.cast(u < x, tf.float32)
