"""The variational bound on :math:`-\\log p_\\theta(x_0)` of a DDPM, in nats per point.

Ho et al. (2020, arXiv:2006.11239, eq. 5) write the bound as a sum of KL divergences:

.. math:: -\\log p_\\theta(x_0) \\le
   \\underbrace{\\mathrm{KL}\\big(q(x_T\\mid x_0)\\,\\|\\,p(x_T)\\big)}_{L_T}
   + \\sum_{t=2}^{T} \\underbrace{\\mathbb E_q\\,\\mathrm{KL}\\big(q(x_{t-1}\\mid x_t, x_0)\\,\\|\\,
     p_\\theta(x_{t-1}\\mid x_t)\\big)}_{L_{t-1}}
   \\underbrace{-\\,\\mathbb E_q \\log p_\\theta(x_0 \\mid x_1)}_{L_0} .

Here :math:`p(x_T) = \\mathcal N(0, I)` and every reverse step is
:math:`p_\\theta(x_{t-1}\\mid x_t) = \\mathcal N(\\mu_\\theta(x_t, t), \\sigma_t^2 I)` with
:math:`\\sigma_t^2 = \\beta_t`, the variance the sampler uses, so each :math:`L_{t-1}` is a
KL between two isotropic Gaussians in closed form,

.. math:: L_{t-1} = \\frac d2\\Big(\\frac{\\tilde\\beta_t}{\\beta_t} - 1
          - \\log\\frac{\\tilde\\beta_t}{\\beta_t}\\Big)
          + \\frac{\\lVert\\tilde\\mu_t - \\mu_\\theta\\rVert^2}{2\\beta_t} .

Ho et al. (Section 3.2) name the two extreme choices: :math:`\\sigma_t^2 = \\beta_t` is optimal
for :math:`x_0 \\sim \\mathcal N(0, I)`, :math:`\\sigma_t^2 = \\tilde\\beta_t` for one fixed
point. Data spread out much wider than the first steps' noise is closer to the first case: on a
Gaussian whose exact noise predictor is known, the bound with :math:`\\beta_t` is within a few
hundredths of a nat of the true value at ``T = 200``, while :math:`\\tilde\\beta_t` makes it
several nats loose (``tests/test_diffusion.py`` checks the first).

**The decoder term.** Ho et al. model 8-bit images, so their last step is a *discrete*
decoder that gives each of the 256 pixel values a probability (their eq. 13). The points here
are continuous, so the last step is a Gaussian *density*,
:math:`p_\\theta(x_0 \\mid x_1) = \\mathcal N(\\mu_\\theta(x_1, 1), \\beta_1 I)`
(the same :math:`\\sigma_1^2 = \\beta_1` as every other step). The bound is then on the negative log
*density* of a continuous point, in the same units as an autoregressive model's or a VAE's
density: it can be negative, and it changes by :math:`d \\log c` if the data are scaled by
``c``.

The expectation over ``x_t`` is estimated with one draw of :math:`x_t \\sim q(x_t\\mid x_0)`
per step and per point (averaged over ``repeats`` draws), summed over **all** ``T`` steps
rather than sampling ``t``; so the result is an unbiased estimate of the bound, whose
Monte Carlo standard error :func:`variational_bound` returns too.
"""

from __future__ import annotations

import math

import numpy as np

from course_lib.diffusion.schedule import NoiseSchedule, mean_from_eps, posterior_moments
from course_lib.runtime.validation import check_array, check_int

_LOG_2PI = math.log(2.0 * math.pi)


def prior_term(schedule: NoiseSchedule, x0) -> np.ndarray:
    """:math:`L_T = \\mathrm{KL}(\\mathcal N(\\sqrt{\\bar\\alpha_T}x_0, (1-\\bar\\alpha_T)I)
    \\,\\|\\, \\mathcal N(0, I))` per point, ``(B,)`` nats, in closed form."""
    x0 = check_array("x0", x0, ndim=2, kind="number", finite=True, dtype=np.float64)
    ab = schedule.alpha_bars[-1]
    var = 1.0 - ab
    d = x0.shape[1]
    return 0.5 * (d * (var - 1.0 - math.log(var)) + ab * np.sum(x0**2, axis=1))


def variational_bound(
    eps_fn, schedule: NoiseSchedule, x0, *, repeats: int = 1, seed: int = 0, chunk: int = 20
) -> dict[str, np.ndarray | float]:
    """The bound :math:`L_T + \\sum_{t\\ge 2} L_{t-1} + L_0` on :math:`-\\log p_\\theta(x_0)`.

    Args:
        eps_fn: ``eps_fn(x_t (B, d), t (B,) ints) -> (B, d)``, the noise predictor
            (``DDPM.predict_eps``, or any function, e.g. an exact one for a known density).
        schedule: the model's :class:`NoiseSchedule`.
        x0: the points ``(n, d)``.
        repeats: independent draws of every ``x_t`` to average, >= 1.
        seed: NumPy seed of the draws.
        chunk: steps evaluated in one call of ``eps_fn`` (memory ``n * chunk`` points).

    Returns:
        ``{"prior": L_T (n,), "diffusion": sum of L_{t-1}, t >= 2 (n,), "decoder": L_0 (n,),
        "total": their sum (n,), "mean": mean of total (float), "se": its standard error
        over the points (float)}``, all in nats per point.
    """
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule, got {type(schedule).__name__}")
    if not callable(eps_fn):
        raise TypeError("eps_fn must be callable as eps_fn(x_t (B, d), t (B,))")
    x0 = check_array("x0", x0, ndim=2, kind="number", finite=True, nonempty=True, dtype=np.float64)
    repeats = check_int("repeats", repeats, minimum=1)
    chunk = check_int("chunk", chunk, minimum=1)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    n, d = x0.shape
    T = schedule.num_steps
    ab, betas = schedule.alpha_bars, schedule.betas
    diffusion = np.zeros(n)
    decoder = np.zeros(n)
    for _ in range(repeats):
        for start in range(1, T + 1, chunk):
            ts = np.arange(start, min(start + chunk, T + 1))  # steps in this chunk
            c = len(ts)
            t_rows = np.repeat(ts, n)  # (c n,)
            x0_rows = np.tile(x0, (c, 1))  # (c n, d)
            eps = rng.standard_normal(x0_rows.shape)
            x_t = np.sqrt(ab[t_rows])[:, None] * x0_rows + np.sqrt(1.0 - ab[t_rows])[:, None] * eps
            mu_theta = mean_from_eps(schedule, x_t, t_rows, eps_fn(x_t, t_rows))  # (c n, d)
            for j, t in enumerate(ts):
                rows = slice(j * n, (j + 1) * n)
                if t == 1:
                    # L_0 = -log N(x0; mu_theta(x_1, 1), beta_1 I)
                    sq = np.sum((x0 - mu_theta[rows]) ** 2, axis=1)
                    decoder += 0.5 * (d * (_LOG_2PI + math.log(betas[1])) + sq / betas[1])
                else:
                    mu_tilde, var_tilde = posterior_moments(schedule, x0, x_t[rows], t)
                    ratio = var_tilde[0, 0] / betas[t]
                    sq = np.sum((mu_tilde - mu_theta[rows]) ** 2, axis=1)
                    diffusion += 0.5 * d * (ratio - 1.0 - math.log(ratio)) + sq / (2.0 * betas[t])
    diffusion /= repeats
    decoder /= repeats
    prior = prior_term(schedule, x0)
    total = prior + diffusion + decoder
    return {
        "prior": prior,
        "diffusion": diffusion,
        "decoder": decoder,
        "total": total,
        "mean": float(total.mean()),
        "se": float(total.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan"),
    }
