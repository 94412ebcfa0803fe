"""Offline datasets for the course: MNIST, Fashion-MNIST, 2-D toy data, and tf.data pipelines.

Importing this package does not import TensorFlow; ``make_dataset`` and ``binarize_dynamic_tf``
import it when first called. Where every dataset comes from: ``data/README.md``.
"""

from course_lib.data.images import (
    SHIPPED_MNIST_SHA256,
    DatasetNotFoundError,
    ImageData,
    binarize_dynamic,
    binarize_static,
    file_sha256,
    load_fashion_mnist,
    load_mnist,
    read_idx,
    to_float,
)
from course_lib.data.pipelines import binarize_dynamic_tf, make_dataset
from course_lib.data.toy import ring_mode_centers, ring_of_gaussians, two_moons

__all__ = [
    "SHIPPED_MNIST_SHA256",
    "DatasetNotFoundError",
    "ImageData",
    "binarize_dynamic",
    "binarize_dynamic_tf",
    "binarize_static",
    "file_sha256",
    "load_fashion_mnist",
    "load_mnist",
    "make_dataset",
    "read_idx",
    "ring_mode_centers",
    "ring_of_gaussians",
    "to_float",
    "two_moons",
]
