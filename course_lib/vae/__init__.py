"""The variational autoencoder (chapters 04 and 05).

* :mod:`~course_lib.vae.model` -- encoder, decoder, the ELBO's terms, the IWAE estimate and
  the training task; re-exported here (``from course_lib.vae import VAE``).
* :mod:`~course_lib.vae.derivations` -- the Gaussian KL term derived with sympy (no TensorFlow;
  import it as ``course_lib.vae.derivations``).
"""

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
    iwae_log_likelihood,
    make_task,
    reparameterize,
)

__all__ = [
    "KINDS",
    "VAE",
    "VAEConfig",
    "bernoulli_log_likelihood",
    "build_decoder",
    "build_encoder",
    "check_images",
    "gaussian_kl",
    "gaussian_log_density",
    "iwae_log_likelihood",
    "make_task",
    "reparameterize",
]
