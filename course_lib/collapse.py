"""Model collapse: fit a model, sample from it, refit on the samples, and watch what drifts.

The recursive experiment of Shumailov et al. (2024, "AI models collapse when trained on
recursively generated data", Nature 631, 755-759): generation 0 is fitted to real data;
generation ``k`` is fitted to data made from generation ``k - 1``. What that data is decides
the outcome (:data:`DATA_MODES`):

* ``"self"`` -- only the ``n`` samples of the previous model (the data are *replaced*);
* ``"fresh"`` -- ``n`` new real points every generation (the control: no feedback at all);
* ``"mix"`` -- a fraction ``real_fraction`` of new real points, the rest generated;
* ``"accumulate"`` -- the original real points plus *every* generation's samples so far, the
  setting of Gerstgrasser et al. (2024, "Is Model Collapse Inevitable? Breaking the Curse of
  Recursion by Accumulating Real and Synthetic Data", arXiv:2404.01413).

:func:`run_generations` runs it for any model given as two functions, ``fit(x, rng) -> model``
and ``sample(model, n, rng) -> (n, d) array``, and measures every generation's model from its
samples (:class:`Generations`): mean, covariance, tail mass beyond the real data's quantiles,
modes occupied and the spread around them (for a mixture with known centres), and the energy
distance to held-out real data (:func:`course_lib.distances.energy_distance`).

Two models come with it, both NumPy only:

* :func:`fit_gmm` / :func:`sample_gmm` -- a Gaussian mixture fitted by expectation-maximisation
  (EM; Dempster, Laird & Rubin 1977), with full covariances;
* :func:`gaussian_refit_chains` -- many independent chains of the 1-D case, a Gaussian refitted
  on ``n`` of its own samples, vectorised, for Monte Carlo checks of the closed forms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from course_lib.distances import energy_distance
from course_lib.runtime.validation import (
    check_array,
    check_bool,
    check_choice,
    check_int,
    check_real,
)

DATA_MODES = ("self", "fresh", "mix", "accumulate")


# --------------------------------------------------------------------------------------------
# A Gaussian mixture fitted by EM
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# The 1-D Gaussian case, many chains at once
# --------------------------------------------------------------------------------------------


def gaussian_refit_chains(
    n: int,
    generations: int,
    chains: int,
    rng: np.random.Generator,
    *,
    unbiased: bool = False,
    mu: float = 0.0,
    sigma2: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Refit a 1-D Gaussian on ``n`` of its own samples, ``generations`` times, in ``chains``
    independent chains.

    Generation 0 is ``N(mu, sigma2)``. Generation ``k`` draws ``n`` points from generation
    ``k - 1`` and fits the sample mean and the variance estimate
    ``sigma2_k = (1 / (n - c)) sum_i (x_i - mean)^2`` with ``c = 0`` (maximum likelihood) or
    ``c = 1`` (``unbiased``). Sampling goes through the exact laws of the two statistics
    (mean ~ ``N(mu_{k-1}, sigma2_{k-1} / n)``, ``sum (x_i - mean)^2 ~ sigma2_{k-1}
    chi^2_{n-1}``, independent), so a chain costs O(1) per generation whatever ``n``.

    Returns:
        ``means`` and ``variances``, each ``(chains, generations + 1)``; column 0 is the start.
    """
    n = check_int("n", n, minimum=2)
    generations = check_int("generations", generations, minimum=0)
    chains = check_int("chains", chains, minimum=1)
    unbiased = check_bool("unbiased", unbiased)
    mu = check_real("mu", mu)
    sigma2 = check_real("sigma2", sigma2, minimum=0.0, strict=True)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    means = np.empty((chains, generations + 1))
    variances = np.empty((chains, generations + 1))
    means[:, 0], variances[:, 0] = mu, sigma2
    divisor = n - 1 if unbiased else n
    for k in range(1, generations + 1):
        prev = variances[:, k - 1]
        means[:, k] = means[:, k - 1] + np.sqrt(prev / n) * rng.standard_normal(chains)
        variances[:, k] = prev * rng.chisquare(n - 1, size=chains) / divisor
    return means, variances


# --------------------------------------------------------------------------------------------
# Measurements of one model's samples
# --------------------------------------------------------------------------------------------


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
    x = _as_points("samples", samples)
    ref = _as_points("reference", reference)
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
    x = _as_points("samples", samples)
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
    x = _as_points("samples", samples)
    c = check_array("centers", centers, ndim=2, kind="number", finite=True, nonempty=True)
    if c.shape[1] != x.shape[1]:
        raise ValueError(f"centers have dimension {c.shape[1]}, samples {x.shape[1]}")
    sq = np.min(np.sum((x[:, None, :] - c[None, :, :]) ** 2, axis=2), axis=1)
    return float(np.sqrt(np.mean(sq) / x.shape[1]))


def _as_points(name: str, value: object) -> np.ndarray:
    array = check_array(name, value, ndim=(1, 2), kind="number", finite=True, nonempty=True)
    return (array[:, None] if array.ndim == 1 else array).astype(np.float64)


# --------------------------------------------------------------------------------------------
# The recursive experiment
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CollapseConfig:
    """One recursive-training experiment.

    Attributes:
        generations: models fitted after generation 0, ``>= 1``.
        samples_per_generation: ``n``, real points for generation 0 and points drawn from each
            model to train the next, ``>= 2``.
        data: what generation ``k >= 1`` trains on, one of :data:`DATA_MODES`.
        real_fraction: for ``"mix"``, the fraction of the ``n`` points that are fresh real data
            (``0 < real_fraction < 1``); ignored otherwise.
        eval_samples: points drawn from each model to measure it, ``>= 2``.
        tail_alpha: ``alpha`` of :func:`tail_mass`.
        seed: seed of the whole experiment; two configs with the same seed start from the same
            real data and the same generation-0 model.
    """

    generations: int = 10
    samples_per_generation: int = 200
    data: str = "self"
    real_fraction: float = 0.5
    eval_samples: int = 500
    tail_alpha: float = 0.05
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("generations", self.generations, minimum=1)
        check_int("samples_per_generation", self.samples_per_generation, minimum=2)
        check_choice("data", self.data, DATA_MODES)
        check_real("real_fraction", self.real_fraction, minimum=0.0, maximum=1.0, strict=True)
        check_int("eval_samples", self.eval_samples, minimum=2)
        check_real("tail_alpha", self.tail_alpha, minimum=0.0, maximum=1.0, strict=True)
        check_int("seed", self.seed, minimum=0)


@dataclass(frozen=True)
class Generations:
    """Per-generation measurements of a recursive experiment; row ``k`` is generation ``k``.

    Attributes:
        config: the experiment.
        mean: ``(G + 1, d)``, the mean of each model's samples.
        covariance: ``(G + 1, d, d)``, their covariance.
        total_variance: ``(G + 1,)``, the trace of the covariance (the spread).
        tail_mass: ``(G + 1,)``, :func:`tail_mass` against the held-out real data.
        modes: ``(G + 1,)`` int, :func:`modes_occupied` (``-1`` when no centres were given).
        mode_spread: ``(G + 1,)``, :func:`mode_spread` (NaN when no centres were given).
        energy: ``(G + 1,)``, energy distance of the samples to the held-out real data.
        train_size: ``(G + 1,)`` int, points each model was fitted on.
        samples: ``(G + 1, eval_samples, d)``, the samples measured.
        models: each generation's fitted model.
    """

    config: CollapseConfig
    mean: np.ndarray
    covariance: np.ndarray
    total_variance: np.ndarray
    tail_mass: np.ndarray
    modes: np.ndarray
    mode_spread: np.ndarray
    energy: np.ndarray
    train_size: np.ndarray
    samples: np.ndarray
    models: list[Any]

    def rows(self, every: int = 1) -> list[dict[str, float]]:
        """The scalar measurements as one dict per generation (every ``every``-th, and the
        last), for printing a table."""
        every = check_int("every", every, minimum=1)
        last = len(self.energy) - 1
        keep = sorted(set(range(0, last + 1, every)) | {last})
        return [
            {
                "generation": k,
                "train_size": int(self.train_size[k]),
                "total_variance": float(self.total_variance[k]),
                "tail_mass": float(self.tail_mass[k]),
                "modes": int(self.modes[k]),
                "mode_spread": float(self.mode_spread[k]),
                "energy": float(self.energy[k]),
            }
            for k in keep
        ]


def run_generations(
    fit: Callable[[np.ndarray, np.random.Generator], Any],
    sample: Callable[[Any, int, np.random.Generator], np.ndarray],
    draw_real: Callable[[int, np.random.Generator], np.ndarray],
    held_out: object,
    config: CollapseConfig,
    *,
    centers: object = None,
    mode_radius: float | None = None,
) -> Generations:
    """Fit, sample, refit on the samples, ``config.generations`` times, and measure each model.

    Generation 0 is fitted on ``n = samples_per_generation`` real points from ``draw_real``.
    Generation ``k >= 1`` is fitted on, by ``config.data``: ``"self"`` ``n`` samples of model
    ``k - 1``; ``"fresh"`` ``n`` new real points; ``"mix"`` ``round(real_fraction n)`` new real
    points and the rest samples of model ``k - 1``; ``"accumulate"`` the generation-0 real points
    and the ``n`` samples of every model ``0 .. k - 1`` (``n (k + 1)`` points).

    Each model is measured on ``eval_samples`` draws from it: mean, covariance, tail mass and
    energy distance against ``held_out``, and the modes occupied when ``centers`` (and
    ``mode_radius``) are given. The random streams for real data, fitting, training samples and
    evaluation samples are separate children of ``config.seed``.

    Args:
        fit: ``fit(x, rng) -> model`` for ``x`` of shape ``(N, d)``.
        sample: ``sample(model, n, rng) -> (n, d)`` array.
        draw_real: ``draw_real(n, rng) -> (n, d)``, fresh real data.
        held_out: ``(m, d)`` real data never trained on, ``m >= 2``.
        config: the experiment.
        centers: ``(K, d)`` mode centres of the real data, optional.
        mode_radius: radius of :func:`modes_occupied`; needed with ``centers``.

    Returns:
        :class:`Generations`.
    """
    for name, fn in (("fit", fit), ("sample", sample), ("draw_real", draw_real)):
        if not callable(fn):
            raise TypeError(f"{name} must be a function, got {type(fn).__name__}")
    if not isinstance(config, CollapseConfig):
        raise TypeError(f"config must be a CollapseConfig, got {type(config).__name__}")
    reference = _as_points("held_out", held_out)
    if reference.shape[0] < 2:
        raise ValueError("held_out needs at least 2 points")
    if centers is not None and mode_radius is None:
        raise ValueError("give mode_radius with centers")
    real_rng, fit_rng, train_rng, eval_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(config.seed).spawn(4)
    )
    n = config.samples_per_generation

    def real(count: int) -> np.ndarray:
        x = _as_points("draw_real(...)", draw_real(count, real_rng))
        if x.shape != (count, reference.shape[1]):
            raise ValueError(f"draw_real returned shape {x.shape}, expected {(count, x.shape[1])}")
        return x

    def generated(model: Any, count: int, rng: np.random.Generator) -> np.ndarray:
        x = _as_points("sample(...)", sample(model, count, rng))
        if x.shape != (count, reference.shape[1]):
            raise ValueError(f"sample returned shape {x.shape}, expected {(count, x.shape[1])}")
        return x

    first = real(n)
    pool = [first]  # "accumulate": everything trained on so far
    train = first
    models, measured, sizes = [], [], []
    for k in range(config.generations + 1):
        if k > 0:
            previous = models[-1]
            if config.data == "self":
                train = generated(previous, n, train_rng)
            elif config.data == "fresh":
                train = real(n)
            elif config.data == "mix":
                num_real = round(config.real_fraction * n)
                train = np.concatenate(
                    [real(num_real), generated(previous, n - num_real, train_rng)]
                )
            else:
                pool.append(generated(previous, n, train_rng))
                train = np.concatenate(pool)
        models.append(fit(train, fit_rng))
        sizes.append(train.shape[0])
        measured.append(generated(models[-1], config.eval_samples, eval_rng))

    samples = np.stack(measured)
    covariance = np.stack([np.atleast_2d(np.cov(s, rowvar=False)) for s in samples])
    modes = np.full(len(samples), -1, dtype=np.int64)
    spread = np.full(len(samples), np.nan)
    if centers is not None:
        modes = np.array([modes_occupied(s, centers, mode_radius) for s in samples])
        spread = np.array([mode_spread(s, centers) for s in samples])
    return Generations(
        config=config,
        mean=samples.mean(axis=1),
        covariance=covariance,
        total_variance=np.trace(covariance, axis1=1, axis2=2),
        tail_mass=np.array([tail_mass(s, reference, config.tail_alpha) for s in samples]),
        modes=modes,
        mode_spread=spread,
        energy=np.array([energy_distance(s, reference) for s in samples]),
        train_size=np.array(sizes, dtype=np.int64),
        samples=samples,
        models=models,
    )
