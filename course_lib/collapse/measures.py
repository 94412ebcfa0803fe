"""What a model's samples lost: tail mass, modes occupied and the spread around the modes.

Each is measured against real data: tail mass beyond the real data's quantiles, the modes of a
mixture with known centres that the samples occupy, and how tightly they sit around them."""

from __future__ import annotations

import numpy as np

from course_lib.runtime.validation import (
    check_array,
    check_real,
)


def tail_mass(samples: object, reference: object, alpha: float = 0.05) -> float:
    """Fraction of ``samples`` outside the central ``1 - alpha`` of ``reference``, per axis.

    For each coordinate ``j``, the interval ``[q_{alpha/2}, q_{1-alpha/2}]`` of the reference's
    coordinate ``j`` (empirical quantiles); the result is the fraction of samples outside it,
    averaged over the ``d`` coordinates. About ``alpha`` when ``samples`` come from the
    reference's distribution, less when the model has lost its tails.

    Args:
        samples: ``(n, d)`` or ``(n,)``; reference: ``(m, d)`` or ``(m,)``, same ``d``.
        alpha: the tail probability, ``0 < alpha < 1``.
    """
    x = as_points("samples", samples)
    ref = as_points("reference", reference)
    alpha = check_real("alpha", alpha, minimum=0.0, maximum=1.0, strict=True)
    if x.shape[1] != ref.shape[1]:
        raise ValueError(f"samples have dimension {x.shape[1]}, reference {ref.shape[1]}")
    low = np.quantile(ref, alpha / 2, axis=0)
    high = np.quantile(ref, 1 - alpha / 2, axis=0)
    return float(np.mean((x < low) | (x > high)))


def modes_occupied(
    samples: object, centers: object, radius: float, *, min_share: float = 0.25
) -> int:
    """How many of the ``K`` mode ``centers`` the samples still cover.

    A mode counts as occupied when at least ``min_share / K`` of the samples lie within
    ``radius`` of its centre (``min_share = 0.25``: a quarter of a fair share).

    Args:
        samples: ``(n, d)``; centers: ``(K, d)``; radius > 0, in the units of the data.
    """
    x = as_points("samples", samples)
    c = check_array("centers", centers, ndim=2, kind="number", finite=True, nonempty=True)
    if c.shape[1] != x.shape[1]:
        raise ValueError(f"centers have dimension {c.shape[1]}, samples {x.shape[1]}")
    radius = check_real("radius", radius, minimum=0.0, strict=True)
    min_share = check_real("min_share", min_share, minimum=0.0, maximum=1.0)
    dist = np.sqrt(np.sum((x[:, None, :] - c[None, :, :]) ** 2, axis=2))
    share = np.mean(dist <= radius, axis=0)
    return int(np.sum(share >= min_share / c.shape[0]))


def mode_spread(samples: object, centers: object) -> float:
    """Spread of the samples around their nearest mode centre, per coordinate.

    ``sqrt(mean_i ||x_i - c(x_i)||^2 / d)`` with ``c(x_i)`` the centre nearest to ``x_i``: for
    an isotropic Gaussian mode of standard deviation ``std`` (modes far apart compared with
    ``std``) it is about ``std``; it falls when a model narrows its modes.

    Args:
        samples: ``(n, d)``; centers: ``(K, d)``.
    """
    x = as_points("samples", samples)
    c = check_array("centers", centers, ndim=2, kind="number", finite=True, nonempty=True)
    if c.shape[1] != x.shape[1]:
        raise ValueError(f"centers have dimension {c.shape[1]}, samples {x.shape[1]}")
    sq = np.min(np.sum((x[:, None, :] - c[None, :, :]) ** 2, axis=2), axis=1)
    return float(np.sqrt(np.mean(sq) / x.shape[1]))


def as_points(name: str, value: object) -> np.ndarray:
    """``value`` as a float64 ``(n, d)`` array of finite points; ``(n,)`` becomes ``(n, 1)``."""
    array = check_array(name, value, ndim=(1, 2), kind="number", finite=True, nonempty=True)
    return (array[:, None] if array.ndim == 1 else array).astype(np.float64)
