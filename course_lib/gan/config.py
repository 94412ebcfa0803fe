"""The GAN's architecture and loss, as data (:class:`GANConfig`)."""

from __future__ import annotations

from dataclasses import dataclass

from course_lib.runtime.validation import check_choice, check_int, check_real

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


def _int_tuple(name: str, value: object, length: int | None = None) -> tuple[int, ...]:
    """``value`` as a non-empty tuple of positive ints (of ``length`` items, if given)."""
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"{name} must be a tuple of positive ints, got {value!r}")
    if not value:
        raise ValueError(f"{name} is empty: it needs at least one positive int")
    if length is not None and len(value) != length:
        raise ValueError(f"{name} must have {length} items, got {value!r}")
    return tuple(check_int(f"{name}[{i}]", v, minimum=1) for i, v in enumerate(value))


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
        check_choice("GANConfig.kind", self.kind, KINDS)
        check_choice("GANConfig.loss", self.loss, LOSSES)
        # Resolve the kind-dependent defaults.
        if self.latent_dim is None:
            object.__setattr__(self, "latent_dim", DEFAULT_LATENT_DIM[self.kind])
        if self.data_shape is None:
            object.__setattr__(self, "data_shape", DEFAULT_DATA_SHAPE[self.kind])
        if self.dropout is None:
            dropout = 0.0 if self.loss == "wgan_gp" else DEFAULT_DROPOUT[self.kind]
            object.__setattr__(self, "dropout", dropout)
        latent_dim = check_int("GANConfig.latent_dim", self.latent_dim, minimum=1, maximum=1024)
        object.__setattr__(self, "latent_dim", latent_dim)
        shape = _int_tuple("GANConfig.data_shape", self.data_shape)
        object.__setattr__(self, "data_shape", shape)
        if self.kind == "mlp" and len(shape) != 1:
            raise ValueError(
                f"kind 'mlp' needs a 1-D data_shape (D,), got {shape} (use kind 'dcgan' for images)"
            )
        if self.kind == "dcgan" and (len(shape) != 3 or shape[0] % 4 or shape[1] % 4):
            raise ValueError(
                f"kind 'dcgan' needs data_shape (H, W, C) with H and W divisible by 4, got {shape}"
            )
        object.__setattr__(self, "hidden", _int_tuple("GANConfig.hidden", self.hidden))
        object.__setattr__(self, "filters", _int_tuple("GANConfig.filters", self.filters, 2))
        check_int("GANConfig.kernel_size", self.kernel_size, minimum=1)
        dropout = check_real("GANConfig.dropout", self.dropout, minimum=0.0, maximum=1.0)
        if dropout == 1.0:
            raise ValueError("GANConfig.dropout must be < 1 (1 drops every unit), got 1.0")
        if self.loss == "wgan_gp" and dropout > 0:
            raise ValueError(
                f"loss 'wgan_gp' needs a deterministic critic, got dropout={self.dropout!r}: the "
                "gradient penalty would run through random dropout masks (Gulrajani et al. "
                "2017's critic has no dropout and no batch norm); leave dropout=None or set 0"
            )
        slope = check_real("GANConfig.leaky_slope", self.leaky_slope, minimum=0.0, maximum=1.0)
        if slope == 1.0:
            raise ValueError("GANConfig.leaky_slope must be < 1 (1 is a linear layer), got 1.0")
        check_real("GANConfig.gp_weight", self.gp_weight, minimum=0.0)
