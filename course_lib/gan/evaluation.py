"""Evaluating a GAN's samples: 28x28 digits with a small classifier, and the ring's modes.

**Digits.** A Fréchet distance and an Inception-style score measured with a small MNIST
classifier trained here (nothing is downloaded). Heusel et al. (2017) compare generated and
real images through features of an ImageNet Inception-v3 network (FID); Salimans et al. (2016)
score generated images by how confidently and how diversely Inception classifies them (IS).
This module uses the same two formulas with the 128-d penultimate features and the class
probabilities of :func:`build_classifier`:

* :func:`frechet_distance` between Gaussians fitted to the features of two image sets,
  ``|mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2)``: lower is better, 0 if equal;
* :func:`classifier_inception_score` ``exp(E_x KL(p(y|x) || p(y)))``: from 1 to 10, higher
  is better;
* :func:`digit_scores`: both for a batch of generated images, in one call.

The numbers depend on this classifier (architecture, data, epochs, seed) and on the sample
sizes: NOT comparable with published FID/IS. Report each next to :func:`real_vs_real_baseline`.

**The ring of Gaussians.** A generator that has collapsed puts its samples on a few of the
``K`` modes; one that has not yet converged puts them between modes.
:func:`ring_mode_coverage` measures both; :func:`ring_modes_occupied` is a cruder count that
also sees where blurry samples go early in training.

Sections, in order: input checks, the classifier, what it sees, the Fréchet distance, the
Inception score, scores and their baseline, the ring.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from course_lib.data import make_dataset, to_float
from course_lib.runtime import set_seed
from course_lib.runtime.validation import check_array, check_int, check_real
from course_lib.training import TrainConfig, Trainer, supervised_task

IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
FEATURE_DIM = 128
FEATURE_LAYER = "features"
# Bump when build_classifier changes: cached weights are then retrained.
ARCHITECTURE_VERSION = 1


# --------------------------------------------------------------------------- input checks
def _images(x, name: str = "x") -> np.ndarray:
    """``x`` as float32 ``(N, 28, 28, 1)`` in [0, 1].

    uint8 0..255 and ``(N, 28, 28)`` are accepted.
    """
    x = np.asarray(x)
    good_shape = x.ndim in (3, 4) and x.shape[1:3] == (28, 28) and x.shape[3:] in ((), (1,))
    if not good_shape or not len(x):
        hint = " (add a batch axis: x[None])" if x.shape in ((28, 28), IMAGE_SHAPE) else ""
        raise ValueError(
            f"{name} must be a non-empty batch of images (N, 28, 28, 1) or (N, 28, 28), "
            f"got shape {x.shape}{hint}"
        )
    if x.dtype != np.uint8:
        if not np.issubdtype(x.dtype, np.floating):
            raise TypeError(
                f"{name} must be float in [0, 1] or uint8 in 0..255, got dtype {x.dtype}"
            )
        # False for NaN, so NaN is refused too.
        if not ((x >= 0) & (x <= 1)).all():
            low, high = np.nanmin(x), np.nanmax(x)
            hint = ""
            if low >= -1 and high <= 1:
                hint = "; map a tanh generator's output with (x + 1) / 2"
            raise ValueError(f"{name} must lie in [0, 1], got range [{low:.3g}, {high:.3g}]{hint}")
    return to_float(x)


def _labels(y, n: int, name: str = "y") -> np.ndarray:
    """``y`` as int32 ``(n,)`` class labels in 0..9."""
    y = check_array(name, y, kind="int")
    if y.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), one label per image, got {y.shape}")
    if y.min() < 0 or y.max() >= NUM_CLASSES:
        raise ValueError(
            f"{name} must be labels in 0..{NUM_CLASSES - 1}, got range [{y.min()}, {y.max()}]"
        )
    return y.astype(np.int32)


# --------------------------------------------------------------------------- the classifier
def build_classifier() -> keras.Model:
    """A small CNN, ``x (B, 28, 28, 1)`` in [0, 1] ``-> logits (B, 10)``.

    Two 3x3 ``Conv2D`` (32 and 64 filters, ReLU, 'same'), each followed by 2x2 max-pooling,
    then ``Dense(128, ReLU)`` named ``"features"`` (the penultimate layer that
    :func:`features` reads) and a linear ``Dense(10)`` named ``"logits"``.
    """
    x = keras.Input(shape=IMAGE_SHAPE, name="x")
    # (B, 28, 28, 32), then (B, 14, 14, 32)
    h = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    h = keras.layers.MaxPooling2D()(h)
    # (B, 14, 14, 64), then (B, 7, 7, 64)
    h = keras.layers.Conv2D(64, 3, padding="same", activation="relu")(h)
    h = keras.layers.MaxPooling2D()(h)
    # (B, 3136)
    h = keras.layers.Flatten()(h)
    # (B, 128)
    f = keras.layers.Dense(FEATURE_DIM, activation="relu", name=FEATURE_LAYER)(h)
    # (B, 10)
    logits = keras.layers.Dense(NUM_CLASSES, name="logits")(f)
    return keras.Model(x, logits, name=f"mnist_classifier_v{ARCHITECTURE_VERSION}")


def _cross_entropy(y_true: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """``-log softmax(logits)_y`` per example, ``(B,)``."""
    return keras.losses.sparse_categorical_crossentropy(y_true, logits, from_logits=True)


def _accuracy(y_true: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """1.0 where the most probable class is the label, else 0.0, ``(B,)``."""
    predicted = tf.argmax(logits, -1, output_type=tf.int32)
    return tf.cast(tf.equal(predicted, tf.cast(y_true, tf.int32)), tf.float32)


def train_classifier(
    x_train,
    y_train,
    *,
    epochs: int,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
) -> keras.Model:
    """Train :func:`build_classifier` and return it (or load it from the cache).

    Adam on the per-example sparse cross-entropy ``-log softmax(logits)_y``, through
    :class:`course_lib.training.Trainer`.

    ``x_train``: images ``(N, 28, 28[, 1])`` (uint8 or float in [0, 1]); ``y_train``: ints
    ``(N,)`` in 0..9. With ``cache_dir`` (e.g. ``get_paths().run_dir("mnist_classifier")``)
    the weights are saved as ``classifier-<key>.weights.h5`` and loaded instead of retraining
    when the key matches: a hash of the data's checksum, ``epochs``, ``seed``, ``batch_size``,
    ``learning_rate`` and :data:`ARCHITECTURE_VERSION`.
    """
    x = _images(x_train, "x_train")
    y = _labels(y_train, len(x), "y_train")
    settings = {
        "epochs": check_int("epochs", epochs, minimum=1),
        "seed": check_int("seed", seed, minimum=0),
        "batch_size": check_int("batch_size", batch_size, minimum=1),
        "learning_rate": check_real("learning_rate", learning_rate, minimum=0.0, strict=True),
    }
    set_seed(settings["seed"])
    model = build_classifier()
    path = None
    if cache_dir is not None:
        # The data's checksum, then a key over the data and every setting.
        data = hashlib.sha256(x.tobytes() + y.tobytes()).hexdigest()
        key = json.dumps(
            {"data": data, "architecture": ARCHITECTURE_VERSION, **settings}, sort_keys=True
        )
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        path = Path(cache_dir) / f"classifier-{digest}.weights.h5"
        if path.is_file():
            model.load_weights(path)
            return model
    # Per-example (B,) loss and accuracy.
    task = supervised_task(
        model,
        _cross_entropy,
        keras.optimizers.Adam(settings["learning_rate"]),
        metrics={"accuracy": _accuracy},
    )
    dataset = make_dataset(x, y, batch_size=settings["batch_size"], seed=settings["seed"])
    Trainer(task, TrainConfig(epochs=settings["epochs"])).fit(dataset)
    if path is not None:
        # Write, then rename, so an interrupted save never leaves a broken cache.
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"partial-{os.getpid()}-{path.name}")
        model.save_weights(partial)
        partial.replace(path)
    return model


# --------------------------------------------------------------------------- what it sees
def _features_and_logits(model: keras.Model, x, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Penultimate activations ``(N, d)`` and logits ``(N, 10)`` of ``x``, float64.

    ``batch_size`` images at a time.
    """
    if FEATURE_LAYER not in [layer.name for layer in model.layers]:
        raise ValueError(
            f"model has no layer named {FEATURE_LAYER!r}: build it with build_classifier()"
        )
    both = keras.Model(model.inputs[0], [model.get_layer(FEATURE_LAYER).output, model.outputs[0]])
    x = _images(x)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    feature_parts, logit_parts = [], []
    for first in range(0, len(x), batch_size):
        f, logits = both(x[first : first + batch_size], training=False)
        feature_parts.append(np.asarray(f))
        logit_parts.append(np.asarray(logits))
    return (
        np.concatenate(feature_parts).astype(np.float64),
        np.concatenate(logit_parts).astype(np.float64),
    )


def features(model: keras.Model, x, batch_size: int = 500) -> np.ndarray:
    """Activations of the ``"features"`` layer, ``(N, 128)`` float64.

    ``x``: images ``(N, 28, 28, 1)`` (or ``(N, 28, 28)``), float in [0, 1] or uint8.
    """
    return _features_and_logits(model, x, batch_size)[0]


def class_probabilities(model: keras.Model, x, batch_size: int = 500) -> np.ndarray:
    """``p(y|x) = softmax(logits)`` for images ``x (N, 28, 28, 1)``: ``(N, 10)`` float64.

    Each row sums to 1.
    """
    logits = _features_and_logits(model, x, batch_size)[1]
    # A stable softmax: subtract each row's maximum first.
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def classifier_accuracy(model: keras.Model, x, y, batch_size: int = 500) -> float:
    """Fraction of images ``x`` whose most probable class equals the label ``y (N,)``."""
    probs = class_probabilities(model, x, batch_size)
    y = _labels(y, len(probs))
    return float(np.mean(probs.argmax(axis=1) == y))


# --------------------------------------------------------------------------- Fréchet distance
def feature_statistics(f) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``mu (d,)`` and unbiased covariance ``sigma (d, d)`` of features ``f (N, d)``.

    ``sigma = (f - mu)^T (f - mu) / (N - 1)``, float64. Needs ``N > d``: with fewer samples
    the covariance is singular (rank <= N - 1) and the FD is dominated by estimation noise.
    """
    f = np.asarray(f, dtype=np.float64)
    if f.ndim != 2 or not np.isfinite(f).all():
        raise ValueError(
            f"f must be finite features (N, d), got shape {f.shape} (NaN/Inf are rejected too)"
        )
    n, d = f.shape
    if n <= d:
        raise ValueError(
            f"need more samples than feature dimensions to estimate a ({d}, {d}) covariance: "
            f"got N={n}, d={d}. Use N > {d} (better ~10 d) and the same N for all compared "
            "numbers."
        )
    mu = f.mean(axis=0)  # (d,)
    centred = f - mu  # (N, d)
    return mu, centred.T @ centred / (n - 1)


def _drop_rounding_noise(w: np.ndarray) -> np.ndarray:
    """Eigenvalues below ``d * eps * max|w|`` set to 0.

    That is the rounding noise of a PSD matrix's eigenvalues, of either sign.
    """
    noise = w.size * np.finfo(np.float64).eps * np.abs(w).max(initial=0.0)
    return np.where(w > noise, w, 0.0)


def _psd_eigh(sigma: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (rounding noise set to 0) and eigenvectors of a symmetric PSD matrix.

    Raises a clear error for a matrix that is not square, symmetric or PSD.
    """
    if sigma.ndim != 2 or sigma.shape[0] != sigma.shape[1]:
        raise ValueError(f"{name} must be a square (d, d) matrix, got shape {sigma.shape}")
    scale = max(1.0, float(np.abs(sigma).max()))
    if not np.allclose(sigma, sigma.T, rtol=1e-5, atol=1e-8 * scale):
        raise ValueError(f"{name} must be a symmetric covariance matrix")
    w, v = np.linalg.eigh((sigma + sigma.T) / 2)
    # Rounding makes tiny negative eigenvalues only.
    if w.min() < -1e-6 * max(float(np.abs(w).max()), 1e-12):
        raise ValueError(f"{name} is not positive semi-definite: smallest eigenvalue {w.min():.3g}")
    return _drop_rounding_noise(w), v


def sqrtm_psd(sigma, name: str = "sigma") -> np.ndarray:
    """The symmetric PSD square root of ``sigma = V diag(w) V^T``: ``V diag(sqrt(w)) V^T``.

    ``sigma`` and the result are ``(d, d)``.
    """
    sigma = check_array(name, sigma, kind="number", finite=True, dtype=np.float64)
    w, v = _psd_eigh(sigma, name)
    return (v * np.sqrt(w)) @ v.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Squared 2-Wasserstein (Fréchet) distance between ``N(mu1, sigma1)`` and ``N(mu2, sigma2)``:

    .. math:: \\|\\mu_1 - \\mu_2\\|^2 + \\mathrm{Tr}\\big(\\Sigma_1 + \\Sigma_2
              - 2 (\\Sigma_1^{1/2} \\Sigma_2 \\Sigma_1^{1/2})^{1/2}\\big).

    ``mu (d,)``, ``sigma (d, d)`` symmetric PSD (a scalar ``mu`` with a scalar variance is the
    1-D case). Stable, in float64: the PSD roots come from symmetric eigendecompositions
    (eigenvalues at rounding level set to 0), and since
    ``(S1^1/2 S2^1/2)(S1^1/2 S2^1/2)^T = S1^1/2 S2 S1^1/2``, ``Tr (S1^1/2 S2 S1^1/2)^1/2`` is
    the sum of the singular values of ``S1^1/2 S2^1/2`` (no ``sqrtm`` of the non-symmetric
    ``S1 S2``, and no squaring of the condition number).
    """
    mu1 = np.atleast_1d(np.asarray(mu1, dtype=np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, dtype=np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, dtype=np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, dtype=np.float64))
    d = mu1.shape[0]
    if mu1.ndim != 1 or d < 1 or mu2.shape != mu1.shape:
        raise ValueError(
            f"mu1 and mu2 must be vectors of the same length, got {mu1.shape} and {mu2.shape}"
        )
    for name, s in (("sigma1", sigma1), ("sigma2", sigma2)):
        if s.shape != (d, d):
            raise ValueError(f"{name} must have shape ({d}, {d}) to match mu, got {s.shape}")
    if not all(np.isfinite(a).all() for a in (mu1, mu2, sigma1, sigma2)):
        raise ValueError("mu and sigma must be finite (no NaN or Inf)")
    root1 = sqrtm_psd(sigma1, "sigma1")  # (d, d)
    root2 = sqrtm_psd(sigma2, "sigma2")  # (d, d)
    # Tr (S1^1/2 S2 S1^1/2)^1/2
    trace_root = np.linalg.svd(root1 @ root2, compute_uv=False).sum()
    squared_mean_distance = np.sum((mu1 - mu2) ** 2)
    value = squared_mean_distance + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_root
    return float(max(value, 0.0))


def frechet_classifier_distance(model: keras.Model, x_a, x_b, batch_size: int = 500) -> float:
    """FD between Gaussians fitted to the ``"features"`` of images ``x_a`` and ``x_b``.

    FID-like, but with our MNIST classifier's features instead of Inception-v3's, so NOT
    comparable with published FID numbers. Compare only numbers from the same classifier and
    sample sizes (small N biases it upward), next to :func:`real_vs_real_baseline`.
    """
    stats_a = feature_statistics(features(model, x_a, batch_size))
    stats_b = feature_statistics(features(model, x_b, batch_size))
    return frechet_distance(*stats_a, *stats_b)


# --------------------------------------------------------------------------- Inception score
def classifier_inception_score(probs, splits: int = 1) -> float:
    """Classifier-based Inception score of predictions ``probs = p(y|x)``, ``(N, K)``:

    .. math:: IS = \\exp\\Big(\\frac1N \\sum_i \\sum_y p(y|x_i)
              \\log\\frac{p(y|x_i)}{p(y)}\\Big), \\qquad p(y) = \\frac1N \\sum_i p(y|x_i).

    Salimans et al. (2016) define IS with Inception's ImageNet classes; this is the same
    formula with our MNIST classifier. It ranges from 1 (every image gets the same
    prediction) to ``K`` (= 10: each image classified with certainty, classes used equally
    often). It ignores whether images look like *real* digits of the right style.
    ``splits > 1`` cuts the samples into that many parts and returns the mean of their scores
    (Salimans et al. 2016 recommend evaluating 50,000 samples; the score function of their
    published code, github.com/openai/improved-gan, defaults to 10 splits, i.e. splits of
    5,000).
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2 or not len(p):
        raise ValueError(
            f"probs must be class probabilities (N, K) with K >= 2, got shape {p.shape}"
        )
    rows_sum_to_one = np.allclose(p.sum(axis=1), 1.0, atol=1e-3)
    if not np.isfinite(p).all() or (p < 0).any() or not rows_sum_to_one:
        raise ValueError(
            "each row of probs must be a probability vector (non-negative, sum 1): "
            "pass softmax(logits), e.g. class_probabilities(model, x), not logits"
        )
    splits = check_int("splits", splits, minimum=1)
    if splits > len(p):
        raise ValueError(f"splits={splits} exceeds the number of samples N={len(p)}")
    p = p / p.sum(axis=1, keepdims=True)
    scores = []
    for part in np.array_split(p, splits):  # (n, K) each
        p_y = part.mean(axis=0, keepdims=True)  # (1, K), the marginal
        # 0 log 0 = 0; where p(y|x) > 0, p(y) > 0 too.
        safe = part > 0
        log_ratio = np.log(np.where(safe, part, 1.0)) - np.log(np.where(safe, p_y, 1.0))
        # (n,): KL(p(y|x) || p(y))
        kl = np.sum(np.where(safe, part * log_ratio, 0.0), axis=1)
        # The mean KL is a mutual information, >= 0 (up to rounding).
        scores.append(np.exp(max(kl.mean(), 0.0)))
    return float(np.mean(scores))


# --------------------------------------------------------------------------- scores, baseline
def digit_scores(
    model: keras.Model, images, x_reference, batch_size: int = 500
) -> tuple[float, float]:
    """``(IS, FD)`` of generated digits: the two numbers chapter 05 reports.

    Args:
        model: the classifier of :func:`train_classifier`.
        images: generated images ``(N, 28, 28, 1)`` in [0, 1] (map a tanh generator's output
            with :func:`course_lib.gan.from_tanh_range` first).
        x_reference: real images to compare with (e.g. the training split).
        batch_size: images per forward pass.

    Returns:
        :func:`classifier_inception_score` of ``images`` and
        :func:`frechet_classifier_distance` between ``images`` and ``x_reference``.
    """
    inception = classifier_inception_score(class_probabilities(model, images, batch_size))
    fd = frechet_classifier_distance(model, images, x_reference, batch_size)
    return inception, fd


@dataclass(frozen=True)
class Baseline:
    """What a perfect generator would score at these sample sizes.

    ``fd`` between the features of ``x_real_a`` (``n_a`` images) and ``x_real_b`` (``n_b``),
    ``inception_score`` of ``x_real_b``.
    """

    fd: float
    inception_score: float
    n_a: int
    n_b: int

    def __str__(self) -> str:
        sizes = f"N_a={self.n_a:,}, N_b={self.n_b:,}"
        return f"real vs real ({sizes}): FD = {self.fd:.4g}, IS = {self.inception_score:.4g}"


def real_vs_real_baseline(
    model: keras.Model, x_real_a, x_real_b, batch_size: int = 500
) -> Baseline:
    """FD between two disjoint real splits and IS of real images.

    The baseline that must come with every reported FD/IS. ``x_real_a``: the reference set
    generated samples are compared with (e.g. the train split); ``x_real_b``: held-out real
    images (e.g. the test split) standing in for a perfect generator's samples, so give it as
    many images as you generate. IS is computed on ``x_real_b`` (the classifier is
    overconfident on its training images). More than 1% shared images raise.
    """
    x_a = _images(x_real_a, "x_real_a")
    x_b = _images(x_real_b, "x_real_b")
    seen = {img.tobytes() for img in x_a}
    shared = sum(img.tobytes() in seen for img in x_b)
    if shared > 0.01 * min(len(x_a), len(x_b)):
        raise ValueError(
            f"x_real_a and x_real_b share {shared} images: the baseline needs disjoint "
            "real splits (e.g. train and test)"
        )
    fd = frechet_classifier_distance(model, x_a, x_b, batch_size)
    score = classifier_inception_score(class_probabilities(model, x_b, batch_size))
    return Baseline(fd=fd, inception_score=score, n_a=len(x_a), n_b=len(x_b))


# --------------------------------------------------------------------------- the ring
def _points_and_centers(samples, centers) -> tuple[np.ndarray, np.ndarray]:
    """``samples (N, d)`` and ``centers (K, d)`` as finite float64 arrays with the same ``d``."""
    samples = check_array(
        "samples", samples, ndim=2, kind="number", finite=True, nonempty=True, dtype=np.float64
    )
    centers = check_array(
        "centers", centers, ndim=2, kind="number", finite=True, nonempty=True, dtype=np.float64
    )
    if samples.shape[1] != centers.shape[1]:
        raise ValueError(
            f"samples (N, d) and centers (K, d) need the same d, got {samples.shape} and "
            f"{centers.shape}"
        )
    return samples, centers


def ring_mode_coverage(
    samples, centers, std: float, threshold: float = 3.0, min_fraction: float = 0.1
) -> tuple[int, float]:
    """``(modes_covered, high_quality_fraction)`` of generated 2-D ``samples``.

    The rule:

    * each sample belongs to its nearest centre (Euclidean distance);
    * it is *high quality* if that distance is at most ``threshold * std``;
    * a mode is *covered* if it receives at least ``min_fraction * N / K`` high-quality
      samples (and at least one), where ``N / K`` is its share under the data distribution.

    For data drawn from the ring itself (isotropic 2-D Gaussians) a sample lies within
    ``3 std`` of its centre with probability ``1 - exp(-9/2) = 0.989``, so real data scores
    ``(K, ~0.99)`` when the modes are well separated.

    Args:
        samples: ``(N, 2)`` points.
        centers: ``(K, 2)`` mode centres, e.g. :func:`course_lib.data.ring_mode_centers`.
        std: standard deviation of each mode (``ring_of_gaussians(std=...)``).
        threshold: the high-quality radius in units of ``std``.
        min_fraction: share of the fair ``N / K`` a mode needs to count as covered.
    """
    samples, centers = _points_and_centers(samples, centers)
    std = check_real("std", std, minimum=0.0, strict=True)
    threshold = check_real("threshold", threshold, minimum=0.0, strict=True)
    min_fraction = check_real("min_fraction", min_fraction, minimum=0.0, maximum=1.0)
    # (N, K)
    distances = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=-1)
    nearest = distances.argmin(axis=1)  # (N,)
    good = distances[np.arange(len(samples)), nearest] <= threshold * std  # (N,)
    # (K,): high-quality samples per mode
    counts = np.bincount(nearest[good], minlength=len(centers))
    needed = max(1, math.ceil(min_fraction * len(samples) / len(centers)))
    return int((counts >= needed).sum()), float(good.mean())


def ring_modes_occupied(samples, centers, min_share: float = 0.5) -> int:
    """The number of modes that are the *nearest* centre of enough ``samples``.

    A mode is occupied when at least ``min_share * N / K`` of the ``N`` samples have it as
    their nearest centre, however far away they are: unlike :func:`ring_mode_coverage`, this
    also counts blurry samples, so it shows early in training where the generator puts its
    mass (``K`` for samples spread evenly over the modes' regions, 1 for a generator that
    has collapsed onto one region).

    Args:
        samples: ``(N, d)`` points.
        centers: ``(K, d)`` mode centres.
        min_share: the fraction of the fair share ``N / K`` a mode needs, in ``[0, 1]``.
    """
    samples, centers = _points_and_centers(samples, centers)
    min_share = check_real("min_share", min_share, minimum=0.0, maximum=1.0)
    # (N,): the nearest centre of each sample
    nearest = np.linalg.norm(samples[:, None, :] - centers[None], axis=-1).argmin(axis=1)
    counts = np.bincount(nearest, minlength=len(centers))  # (K,)
    return int((counts >= min_share * len(samples) / len(centers)).sum())
