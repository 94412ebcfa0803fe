"""A Gaussian mixture fitted by expectation-maximisation, in NumPy.

EM (Dempster, Laird & Rubin 1977) with full covariances: the model the collapse experiment
refits, generation after generation, on its own samples."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from course_lib.runtime.validation import (
    check_array,
    check_int,
    check_real,
)


@dataclass(frozen=True)
class GaussianMixture:
    """``p(x) = sum_k pi_k N(x; mu_k, Sigma_k)``.

    Attributes:
        weights: ``pi``, ``(K,)``, positive, summing to 1.
        means: ``mu``, ``(K, d)``.
        covariances: ``Sigma``, ``(K, d, d)``, symmetric positive definite.
        log_likelihood: the mean log-likelihood per point after each EM iteration of the fit
            that produced it, ``(iterations,)`` (empty for a mixture built by hand).
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    log_likelihood: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        w = check_array("weights", self.weights, ndim=1, kind="number", finite=True, nonempty=True)
        k = w.shape[0]
        mu = check_array("means", self.means, ndim=2, kind="number", finite=True)
        d = mu.shape[1]
        check_array("means", mu, shape=(k, None))
        check_array("covariances", self.covariances, shape=(k, d, d), kind="number", finite=True)
        if np.any(w < 0) or not np.isclose(w.sum(), 1.0, atol=1e-8):
            raise ValueError(f"weights must be >= 0 and sum to 1, got {w}")

    @property
    def num_components(self) -> int:
        return int(self.weights.shape[0])

    @property
    def dim(self) -> int:
        return int(self.means.shape[1])


def _component_log_densities(x: np.ndarray, means: np.ndarray, covs: np.ndarray) -> np.ndarray:
    """``log N(x_i; mu_k, Sigma_k)``, ``(n, K)``, for all components at once.

    ``log N = -(d log 2 pi + log det Sigma_k + (x - mu_k)^T Sigma_k^{-1} (x - mu_k)) / 2``, with
    the inverses and log-determinants of the ``(K, d, d)`` stack computed in one batched call.
    """
    d = x.shape[1]
    sign, log_det = np.linalg.slogdet(covs)  # (K,)
    if np.any(sign <= 0):
        raise np.linalg.LinAlgError("a covariance is not positive definite")
    precision = np.linalg.inv(covs)  # (K, d, d)
    centred = x[:, None, :] - means[None, :, :]  # (n, K, d)
    mahalanobis = np.einsum("nki,kij,nkj->nk", centred, precision, centred)
    return -0.5 * (d * np.log(2.0 * np.pi) + log_det[None, :] + mahalanobis)


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    top = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(top, axis=axis) + np.log(np.sum(np.exp(a - top), axis=axis))


def gmm_log_density(gmm: GaussianMixture, x: object) -> np.ndarray:
    """``log p(x_i) = log sum_k pi_k N(x_i; mu_k, Sigma_k)`` for each row of ``x`` ``(n, d)``."""
    points = check_array("x", x, shape=(None, gmm.dim), kind="number", finite=True)
    log_joint = _component_log_densities(
        points.astype(np.float64), gmm.means, gmm.covariances
    ) + np.log(np.maximum(gmm.weights, 1e-300))
    return _logsumexp(log_joint, axis=1)


def _kmeans_pp_centers(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding (Arthur & Vassilvitskii 2007): each new centre drawn with probability
    proportional to the squared distance to the nearest centre chosen so far."""
    centers = [x[rng.integers(x.shape[0])]]
    for _ in range(1, k):
        sq = np.min(np.sum((x[:, None, :] - np.array(centers)[None]) ** 2, axis=2), axis=1)
        total = sq.sum()
        if total <= 0.0:  # fewer distinct points than components: repeat one
            centers.append(x[rng.integers(x.shape[0])])
        else:
            centers.append(x[rng.choice(x.shape[0], p=sq / total)])
    return np.array(centers)


def _em(
    x: np.ndarray,
    k: int,
    rng: np.random.Generator,
    max_iter: int,
    tol: float,
    reg_covar: float,
) -> GaussianMixture:
    n, d = x.shape
    eye = np.eye(d)
    means = _kmeans_pp_centers(x, k, rng)
    start_cov = np.atleast_2d(np.cov(x, rowvar=False, bias=True)) / k + reg_covar * eye
    covs = np.repeat(start_cov[None], k, axis=0)
    weights = np.full(k, 1.0 / k)
    history = []
    for _ in range(max_iter):
        # E step: responsibilities r_ik = pi_k N(x_i; mu_k, Sigma_k) / p(x_i)
        log_joint = _component_log_densities(x, means, covs) + np.log(np.maximum(weights, 1e-300))
        log_px = _logsumexp(log_joint, axis=1)
        history.append(float(np.mean(log_px)))
        resp = np.exp(log_joint - log_px[:, None])
        # M step: the weighted maximum-likelihood estimates
        counts = resp.sum(axis=0) + 10.0 * np.finfo(float).eps
        weights = counts / n
        means = resp.T @ x / counts[:, None]
        centred = x[:, None, :] - means[None, :, :]  # (n, K, d)
        weighted = resp[:, :, None] * centred
        covs = np.einsum("nki,nkj->kij", weighted, centred) / counts[:, None, None]
        covs = covs + reg_covar * eye
        if len(history) > 1 and abs(history[-1] - history[-2]) < tol:
            break
    # the log-likelihood of the final parameters, so the history ends where the model is
    log_px = _logsumexp(
        _component_log_densities(x, means, covs) + np.log(np.maximum(weights, 1e-300)), axis=1
    )
    history.append(float(np.mean(log_px)))
    return GaussianMixture(weights / weights.sum(), means, covs.copy(), np.array(history))


def fit_gmm(
    x: object,
    num_components: int,
    rng: np.random.Generator,
    *,
    max_iter: int = 200,
    tol: float = 1e-6,
    reg_covar: float = 1e-6,
    n_init: int = 1,
) -> GaussianMixture:
    """Fit a ``K``-component Gaussian mixture to ``x`` by EM; the best of ``n_init`` starts.

    Each start seeds the means with k-means++, sets every covariance to the data's covariance
    divided by ``K`` and the weights to ``1 / K``, then alternates

    * **E step**: ``r_ik = pi_k N(x_i; mu_k, Sigma_k) / sum_j pi_j N(x_i; mu_j, Sigma_j)``;
    * **M step**: ``N_k = sum_i r_ik``, ``pi_k = N_k / n``, ``mu_k = sum_i r_ik x_i / N_k``,
      ``Sigma_k = sum_i r_ik (x_i - mu_k)(x_i - mu_k)^T / N_k + reg_covar I``,

    until the mean log-likelihood changes by less than ``tol``. Without ``reg_covar`` each
    iteration cannot decrease the likelihood (Dempster, Laird & Rubin 1977); the small ridge
    ``reg_covar I`` keeps a component that sits on one point from a singular covariance.

    Args:
        x: ``(n, d)`` data, or ``(n,)`` for 1-D; ``n >= num_components``.
        num_components: ``K >= 1``.
        rng: NumPy generator for the starts.
        max_iter, tol, reg_covar, n_init: as above.

    Returns:
        The :class:`GaussianMixture` with the highest final log-likelihood.
    """
    points = check_array("x", x, ndim=(1, 2), kind="number", finite=True, nonempty=True)
    if points.ndim == 1:
        points = points[:, None]
    points = points.astype(np.float64)
    k = check_int("num_components", num_components, minimum=1)
    if points.shape[0] < k:
        raise ValueError(f"x has {points.shape[0]} points, fewer than num_components = {k}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    max_iter = check_int("max_iter", max_iter, minimum=1)
    tol = check_real("tol", tol, minimum=0.0)
    reg_covar = check_real("reg_covar", reg_covar, minimum=0.0)
    n_init = check_int("n_init", n_init, minimum=1)
    if reg_covar == 0.0 and points.shape[0] <= points.shape[1]:
        raise ValueError("with reg_covar = 0 the covariance needs more points than dimensions")
    fits = [_em(points, k, rng, max_iter, tol, reg_covar) for _ in range(n_init)]
    return max(fits, key=lambda g: g.log_likelihood[-1])


def sample_gmm(
    gmm: GaussianMixture, n: int, rng: np.random.Generator, *, return_components: bool = False
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """``n`` draws: a component ``k ~ Categorical(pi)``, then ``x = mu_k + L_k eps``.

    ``L_k`` is the Cholesky factor of ``Sigma_k`` and ``eps ~ N(0, I_d)``. Returns ``(n, d)``
    float64, and with ``return_components`` also the component of each draw, ``(n,)`` int64.
    """
    n = check_int("n", n, minimum=0)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    comps = rng.choice(gmm.num_components, size=n, p=gmm.weights).astype(np.int64)
    chol = np.linalg.cholesky(gmm.covariances)
    eps = rng.standard_normal((n, gmm.dim))
    x = gmm.means[comps] + np.einsum("nij,nj->ni", chol[comps], eps)
    return (x, comps) if return_components else x
