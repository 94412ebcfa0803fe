"""Generative adversarial networks (Goodfellow et al. 2014) for 2-D toy data and 28x28 images.

A generator ``G`` maps noise ``z ~ N(0, I)`` to data; a discriminator ``D`` outputs a logit
``l(x)``, ``D(x) = sigmoid(l(x))``. They play

.. math:: \\min_G \\max_D V(D, G) = E_x[\\log D(x)] + E_z[\\log(1 - D(G(z)))]

(D *maximises* ``V``; the log-free, both-players-minimise form of the source document is
wrong: erratum E3 on the course's errata page, ``chapters/errata.md``). In practice ``G``
minimises the non-saturating loss ``-E[log D(G(z))]``; the Wasserstein variant with gradient
penalty is also here.

Modules (read in this order):

* :mod:`~course_lib.gan.config`      -- :class:`GANConfig`, the architecture and loss as data.
* :mod:`~course_lib.gan.networks`    -- MLP and DCGAN generators and discriminators.
* :mod:`~course_lib.gan.losses`      -- the losses per example from logits, the gradient penalty.
* :mod:`~course_lib.gan.model`       -- :class:`GAN`, :func:`make_task`, :class:`FixedNoiseGrid`.
* :mod:`~course_lib.gan.ring`        -- the ring experiment of chapter 05: :func:`train_ring_gan`
  and its mode counts (:func:`ring_mode_coverage`, :func:`ring_modes_occupied`).
* :mod:`~course_lib.gan.classifier`  -- the MNIST classifier that scores generated digits.
* :mod:`~course_lib.gan.sample_quality` -- Fréchet distance, Inception score and their
  real-vs-real baseline, measured with that classifier.
* :mod:`~course_lib.gan.derivations` -- the objective derived with sympy: the optimal
  discriminator, the Jensen-Shannon divergence, the generators' gradients (no TensorFlow;
  import it as ``course_lib.gan.derivations``).

Training goes through :class:`course_lib.training.Trainer`. The recipe tests/test_gan.py
uses on the ring (batch 256; about 10 s on a CPU; 6000 steps and Adam(beta_1=0, beta_2=0.9)
with a critic learning rate of 4e-3 for ``wgan_gp``) is one call::

    run = train_ring_gan(steps=3000, learning_rate=2e-3, beta_1=0.5, cosine_decay=True)
    run.gan.generate(1000)
"""

from course_lib.gan.config import KINDS, LOSSES, GANConfig
from course_lib.gan.losses import (
    critic_loss,
    discriminator_loss,
    gradient_penalty,
    minimax_generator_loss,
    non_saturating_generator_loss,
    wasserstein_generator_loss,
)
from course_lib.gan.model import GAN, FixedNoiseGrid, make_task
from course_lib.gan.networks import (
    build_discriminator,
    build_generator,
    from_tanh_range,
    to_tanh_range,
)
from course_lib.gan.ring import RingRun, ring_mode_coverage, ring_modes_occupied, train_ring_gan

__all__ = [
    "GAN",
    "KINDS",
    "LOSSES",
    "FixedNoiseGrid",
    "GANConfig",
    "RingRun",
    "build_discriminator",
    "build_generator",
    "critic_loss",
    "discriminator_loss",
    "from_tanh_range",
    "gradient_penalty",
    "make_task",
    "minimax_generator_loss",
    "non_saturating_generator_loss",
    "ring_mode_coverage",
    "ring_modes_occupied",
    "to_tanh_range",
    "train_ring_gan",
    "wasserstein_generator_loss",
]
