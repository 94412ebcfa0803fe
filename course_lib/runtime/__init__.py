"""What every notebook, test and script needs before it trains anything.

* :mod:`~course_lib.runtime.profiles` -- run profiles (``COURSE_PROFILE=ci|student|full``).
* :mod:`~course_lib.runtime.seeding` -- one call seeds Python, NumPy, TensorFlow and Keras.
* :mod:`~course_lib.runtime.paths` -- the repository, its data and its training runs.
* :mod:`~course_lib.runtime.devices` -- accelerators, the ``tf.distribute`` strategy, precision.
* :mod:`~course_lib.runtime.cli` -- the ``doctor`` and ``profiles`` commands.

The first three are re-exported here; importing this package does not import TensorFlow.
"""

from course_lib.runtime.paths import Paths, get_paths
from course_lib.runtime.profiles import DEFAULT_PROFILE, PROFILE_ENV, PROFILES, Profile, get_profile
from course_lib.runtime.seeding import set_seed

__all__ = [
    "DEFAULT_PROFILE",
    "PROFILES",
    "PROFILE_ENV",
    "Paths",
    "Profile",
    "get_paths",
    "get_profile",
    "set_seed",
]
