"""Evaluating a GAN on the ring of Gaussians: how many modes it covers, and how well.

A generator that has collapsed puts its samples on a few of the ``K`` modes; one that has
not yet converged puts them between modes. :func:`ring_mode_coverage` measures both.
"""

from __future__ import annotations

import math

import numpy as np


def ring_mode_coverage(samples, centers, std: float, threshold: float = 3.0,
                       min_fraction: float = 0.1) -> tuple[int, float]:
    """``(modes_covered, high_quality_fraction)`` of generated 2-D ``samples``.

    The rule:

    * each sample belongs to its nearest centre (Euclidean distance);
    * it is *high quality* if that distance is at most ``threshold * std``;
    * a mode is *covered* if it receives at least ``min_fraction * N / K`` high-quality
      samples (and at least one), where ``N / K`` is its share under the data distribution.

    For data drawn from the ring itself (isotropic 2-D Gaussians) a sample lies within
    ``3 std`` of its centre with probability ``1 - exp(-9/2) = 0.989``, so real data scores
    ``(K, ~0.99)`` when the modes are well separated.

    Args:
        samples: ``(N, 2)`` points.
        centers: ``(K, 2)`` mode centres, e.g. :func:`course_lib.data.ring_mode_centers`.
        std: standard deviation of each mode (``ring_of_gaussians(std=...)``).
        threshold: the high-quality radius in units of ``std``.
        min_fraction: share of the fair ``N / K`` a mode needs to count as covered.
    """
    samples = np.asarray(samples, np.float64)
    centers = np.asarray(centers, np.float64)
    if samples.ndim != 2 or centers.ndim != 2 or samples.shape[1] != centers.shape[1] or not len(centers):
        raise ValueError(f"samples (N, d) and centers (K, d) need the same d, got {samples.shape} and {centers.shape}")
    if not len(samples):
        raise ValueError("samples is empty")
    if not (std > 0 and threshold > 0 and 0 <= min_fraction <= 1):
        raise ValueError("need std > 0, threshold > 0 and 0 <= min_fraction <= 1, "
                         f"got {std}, {threshold}, {min_fraction}")
    distances = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=-1)  # (N, K)
    nearest = distances.argmin(axis=1)  # (N,)
    good = distances[np.arange(len(samples)), nearest] <= threshold * std  # (N,)
    counts = np.bincount(nearest[good], minlength=len(centers))  # (K,) high-quality samples per mode
    needed = max(1, math.ceil(min_fraction * len(samples) / len(centers)))
    return int((counts >= needed).sum()), float(good.mean())
