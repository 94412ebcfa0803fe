"""course_lib: the tested library behind the course "LLMs and the Architecture of Computing".

Modules (import the one you need; importing this package does not import TensorFlow):

* ``config``   -- run profiles (``COURSE_PROFILE=ci|student|full``), paths, seeding.
* ``devices``  -- accelerators, ``tf.distribute`` strategy, precision policy, report.
* ``data``     -- offline datasets (MNIST, Fashion-MNIST, toy 2-D data) and tf.data pipelines.
* ``training`` -- the one training loop every model of the course uses.
"""

__version__ = "0.1.0"
