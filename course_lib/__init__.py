"""course_lib: the tested library behind the course "LLMs and the Architecture of Computing".

Start a chapter with ``nb = course_lib.start()`` (see :mod:`course_lib.runtime.notebook`).
The packages, from the bottom up (each imports only those above it; importing this package
imports neither TensorFlow nor any of them):

* ``runtime``     -- profiles, paths, seeding, argument checks, devices and strategy, the
  notebook start, the command line.
* ``data``        -- offline datasets (MNIST, Fashion-MNIST, toy 2-D data, Shakespeare, Tang
  poems, number translation pairs) and tf.data pipelines.
* ``training``    -- the one training loop: tasks, the trainer, checkpoints, early stopping,
  history, learning-rate schedules.
* ``hardware``    -- model shapes and their sizes, a sourced hardware table, microbenchmarks,
  the roofline, the cost of serving an LLM.
* ``vae``, ``gan``, ``gpt``, ``diffusion``, ``autoregressive`` -- one package (or module) per
  model family: the model, its losses, its evaluation and (for the VAE and the GAN) its
  derivations with sympy.
* ``ngram``       -- the counting language model the GPT is compared with.
* ``text``        -- tokenisation, text metrics, retrieval, duplicate detection.
* ``distances``   -- distances between two samples (energy distance, MMD).
* ``collapse``    -- training on generated data, generation after generation.
* ``privacy``     -- canaries in training text and their exposure.
* ``compression`` -- int8 weight quantisation and magnitude pruning.
* ``viz``         -- figures, and interactive explorers with a static fallback.
* ``outline``     -- the chapter notebooks and the errata page, read as data.

``ARCHITECTURE.md`` at the repository root draws the dependencies and says where a new
chapter's code goes.
"""

from course_lib.runtime.notebook import Notebook, start

__version__ = "0.2.0"

__all__ = ["Notebook", "__version__", "start"]
