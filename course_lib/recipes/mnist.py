"""The MNIST subset the chapters of part 05 train on, per profile (shared by three recipes).

``load_mnist()`` (the full MNIST when installed, else the shipped subset), then a
class-balanced subset of ``profile.subset(N_train)`` training and
``profile.subset(N_test, eval=True)`` held-out images drawn with seed 0: the ``data`` of
``chapters/05_practice/02_vae_mnist.ipynb`` and ``03_gan_mnist.ipynb``.
"""

from __future__ import annotations

import functools
from typing import Any

from course_lib.runtime.profiles import Profile


@functools.lru_cache(maxsize=3)
def _subset(profile_name: str) -> Any:
    from course_lib.data import load_mnist
    from course_lib.runtime.profiles import get_profile

    profile = get_profile(profile_name)
    mnist = load_mnist()
    return mnist.subset(
        profile.subset(len(mnist.x_train)), profile.subset(len(mnist.x_test), eval=True), seed=0
    )


def mnist_data(profile: Profile) -> Any:
    """The chapters' :class:`~course_lib.data.images.ImageData` subset for ``profile``:
    ``x_train`` uint8 ``(N, 28, 28, 1)``, ``y_train`` ``(N,)``, ``x_test``, ``y_test``
    (read once per process and profile)."""
    return _subset(profile.name)


def mnist_digest(profile: Profile) -> str:
    """Checksum of the subset's images and labels (both splits), for a cache key."""
    from course_lib.runtime import fingerprint

    data = mnist_data(profile)
    arrays = (data.x_train, data.y_train, data.x_test, data.y_test)
    return fingerprint.digest([fingerprint.array_digest(a) for a in arrays])
