"""The variational autoencoder (chapters 04 and 05).

Modules:

* :mod:`~course_lib.vae.model` -- :class:`VAEConfig`, the encoder and decoder, the ELBO's
  terms (:func:`gaussian_kl`, :func:`bernoulli_log_likelihood`, ...), :class:`VAE` and the
  training task :func:`make_task`;
* :mod:`~course_lib.vae.evaluation` -- held-out evaluation: the importance-weighted bound
  :func:`iwae_log_likelihood` and :func:`held_out_bounds`;
* :mod:`~course_lib.vae.points` -- :class:`PointVAE`, a VAE for 2-D points with a Gaussian
  decoder (chapter 03's comparison of generative families), its bound :func:`point_iwae_nll`;
* :mod:`~course_lib.vae.derivations` -- the Gaussian KL term derived with sympy (no
  TensorFlow; import it as ``course_lib.vae.derivations``).

The model and the evaluation are re-exported here: ``from course_lib.vae import VAE``.
"""

from course_lib.vae.evaluation import held_out_bounds, iwae_log_likelihood
from course_lib.vae.model import (
    KINDS,
    VAE,
    VAEConfig,
    bernoulli_log_likelihood,
    build_decoder,
    build_encoder,
    check_images,
    gaussian_kl,
    gaussian_log_density,
    make_task,
    reparameterize,
)
from course_lib.vae.points import PointVAE, PointVAEConfig, point_iwae_nll

__all__ = [
    "KINDS",
    "VAE",
    "PointVAE",
    "PointVAEConfig",
    "VAEConfig",
    "bernoulli_log_likelihood",
    "build_decoder",
    "build_encoder",
    "check_images",
    "gaussian_kl",
    "gaussian_log_density",
    "held_out_bounds",
    "iwae_log_likelihood",
    "make_task",
    "point_iwae_nll",
    "reparameterize",
]
