"""The GAN's architecture and loss, as data (:class:`GANConfig`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

KINDS = ("mlp", "dcgan")
LOSSES = ("non_saturating", "minimax", "wgan_gp")
# Defaults that depend on the kind (a field left at ``None`` takes these):
# 8 latent dimensions are plenty for 2-D toy data (more than the 2 data dimensions, so G
# can fold its Gaussian into 8 separate modes); 64 is a small latent for 28x28 digits
# (the DCGAN paper uses 100, the TensorFlow DCGAN tutorial 100).
DEFAULT_LATENT_DIM = {"mlp": 8, "dcgan": 64}
DEFAULT_DATA_SHAPE = {"mlp": (2,), "dcgan": (28, 28, 1)}
# Dropout 0.3 in the DCGAN discriminator is the TensorFlow DCGAN tutorial's value
# (https://www.tensorflow.org/tutorials/generative/dcgan) and the setting of the course's
# few-minute CPU run on MNIST; the toy MLP trains well without. A Wasserstein critic
# (``loss="wgan_gp"``) gets none, whatever the kind: see GANConfig.dropout.
DEFAULT_DROPOUT = {"mlp": 0.0, "dcgan": 0.3}


def _is_int(value: object, minimum: int = 1) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, np.integer)) and value >= minimum


@dataclass(frozen=True)
class GANConfig:
    """Which networks and which loss.

    Attributes:
        kind: ``"mlp"`` (Dense networks for vectors, e.g. the 2-D ring) or ``"dcgan"``
            (convolutional networks for ``(H, W, C)`` images, ``H`` and ``W`` divisible by 4).
        loss: ``"non_saturating"`` (D: cross-entropy; G minimises ``-log D(G(z))``),
            ``"minimax"`` (D: the same; G minimises ``log(1 - D(G(z)))``, the saturating
            form of Goodfellow et al. 2014) or ``"wgan_gp"`` (a critic ``f`` with the
            Wasserstein loss and a gradient penalty, Gulrajani et al. 2017).
        latent_dim: size of ``z ~ N(0, I)``; ``None``: 8 for ``mlp``, 64 for ``dcgan``.
        data_shape: shape of one example ``x``; ``None``: ``(2,)`` for ``mlp``,
            ``(28, 28, 1)`` for ``dcgan``. ``mlp`` needs a 1-D shape ``(D,)``.
        hidden: widths of the hidden Dense layers of the MLP generator and discriminator.
        filters: ``(F1, F2)``: the DCGAN discriminator's two stride-2 convolutions have
            ``F1`` and ``F2`` filters; the generator mirrors them (``F2`` at ``H/4``, ``F1``
            at ``H/2``).
        kernel_size: kernel of every DCGAN convolution.
        dropout: dropout rate after each hidden layer of the discriminator (0: none);
            ``None``: 0 for ``mlp``, 0.3 for ``dcgan``, and 0 for every kind when
            ``loss="wgan_gp"``. A Wasserstein critic must be a deterministic function of its
            input: the gradient penalty constrains ``grad_x f`` of *that* function, and with
            dropout each call (the scores, the penalty) would see another random sub-network.
            Gulrajani et al. (2017) leave batch norm out of the critic (Section 4, "No critic
            batch normalization"), and the critics of their code (github.com/igul222/
            improved_wgan_training, ``gan_toy.py``, ``gan_mnist.py``) have no dropout either;
            so ``loss="wgan_gp"`` with ``dropout > 0`` raises.
        leaky_slope: slope of the discriminator's LeakyReLU for negative inputs.
        gp_weight: ``lambda`` of the gradient penalty (``wgan_gp`` only).
    """

    kind: str = "mlp"
    loss: str = "non_saturating"
    latent_dim: int | None = None
    data_shape: tuple[int, ...] | None = None
    hidden: tuple[int, ...] = (128, 128)
    filters: tuple[int, int] = (64, 128)
    kernel_size: int = 5
    dropout: float | None = None
    leaky_slope: float = 0.2
    gp_weight: float = 10.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"GANConfig.kind must be one of {KINDS}, got {self.kind!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"GANConfig.loss must be one of {LOSSES}, got {self.loss!r}")
        if self.latent_dim is None:  # resolve the kind-dependent defaults
            object.__setattr__(self, "latent_dim", DEFAULT_LATENT_DIM[self.kind])
        if self.data_shape is None:
            object.__setattr__(self, "data_shape", DEFAULT_DATA_SHAPE[self.kind])
        if self.dropout is None:
            object.__setattr__(
                self, "dropout", 0.0 if self.loss == "wgan_gp" else DEFAULT_DROPOUT[self.kind]
            )
        object.__setattr__(self, "data_shape", tuple(self.data_shape))
        if not _is_int(self.latent_dim) or self.latent_dim > 1024:
            raise ValueError(
                f"GANConfig.latent_dim must be an int in 1..1024, got {self.latent_dim!r}"
            )
        shape = self.data_shape
        if not shape or not all(_is_int(s) for s in shape):
            raise ValueError(
                f"GANConfig.data_shape must be a tuple of positive ints, got {shape!r}"
            )
        if self.kind == "mlp" and len(shape) != 1:
            raise ValueError(
                f"kind 'mlp' needs a 1-D data_shape (D,), got {shape} (use kind 'dcgan' for images)"
            )
        if self.kind == "dcgan" and (len(shape) != 3 or shape[0] % 4 or shape[1] % 4):
            raise ValueError(
                f"kind 'dcgan' needs data_shape (H, W, C) with H and W divisible by 4, got {shape}"
            )
        if not self.hidden or not all(_is_int(h) for h in self.hidden):
            raise ValueError(
                f"GANConfig.hidden must be a non-empty tuple of positive ints, got {self.hidden!r}"
            )
        if len(self.filters) != 2 or not all(_is_int(f) for f in self.filters):
            raise ValueError(
                f"GANConfig.filters must be two positive ints (F1, F2), got {self.filters!r}"
            )
        if not _is_int(self.kernel_size):
            raise ValueError(
                f"GANConfig.kernel_size must be a positive int, got {self.kernel_size!r}"
            )
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"GANConfig.dropout must be in [0, 1), got {self.dropout!r}")
        if self.loss == "wgan_gp" and self.dropout > 0:
            raise ValueError(
                f"loss 'wgan_gp' needs a deterministic critic, got dropout={self.dropout!r}: the "
                "gradient penalty would run through random dropout masks (Gulrajani et al. 2017's "
                "critic has no dropout and no batch norm); leave dropout=None or set 0"
            )
        if not 0.0 <= float(self.leaky_slope) < 1.0:
            raise ValueError(f"GANConfig.leaky_slope must be in [0, 1), got {self.leaky_slope!r}")
        if not (math.isfinite(float(self.gp_weight)) and self.gp_weight >= 0):
            raise ValueError(
                f"GANConfig.gp_weight must be a finite number >= 0, got {self.gp_weight!r}"
            )
