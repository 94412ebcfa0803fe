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

Modules:

* :mod:`~course_lib.collapse.experiment` -- :data:`DATA_MODES`, :class:`CollapseConfig`,
  :func:`run_generations` and its record, :class:`Generations`;
* :mod:`~course_lib.collapse.measures` -- :func:`tail_mass`, :func:`modes_occupied`,
  :func:`mode_spread`: what a model's samples lost;
* :mod:`~course_lib.collapse.mixture` -- :func:`fit_gmm` / :func:`sample_gmm`, a Gaussian mixture
  fitted by expectation-maximisation (EM; Dempster, Laird & Rubin 1977), with full covariances;
* :mod:`~course_lib.collapse.chains` -- :func:`gaussian_refit_chains`, many independent chains of
  the 1-D case, a Gaussian refitted on ``n`` of its own samples, vectorised, for Monte Carlo
  checks of the closed forms.

All NumPy; the package imports only :mod:`course_lib.distances` and the runtime.
"""

from course_lib.collapse.chains import gaussian_refit_chains
from course_lib.collapse.experiment import DATA_MODES, CollapseConfig, Generations, run_generations
from course_lib.collapse.measures import mode_spread, modes_occupied, tail_mass
from course_lib.collapse.mixture import GaussianMixture, fit_gmm, gmm_log_density, sample_gmm

__all__ = [
    "DATA_MODES",
    "CollapseConfig",
    "GaussianMixture",
    "Generations",
    "fit_gmm",
    "gaussian_refit_chains",
    "gmm_log_density",
    "mode_spread",
    "modes_occupied",
    "run_generations",
    "sample_gmm",
    "tail_mass",
]
