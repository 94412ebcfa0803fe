"""Reproducible runs: one call seeds every random number generator the course uses."""

from __future__ import annotations


def set_seed(seed: int = 0, *, deterministic_ops: bool = False) -> None:
    """Seed Python's ``random``, NumPy, TensorFlow and Keras in one call.

    ``keras.utils.set_random_seed`` seeds all three generators, so random draws (initial
    weights, shuffles, noise) repeat from run to run. Whether every computed value repeats
    to the last bit also depends on the kernels: ``deterministic_ops=True`` asks TensorFlow
    for deterministic ones (``tf.config.experimental.enable_op_determinism``), which matters
    above all on GPUs, where some kernels are not deterministic by default, and costs speed.
    It cannot be switched off again in the same process.
    """
    import keras
    import tensorflow as tf

    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    keras.utils.set_random_seed(seed)
    if deterministic_ops:
        tf.config.experimental.enable_op_determinism()
