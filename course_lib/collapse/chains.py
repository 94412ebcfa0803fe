"""The 1-D Gaussian case of model collapse: many refit chains at once, for Monte Carlo checks.

Each chain refits a Gaussian on ``n`` of its own samples, generation after generation,
vectorised over chains, to check the closed forms of ``E[sigma2_k]``."""

from __future__ import annotations

import numpy as np

from course_lib.runtime.validation import (
    check_bool,
    check_int,
    check_real,
)


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
