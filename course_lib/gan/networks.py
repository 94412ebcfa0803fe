"""The generator ``G: z -> x`` and the discriminator ``D: x -> logit``, MLP and DCGAN.

Value ranges:

* ``mlp``: the generator's output is linear (unbounded), for data such as the ring of
  Gaussians, whose coordinates are not confined to an interval.
* ``dcgan``: the generator ends in ``tanh``, so its images lie in ``[-1, 1]``; real images
  must be scaled the same way before training: :func:`to_tanh_range` maps ``[0, 1]``
  (what :func:`course_lib.data.to_float` returns) to ``[-1, 1]``, and
  :func:`from_tanh_range` maps generated images back for display.

The discriminator returns one *logit* per example, ``(B, 1)``: ``D(x) = sigmoid(logit)`` for
the cross-entropy losses, or the critic's score ``f(x) = logit`` for ``wgan_gp``. It has no
batch normalisation, so each example's output depends on that example only (the gradient
penalty is defined per example; Gulrajani et al. 2017 leave batch norm out of the critic).
For ``wgan_gp`` it has no dropout either (:class:`GANConfig` enforces ``dropout = 0``), so
the critic is one deterministic function and the penalty constrains the gradient of the
function that scores the samples.

The DCGAN layout: the *generator* follows Radford et al. (2016, "Unsupervised Representation
Learning with Deep Convolutional Generative Adversarial Networks", Section 3: a projection of
``z`` reshaped to a small feature map, fractionally-strided convolutions, batch norm and ReLU in
every layer but the output, ``tanh`` at the output). The *discriminator* does not: the DCGAN
paper's has batch norm (all layers but the input) and no dropout; this one is the TensorFlow
DCGAN tutorial's (two 5x5 stride-2 convolutions, LeakyReLU, dropout 0.3, no batch norm), with
the LeakyReLU slope 0.2 of the DCGAN paper.
"""

from __future__ import annotations

import keras
import numpy as np

from course_lib.gan.config import GANConfig
from course_lib.runtime.validation import check_array


def to_tanh_range(x: np.ndarray) -> np.ndarray:
    """Images in ``[0, 1]`` -> ``2 x - 1`` in ``[-1, 1]``, the range of the DCGAN generator.

    ``x`` is float intensities in ``[0, 1]``, any shape; uint8 images (0..255) are refused
    rather than mapped to ``[-1, 509]``: convert them with :func:`course_lib.data.to_float`.
    """
    x = check_array("x", x, kind="float", finite=True, dtype=np.float32)
    if x.size and (x.min() < 0.0 or x.max() > 1.0):
        raise ValueError(
            f"x must lie in [0, 1], got range [{x.min():.3g}, {x.max():.3g}] "
            "(uint8 grey values: course_lib.data.to_float first)"
        )
    return 2.0 * x - 1.0


def from_tanh_range(x) -> np.ndarray:
    """Generated images in ``[-1, 1]`` -> ``(x + 1) / 2`` in ``[0, 1]``, ready to plot.

    Values outside ``[-1, 1]`` are clipped; NaN is refused.
    """
    x = check_array("x", x, kind="number", finite=True, dtype=np.float32)
    return np.clip((x + 1.0) / 2.0, 0.0, 1.0)


def build_generator(cfg: GANConfig) -> keras.Model:
    """``z (B, latent_dim) -> x (B, *data_shape)``.

    ``mlp``: Dense(``hidden``, ReLU) layers, then a linear Dense to ``D`` values.
    ``dcgan``: Dense -> ``(H/4, W/4, F2)`` -> BN, ReLU -> Conv2DTranspose(F1, stride 2) ->
    BN, ReLU -> Conv2DTranspose(C, stride 2) -> ``tanh``, images in ``[-1, 1]``.
    """
    z = keras.Input(shape=(cfg.latent_dim,), name="z")
    if cfg.kind == "mlp":
        h = z
        for width in cfg.hidden:
            h = keras.layers.Dense(width, activation="relu")(h)  # (B, width)
        x = keras.layers.Dense(cfg.data_shape[0], name="x")(h)  # (B, D), linear
        return keras.Model(z, x, name="mlp_generator")
    height, width, channels = cfg.data_shape
    f1, f2 = cfg.filters
    k = cfg.kernel_size
    # No bias before a batch norm: the batch norm's offset is the bias.
    h = keras.layers.Dense((height // 4) * (width // 4) * f2, use_bias=False)(z)
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.ReLU()(h)
    # (B, H/4, W/4, F2)
    h = keras.layers.Reshape((height // 4, width // 4, f2))(h)
    # (B, H/2, W/2, F1)
    h = keras.layers.Conv2DTranspose(f1, k, strides=2, padding="same", use_bias=False)(h)
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.ReLU()(h)
    # (B, H, W, C)
    h = keras.layers.Conv2DTranspose(channels, k, strides=2, padding="same")(h)
    # in [-1, 1]
    x = keras.layers.Activation("tanh", dtype="float32", name="x")(h)
    return keras.Model(z, x, name="dcgan_generator")


def build_discriminator(cfg: GANConfig) -> keras.Model:
    """``x (B, *data_shape) -> logit (B, 1)``.

    ``mlp``: Dense(``hidden``) layers with LeakyReLU (and dropout), then Dense(1).
    ``dcgan``: Conv2D(F1, stride 2) -> LeakyReLU -> Conv2D(F2, stride 2) -> LeakyReLU
    (each followed by dropout if ``cfg.dropout > 0``) -> Flatten -> Dense(1).
    """
    x = keras.Input(shape=cfg.data_shape, name="x")
    h = x
    if cfg.kind == "mlp":
        # (B, width) each
        layers = [keras.layers.Dense(width) for width in cfg.hidden]
    else:
        # (B, H/2, W/2, F1), then (B, H/4, W/4, F2)
        layers = [
            keras.layers.Conv2D(f, cfg.kernel_size, strides=2, padding="same") for f in cfg.filters
        ]
    for layer in layers:
        h = keras.layers.LeakyReLU(negative_slope=cfg.leaky_slope)(layer(h))
        if cfg.dropout > 0:
            h = keras.layers.Dropout(cfg.dropout)(h)
    if cfg.kind == "dcgan":
        # (B, H/4 * W/4 * F2)
        h = keras.layers.Flatten()(h)
    # (B, 1)
    logit = keras.layers.Dense(1, dtype="float32", name="logit")(h)
    return keras.Model(x, logit, name=f"{cfg.kind}_discriminator")
