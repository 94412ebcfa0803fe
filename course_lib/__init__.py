"""course_lib: the tested library behind the course "LLMs and the Architecture of Computing".

Modules (import the one you need; importing this package does not import TensorFlow):

* ``config``       -- run profiles (``COURSE_PROFILE=ci|student|full``), paths, seeding.
* ``devices``      -- accelerators, ``tf.distribute`` strategy, precision policy, report.
* ``data``         -- offline datasets (MNIST, Fashion-MNIST, toy 2-D data, Shakespeare, Tang poems,
  number translation pairs) and tf.data pipelines.
* ``tokenization`` -- character and byte-level BPE tokenisers; BPE merges by hand.
* ``training``     -- the one training loop every model of the course uses.
* ``vae``          -- the variational autoencoder, its ELBO terms and the IWAE estimate.
* ``gan``          -- GANs for toy data and digits, their losses, the gradient penalty.
* ``transformer``  -- a decoder-only GPT, its loss, sampling and KV-cache generation.
* ``hardware``     -- microbenchmarks, the roofline, a sourced hardware table, an LLM cost model.
* ``compression``  -- int8 weight quantisation and magnitude pruning.
* ``metrics``      -- sample quality of digits (Fréchet classifier distance, inception score).
* ``text_metrics`` -- bits per token, perplexity, BLEU, chrF, exact match.
* ``retrieval``    -- BM25 search over the course's own text (question answering).
* ``symbolic``     -- sympy derivations of the VAE's KL term; ``symbolic_gan`` and
  ``symbolic_gan_gradients`` those of the GAN.
* ``plots``, ``widgets`` -- figures, and explorers that fall back to static figures.
* ``cli``          -- ``python -m course_lib doctor | profiles``.
"""

__version__ = "0.1.0"
