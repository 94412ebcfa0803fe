"""Distances between two samples: how far a model's samples are from held-out real data.

A generative model that gives no likelihood (a GAN) can still be judged by its samples: draw
``x_1 .. x_n`` from the model, take ``y_1 .. y_m`` from held-out real data, and measure how
different the two clouds are. Two standard sample distances, both zero in expectation exactly
when the two distributions are equal:

* :func:`energy_distance` -- Székely & Rizzo (2013, "Energy statistics: A class of statistics
  based on distances", J. Stat. Planning and Inference 143):

  .. math:: \\mathcal{E}(X, Y) = 2\\,E\\lVert X - Y\\rVert - E\\lVert X - X'\\rVert
            - E\\lVert Y - Y'\\rVert,

  with ``X, X'`` independent copies from one distribution and ``Y, Y'`` from the other.
* :func:`mmd2` -- the squared maximum mean discrepancy of Gretton et al. (2012, "A Kernel
  Two-Sample Test", JMLR 13:723-773) with the Gaussian kernel
  ``k(a, b) = exp(-||a - b||^2 / (2 h^2))``:

  .. math:: \\mathrm{MMD}^2 = E\\,k(X, X') + E\\,k(Y, Y') - 2\\,E\\,k(X, Y).

Both are estimated *without bias* (U-statistics): the within-sample means skip the pairs
``i = j``, so the estimate averages to the true value over many samples and can come out
slightly negative when the two distributions are equal. A number alone says little: compare it
with :func:`real_vs_real`, the score of two disjoint subsets of the real data, which is what a
perfect model would get with the same sample size.

Memory: the pairwise distances are summed block by block (``chunk_size`` rows of one sample
against all of the other), so two samples of 10,000 points never need a 10,000 x 10,000 matrix.
The result does not depend on the block size (up to float64 rounding).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib.runtime.validation import check_array, check_int, check_real

# Elements of one block of differences (rows x columns x dimensions): 2**21 float64 = 16 MiB.
_BLOCK_ELEMENTS = 2**21
# The median heuristic looks at at most this many pooled points (a fixed random subset).
_MEDIAN_POINTS = 2000


def _points(name: str, value: object, *, minimum: int = 2) -> np.ndarray:
    """``value`` as a float64 ``(n, d)`` array of finite points; ``(n,)`` becomes ``(n, 1)``."""
    array = check_array(name, value, ndim=(1, 2), kind="number", finite=True)
    if array.ndim == 1:
        array = array[:, None]
    if array.shape[0] < minimum:
        raise ValueError(
            f"{name} needs at least {minimum} points for an unbiased estimate, "
            f"got {array.shape[0]} (shape {array.shape})"
        )
    if array.shape[1] == 0:
        raise ValueError(f"{name} has points of dimension 0 (shape {array.shape})")
    return array.astype(np.float64)


def _pair(x: object, y: object) -> tuple[np.ndarray, np.ndarray]:
    a = _points("x", x)
    b = _points("y", y)
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"x and y must have points of the same dimension, got {a.shape[1]} and {b.shape[1]}"
        )
    return a, b


def _rows_per_block(chunk_size: int | None, columns: int, dim: int) -> int:
    if chunk_size is None:
        return max(1, _BLOCK_ELEMENTS // max(1, columns * dim))
    return check_int("chunk_size", chunk_size, minimum=1)


def _pair_sum(
    a: np.ndarray,
    b: np.ndarray,
    fn: Callable[[np.ndarray], np.ndarray],
    chunk_size: int | None,
) -> float:
    """``sum_{i, j} fn(||a_i - b_j||^2)`` over all pairs, ``chunk_size`` rows of ``a`` at a time.

    The squared distances come from the differences themselves (not from
    ``|a|^2 + |b|^2 - 2 a.b``), so a point's distance to itself is exactly 0.
    """
    rows = _rows_per_block(chunk_size, b.shape[0], a.shape[1])
    total = 0.0
    for start in range(0, a.shape[0], rows):
        diff = a[start : start + rows, None, :] - b[None, :, :]
        total += float(np.sum(fn(np.einsum("ijk,ijk->ij", diff, diff))))
    return total


def energy_distance(x: object, y: object, *, chunk_size: int | None = None) -> float:
    """Unbiased estimate of the energy distance ``2 E|X-Y| - E|X-X'| - E|Y-Y'|``.

    .. math:: \\hat{\\mathcal{E}} = \\frac{2}{nm}\\sum_{i,j}\\lVert x_i - y_j\\rVert
        - \\frac{1}{n(n-1)}\\sum_{i \\ne j}\\lVert x_i - x_j\\rVert
        - \\frac{1}{m(m-1)}\\sum_{i \\ne j}\\lVert y_i - y_j\\rVert

    (Euclidean norm). The population value is ``>= 0``, and ``0`` only when the two
    distributions are equal (Székely & Rizzo 2013); this estimate can be slightly negative.

    Args:
        x: ``(n, d)`` sample, ``n >= 2``; a 1-D ``(n,)`` array is read as ``(n, 1)``.
        y: ``(m, d)`` sample, ``m >= 2``, same ``d``.
        chunk_size: rows per block of the pairwise sums (default: blocks of about 2**21
            differences); changes memory and speed, not the value.

    Returns:
        The estimate, a float, in the units of the data.
    """
    a, b = _pair(x, y)
    n, m = a.shape[0], b.shape[0]
    cross = _pair_sum(a, b, np.sqrt, chunk_size) / (n * m)
    within_x = _pair_sum(a, a, np.sqrt, chunk_size) / (n * (n - 1))
    within_y = _pair_sum(b, b, np.sqrt, chunk_size) / (m * (m - 1))
    return float(2.0 * cross - within_x - within_y)


def median_heuristic(x: object, y: object) -> float:
    """The median of the pairwise distances ``||z_i - z_j||`` (``i < j``) of the pooled sample.

    Gretton et al. (2012, section 8) set the Gaussian kernel's width to this median. Above
    2,000 pooled points, the median is taken over a fixed random subset of 2,000 of them
    (seed 0), so the cost stays bounded and the value repeats.

    Args:
        x: ``(n, d)`` or ``(n,)`` sample; y: ``(m, d)`` or ``(m,)``, same ``d``.

    Returns:
        ``h > 0``. Raises ``ValueError`` if all pooled points coincide (no width fits).
    """
    a, b = _pair(x, y)
    pooled = np.concatenate([a, b])
    if pooled.shape[0] > _MEDIAN_POINTS:
        keep = np.random.default_rng(0).choice(pooled.shape[0], _MEDIAN_POINTS, replace=False)
        pooled = pooled[keep]
    diff = pooled[:, None, :] - pooled[None, :, :]
    dist = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
    upper = dist[np.triu_indices(pooled.shape[0], k=1)]
    h = float(np.median(upper))
    if h <= 0.0:
        raise ValueError("the median pairwise distance is 0 (most points coincide): give bandwidth")
    return h


def mmd2(
    x: object, y: object, bandwidth: float | None = None, *, chunk_size: int | None = None
) -> float:
    """Unbiased squared MMD with the Gaussian kernel ``k(a, b) = exp(-||a-b||^2 / (2 h^2))``.

    .. math:: \\widehat{\\mathrm{MMD}}^2_u = \\frac{1}{n(n-1)}\\sum_{i \\ne j} k(x_i, x_j)
        + \\frac{1}{m(m-1)}\\sum_{i \\ne j} k(y_i, y_j) - \\frac{2}{nm}\\sum_{i,j} k(x_i, y_j)

    (Gretton et al. 2012, eq. 3). The population value is ``>= 0`` and ``0`` only when the two
    distributions are equal (the Gaussian kernel is characteristic); this estimate can be
    slightly negative. It is at most 2, whatever the units of the data.

    Args:
        x: ``(n, d)`` sample, ``n >= 2``; a 1-D ``(n,)`` array is read as ``(n, 1)``.
        y: ``(m, d)`` sample, ``m >= 2``, same ``d``.
        bandwidth: the kernel width ``h > 0``, in the units of the data; ``None``: the median
            heuristic on the pooled sample (:func:`median_heuristic`).
        chunk_size: rows per block of the pairwise sums; changes memory, not the value.

    Returns:
        The estimate, a float (no units).
    """
    a, b = _pair(x, y)
    h = (
        median_heuristic(a, b)
        if bandwidth is None
        else check_real("bandwidth", bandwidth, minimum=0.0, strict=True)
    )
    scale = -1.0 / (2.0 * h * h)

    def kernel(sq: np.ndarray) -> np.ndarray:
        return np.exp(scale * sq)

    n, m = a.shape[0], b.shape[0]
    # The diagonal i = j contributes k(0) = 1 per point: remove it from the within sums.
    within_x = (_pair_sum(a, a, kernel, chunk_size) - n) / (n * (n - 1))
    within_y = (_pair_sum(b, b, kernel, chunk_size) - m) / (m * (m - 1))
    cross = _pair_sum(a, b, kernel, chunk_size) / (n * m)
    return float(within_x + within_y - 2.0 * cross)


def real_vs_real(
    distance: Callable[[np.ndarray, np.ndarray], float],
    data: object,
    n: int,
    *,
    repeats: int = 5,
    seed: int = 0,
) -> tuple[float, float]:
    """The score a perfect model would get: ``distance`` between two disjoint real subsets.

    Each repeat shuffles ``data`` and compares its first ``n`` rows with the next ``n``.
    A model's ``distance(samples, held_out)`` with ``n`` samples is only meaningful next to
    this baseline: sample noise alone gives a score of about this size.

    Args:
        distance: a function of two ``(n, d)`` samples, e.g. :func:`energy_distance`.
        data: ``(N, d)`` or ``(N,)`` real data with ``N >= 2 n``.
        n: the size of each subset, ``n >= 2``.
        repeats: number of random splits, ``>= 2``.
        seed: seed of the splits.

    Returns:
        ``(mean, std)`` of the ``repeats`` scores (``std`` with ``ddof=1``).
    """
    if not callable(distance):
        raise TypeError(f"distance must be a function of two samples, got {type(distance)}")
    points = _points("data", data)
    n = check_int("n", n, minimum=2)
    repeats = check_int("repeats", repeats, minimum=2)
    seed = check_int("seed", seed, minimum=0)
    if 2 * n > points.shape[0]:
        raise ValueError(
            f"real_vs_real needs 2 n <= len(data) for two disjoint subsets: "
            f"n = {n}, len(data) = {points.shape[0]}"
        )
    rng = np.random.default_rng(seed)
    scores = []
    for _ in range(repeats):
        order = rng.permutation(points.shape[0])
        scores.append(float(distance(points[order[:n]], points[order[n : 2 * n]])))
    return float(np.mean(scores)), float(np.std(scores, ddof=1))
