"""The noise schedule and the forward process of a DDPM (Ho et al. 2020, arXiv:2006.11239).

The forward process adds Gaussian noise in ``T`` steps,

.. math:: q(x_t \\mid x_{t-1}) = \\mathcal N\\big(\\sqrt{1 - \\beta_t}\\, x_{t-1},\\;
          \\beta_t I\\big), \\qquad t = 1, \\dots, T,

and because a sum of Gaussians is Gaussian it has a closed form for any ``t``:

.. math:: q(x_t \\mid x_0) = \\mathcal N\\big(\\sqrt{\\bar\\alpha_t}\\, x_0,\\;
          (1 - \\bar\\alpha_t) I\\big), \\qquad \\alpha_t = 1 - \\beta_t,\\quad
          \\bar\\alpha_t = \\prod_{s=1}^t \\alpha_s .

Given ``x_0`` the step back is Gaussian too (the *forward-process posterior*):

.. math:: q(x_{t-1} \\mid x_t, x_0) = \\mathcal N\\big(\\tilde\\mu_t(x_t, x_0),\\;
          \\tilde\\beta_t I\\big),\\quad
          \\tilde\\mu_t = \\frac{\\sqrt{\\bar\\alpha_{t-1}}\\,\\beta_t}{1 - \\bar\\alpha_t} x_0
          + \\frac{\\sqrt{\\alpha_t}\\,(1 - \\bar\\alpha_{t-1})}{1 - \\bar\\alpha_t} x_t,\\quad
          \\tilde\\beta_t = \\frac{1 - \\bar\\alpha_{t-1}}{1 - \\bar\\alpha_t}\\beta_t .

Arrays are indexed by ``t`` itself: ``alpha_bars[t]`` is :math:`\\bar\\alpha_t` for
``t = 0..T`` (with :math:`\\bar\\alpha_0 = 1` and ``betas[0] = 0`` unused), so the code reads
like the formulas. Everything here is NumPy float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.runtime.validation import check_array, check_int, check_real


@dataclass(frozen=True)
class NoiseSchedule:
    """A linear schedule :math:`\\beta_t` from ``beta_start`` (t = 1) to ``beta_end`` (t = T).

    Ho et al. (2020) use ``T = 1000`` and ``beta`` from ``1e-4`` to ``0.02``; with fewer steps
    ``beta_end`` must grow so that :math:`\\bar\\alpha_T` still reaches about 0 (the course's
    default, ``T = 200`` up to ``0.1``, gives :math:`\\bar\\alpha_T \\approx 4 \\times 10^{-5}`).

    Attributes:
        num_steps: ``T``, 1..100,000.
        beta_start: :math:`\\beta_1`, in (0, 1).
        beta_end: :math:`\\beta_T`, in [beta_start, 1).
    """

    num_steps: int = 200
    beta_start: float = 1e-4
    beta_end: float = 0.1

    def __post_init__(self) -> None:
        check_int("NoiseSchedule.num_steps", self.num_steps, minimum=1, maximum=100_000)
        check_real(
            "NoiseSchedule.beta_start", self.beta_start, minimum=0.0, maximum=1.0, strict=True
        )
        check_real("NoiseSchedule.beta_end", self.beta_end, minimum=self.beta_start, maximum=1.0)
        if self.beta_end >= 1.0:
            raise ValueError(f"NoiseSchedule.beta_end must be < 1, got {self.beta_end}")

    @property
    def betas(self) -> np.ndarray:
        """:math:`\\beta_t`, ``(T + 1,)``; ``betas[0] = 0`` (there is no step 0)."""
        inner = np.linspace(self.beta_start, self.beta_end, self.num_steps, dtype=np.float64)
        return np.concatenate([[0.0], inner])

    @property
    def alphas(self) -> np.ndarray:
        """:math:`\\alpha_t = 1 - \\beta_t`, ``(T + 1,)``."""
        return 1.0 - self.betas

    @property
    def alpha_bars(self) -> np.ndarray:
        """:math:`\\bar\\alpha_t = \\prod_{s \\le t} \\alpha_s`, ``(T + 1,)``;
        ``alpha_bars[0] = 1``."""
        return np.cumprod(self.alphas)

    @property
    def posterior_variances(self) -> np.ndarray:
        """:math:`\\tilde\\beta_t`, ``(T + 1,)``; ``[0]`` is 0 and so is ``[1]``
        (:math:`\\bar\\alpha_0 = 1`: given ``x_1`` and ``x_0``, ``x_0`` is known)."""
        ab = self.alpha_bars
        out = np.zeros_like(ab)
        out[1:] = (1.0 - ab[:-1]) / (1.0 - ab[1:]) * self.betas[1:]
        return out


def _check_t(t, schedule: NoiseSchedule, minimum: int = 1) -> np.ndarray:
    t = check_array("t", t, ndim=(0, 1), kind="int", dtype=np.int64)
    if t.size and (t.min() < minimum or t.max() > schedule.num_steps):
        raise ValueError(
            f"t must lie in {minimum}..{schedule.num_steps} (the schedule's T), "
            f"got values in {t.min()}..{t.max()}"
        )
    return t


def _check_points(name: str, x) -> np.ndarray:
    return check_array(name, x, ndim=2, kind="number", finite=True, dtype=np.float64)


def q_moments(schedule: NoiseSchedule, x0, t) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(B, d)`` and variance ``(B, 1)`` of :math:`q(x_t \\mid x_0)`.

    ``x0`` ``(B, d)``; ``t`` an int or ``(B,)`` ints in ``1..T``.
    """
    schedule = _check_schedule(schedule)
    x0 = _check_points("x0", x0)
    t = _check_t(t, schedule)
    ab = np.broadcast_to(schedule.alpha_bars[t], (x0.shape[0],))[:, None]  # (B, 1)
    return np.sqrt(ab) * x0, 1.0 - ab


def q_sample(schedule: NoiseSchedule, x0, t, eps) -> np.ndarray:
    """:math:`x_t = \\sqrt{\\bar\\alpha_t}\\,x_0 + \\sqrt{1 - \\bar\\alpha_t}\\,\\varepsilon`,
    ``(B, d)``.

    A draw from :math:`q(x_t \\mid x_0)` when ``eps`` ``(B, d)`` is standard normal.
    """
    mean, var = q_moments(schedule, x0, t)
    eps = check_array("eps", eps, shape=mean.shape, kind="number", finite=True, dtype=np.float64)
    return mean + np.sqrt(var) * eps


def posterior_moments(schedule: NoiseSchedule, x0, x_t, t) -> tuple[np.ndarray, np.ndarray]:
    """Mean :math:`\\tilde\\mu_t(x_t, x_0)` ``(B, d)`` and variance :math:`\\tilde\\beta_t`
    ``(B, 1)`` of :math:`q(x_{t-1} \\mid x_t, x_0)`, ``t`` in ``1..T``."""
    schedule = _check_schedule(schedule)
    x0 = _check_points("x0", x0)
    x_t = check_array("x_t", x_t, shape=x0.shape, kind="number", finite=True, dtype=np.float64)
    t = np.broadcast_to(_check_t(t, schedule), (x0.shape[0],))
    ab, betas = schedule.alpha_bars, schedule.betas
    c0 = (np.sqrt(ab[t - 1]) * betas[t] / (1.0 - ab[t]))[:, None]
    ct = (np.sqrt(1.0 - betas[t]) * (1.0 - ab[t - 1]) / (1.0 - ab[t]))[:, None]
    return c0 * x0 + ct * x_t, schedule.posterior_variances[t][:, None]


def mean_from_eps(schedule: NoiseSchedule, x_t, t, eps) -> np.ndarray:
    """The reverse-process mean written through a noise prediction (Ho et al. 2020, eq. 11):

    .. math:: \\mu_\\theta(x_t, t) = \\frac1{\\sqrt{\\alpha_t}}\\Big(x_t
              - \\frac{\\beta_t}{\\sqrt{1 - \\bar\\alpha_t}}\\,\\varepsilon_\\theta(x_t, t)\\Big).

    With the true noise ``eps`` it equals :math:`\\tilde\\mu_t(x_t, x_0)`. ``(B, d)``.
    """
    schedule = _check_schedule(schedule)
    x_t = _check_points("x_t", x_t)
    eps = check_array("eps", eps, shape=x_t.shape, kind="number", dtype=np.float64)
    t = np.broadcast_to(_check_t(t, schedule), (x_t.shape[0],))
    betas, ab = schedule.betas, schedule.alpha_bars
    coef = (betas[t] / np.sqrt(1.0 - ab[t]))[:, None]
    return (x_t - coef * eps) / np.sqrt(1.0 - betas[t])[:, None]


def _check_schedule(schedule: object) -> NoiseSchedule:
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule, got {type(schedule).__name__}")
    return schedule
