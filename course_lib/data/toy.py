"""Two-dimensional toy data: a ring of Gaussians and two interleaved half-moons (NumPy only)."""

from __future__ import annotations

import numpy as np

from course_lib.runtime.validation import check_int, check_real


def ring_mode_centers(num_modes: int, radius: float) -> np.ndarray:
    """Centres ``mu_k = radius * (cos(2 pi k / K), sin(2 pi k / K))``, k = 0..K-1.

    Returns float32 ``(K, 2)``; mode ``k`` of :func:`ring_of_gaussians` is centred on row ``k``.
    """
    num_modes = check_int("num_modes", num_modes, minimum=1)
    radius = check_real("radius", radius, minimum=0.0, strict=True)
    angles = 2.0 * np.pi * np.arange(num_modes) / num_modes
    return (radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)).astype(np.float32)


def ring_of_gaussians(
    n: int, *, num_modes: int = 8, radius: float = 2.0, std: float = 0.02, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points from an equal-weight mixture of ``num_modes`` isotropic Gaussians on a circle.

    ``x_i = mu_{k_i} + std * eps_i`` with ``eps_i ~ N(0, I_2)`` and ``mu_k`` from
    :func:`ring_mode_centers`. The mode indices ``k_i`` are balanced (every mode gets
    ``n // K`` or ``n // K + 1`` points) and in random order. Metz et al. (2017, "Unrolled
    Generative Adversarial Networks", arXiv:1611.02163) used such a ring to show mode collapse:
    a collapsed generator covers few of the K modes.

    Returns:
        ``x`` float32 ``(n, 2)`` and ``k`` int64 ``(n,)``, the mode of each point.
    """
    n = check_int("n", n, minimum=1)
    std = check_real("std", std, minimum=0.0)
    seed = check_int("seed", seed, minimum=0)
    centers = ring_mode_centers(num_modes, radius)
    rng = np.random.default_rng(seed)
    modes = rng.permutation(np.arange(n) % num_modes).astype(np.int64)
    x = centers[modes] + std * rng.standard_normal((n, 2))
    return x.astype(np.float32), modes


def two_moons(n: int, *, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half-circles in 2-D, the same construction as scikit-learn's ``make_moons``.

    Class 0 (``n // 2`` points): ``(cos t, sin t)``; class 1 (the other ``n - n // 2``):
    ``(1 - cos t, 0.5 - sin t)``; ``t`` evenly spaced on ``[0, pi]``. Each point then gets
    ``noise * N(0, I_2)`` added, and the rows are shuffled.

    Returns:
        ``x`` float32 ``(n, 2)`` and ``y`` int64 ``(n,)`` in {0, 1}.
    """
    n = check_int("n", n, minimum=2)
    noise = check_real("noise", noise, minimum=0.0)
    seed = check_int("seed", seed, minimum=0)
    n_out = n // 2
    n_in = n - n // 2
    t_out = np.linspace(0, np.pi, n_out)
    t_in = np.linspace(0, np.pi, n_in)
    outer = np.stack([np.cos(t_out), np.sin(t_out)], axis=1)
    inner = np.stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5], axis=1)
    x = np.concatenate([outer, inner])
    y = np.concatenate([np.zeros(n_out, np.int64), np.ones(n_in, np.int64)])
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    x = x[order] + noise * rng.standard_normal((n, 2))
    return x.astype(np.float32), y[order]
