"""Denoising diffusion probabilistic models (Ho et al. 2020, arXiv:2006.11239) for points.

Modules (read in this order):

* :mod:`~course_lib.diffusion.schedule` -- :class:`NoiseSchedule` (the betas and
  :math:`\\bar\\alpha_t`), the forward process :math:`q(x_t \\mid x_0)` in closed form
  (:func:`q_moments`, :func:`q_sample`), the posterior :math:`q(x_{t-1} \\mid x_t, x_0)`
  (:func:`posterior_moments`) and :func:`mean_from_eps`;
* :mod:`~course_lib.diffusion.model` -- the noise predictor, :class:`DDPM` with the
  :math:`\\varepsilon`-prediction loss, :func:`make_task` for the course's Trainer, and
  :func:`ancestral_sample`;
* :mod:`~course_lib.diffusion.bound` -- :func:`variational_bound`, the bound on
  :math:`-\\log p_\\theta(x_0)` in nats per point, term by term.
"""

from course_lib.diffusion.bound import prior_term, variational_bound
from course_lib.diffusion.model import (
    DDPM,
    DiffusionConfig,
    ancestral_sample,
    build_noise_predictor,
    make_task,
    timestep_embedding,
)
from course_lib.diffusion.schedule import (
    NoiseSchedule,
    mean_from_eps,
    posterior_moments,
    q_moments,
    q_sample,
)

__all__ = [
    "DDPM",
    "DiffusionConfig",
    "NoiseSchedule",
    "ancestral_sample",
    "build_noise_predictor",
    "make_task",
    "mean_from_eps",
    "posterior_moments",
    "prior_term",
    "q_moments",
    "q_sample",
    "timestep_embedding",
    "variational_bound",
]
