"""Sample quality of 28x28 digits: a Fréchet distance and an Inception-style score.

Heusel et al. (2017) compare generated and real images through features of an ImageNet
Inception-v3 network (FID); Salimans et al. (2016) score generated images by how confidently
and how diversely Inception classifies them (IS). This module uses the same two formulas with
the features and class probabilities of the course's MNIST classifier
(:mod:`course_lib.gan.classifier`):

* :func:`frechet_distance` between Gaussians fitted to the features of two image sets,
  ``|mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2)``: lower is better, 0 if equal;
* :func:`classifier_inception_score` ``exp(E_x KL(p(y|x) || p(y)))``: from 1 to 10, higher
  is better;
* :func:`digit_scores`: both for a batch of generated images, in one call.

The numbers depend on the classifier (architecture, data, epochs, seed) and on the sample
sizes: NOT comparable with published FID/IS. Report each next to :func:`real_vs_real_baseline`.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from course_lib.gan.classifier import check_digit_images, class_probabilities, features
from course_lib.runtime.validation import check_array, check_int


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
    x_a = check_digit_images(x_real_a, "x_real_a")
    x_b = check_digit_images(x_real_b, "x_real_b")
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
