"""Tests of course_lib.gan.sample_quality (the Fréchet distance, the classifier Inception score,
the real-vs-real baseline) and of course_lib.gan.classifier, the MNIST classifier whose
features and predictions they use (one module, so the classifier is trained once)."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from course_lib.data import load_mnist
from course_lib.gan import classifier as classifier_module
from course_lib.gan.classifier import (
    build_classifier,
    class_probabilities,
    classifier_accuracy,
    features,
    train_classifier,
)
from course_lib.gan.sample_quality import (
    classifier_inception_score,
    digit_scores,
    feature_statistics,
    frechet_classifier_distance,
    frechet_distance,
    real_vs_real_baseline,
    sqrtm_psd,
)


def random_covariance(d: int, rank: int | None = None, seed: int = 0) -> np.ndarray:
    """A random symmetric PSD (d, d) matrix of the given rank (full by default)."""
    a = np.random.default_rng(seed).normal(size=(d, rank or d))
    return a @ a.T / d


def random_rotation(d: int, seed: int = 0) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return q


# --------------------------------------------------------------------------- Fréchet distance
def test_frechet_distance_equals_closed_form_for_diagonal_covariances():
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.1, 3.0, size=6), rng.uniform(0.1, 3.0, size=6)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)


def test_frechet_distance_equals_closed_form_for_commuting_rotated_covariances():
    # S1 = Q diag(a) Q^T, S2 = Q diag(b) Q^T share eigenvectors: the diagonal formula still holds
    rng = np.random.default_rng(1)
    q = random_rotation(5, seed=1)
    a, b = rng.uniform(0.0, 2.0, size=5), rng.uniform(0.0, 2.0, size=5)
    a[0] = 0.0  # a singular covariance is allowed
    expected = np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(
        np.zeros(5), q @ np.diag(a) @ q.T, np.zeros(5), q @ np.diag(b) @ q.T
    ) == pytest.approx(expected, rel=1e-8)


@pytest.mark.parametrize("rank", [8, 3])
def test_frechet_distance_is_zero_for_identical_statistics(rank):
    sigma = random_covariance(8, rank=rank)
    mu = np.arange(8.0)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_is_symmetric_for_non_commuting_covariances():
    s1, s2 = random_covariance(10, seed=1), random_covariance(10, rank=4, seed=2)
    mu1, mu2 = np.ones(10), np.zeros(10)
    forward, backward = frechet_distance(mu1, s1, mu2, s2), frechet_distance(mu2, s2, mu1, s1)
    assert forward > 1.0
    assert forward == pytest.approx(backward, rel=1e-8)


def test_frechet_trace_term_equals_sum_of_square_roots_of_eigenvalues_of_sigma1_sigma2():
    # Independent route: S1 S2 is similar to S1^1/2 S2 S1^1/2, so
    # Tr(...)^1/2 = sum sqrt(eig(S1 S2)).
    s1, s2 = random_covariance(7, seed=3), random_covariance(7, seed=4)
    eig = np.linalg.eigvals(s1 @ s2)
    assert np.abs(eig.imag).max() < 1e-10
    expected = np.trace(s1) + np.trace(s2) - 2.0 * np.sqrt(np.clip(eig.real, 0, None)).sum()
    assert frechet_distance(np.zeros(7), s1, np.zeros(7), s2) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_matches_scipy_sqrtm_formula():
    linalg = pytest.importorskip("scipy.linalg")
    s1, s2 = random_covariance(12, seed=5), random_covariance(12, seed=6)
    mu1, mu2 = np.full(12, 0.5), np.zeros(12)
    covmean = linalg.sqrtm(s1 @ s2).real  # the formula of the reference FID code
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2.0 * covmean)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-7)


@pytest.mark.parametrize(
    "m1, s1, m2, s2", [(0.0, 1.0, 0.0, 1.0), (1.0, 2.0, -1.0, 0.5), (3.0, 0.0, 0.0, 4.0)]
)
def test_frechet_distance_of_1d_gaussians_is_squared_mean_plus_squared_std_difference(
    m1, s1, m2, s2
):
    expected = (m1 - m2) ** 2 + (s1 - s2) ** 2
    assert frechet_distance([m1], [[s1**2]], [m2], [[s2**2]]) == pytest.approx(expected, abs=1e-12)
    assert frechet_distance(m1, s1**2, m2, s2**2) == pytest.approx(
        expected, abs=1e-12
    )  # scalars: variances


def test_sqrtm_psd_squares_back_and_tolerates_rounding_but_rejects_indefinite_matrices():
    sigma = random_covariance(6, rank=2, seed=7)
    root = sqrtm_psd(sigma)
    np.testing.assert_allclose(root @ root, sigma, atol=1e-12)
    np.testing.assert_allclose(root, root.T, atol=1e-14)
    q = random_rotation(3)
    assert np.isfinite(
        sqrtm_psd(q @ np.diag([1.0, 0.5, -1e-12]) @ q.T)
    ).all()  # rounding noise: clipped
    with pytest.raises(ValueError, match="not positive semi-definite"):
        frechet_distance(np.zeros(2), np.diag([1.0, -0.5]), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="square"):
        sqrtm_psd(np.ones((2, 3)))
    with pytest.raises(ValueError, match="symmetric"):
        frechet_distance(np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]), np.zeros(2), np.eye(2))


@pytest.mark.parametrize(
    "mu2, sigma2",
    [(np.zeros(3), np.eye(3)), (np.zeros(4), np.eye(3)), (np.zeros((4, 1)), np.eye(4))],
)
def test_frechet_distance_rejects_mismatched_shapes(mu2, sigma2):
    with pytest.raises(ValueError, match=r"shape|same length"):
        frechet_distance(np.zeros(4), np.eye(4), mu2, sigma2)


def test_feature_statistics_match_numpy_and_need_more_samples_than_dimensions():
    f = np.random.default_rng(0).normal(size=(50, 4))
    mu, sigma = feature_statistics(f)
    np.testing.assert_allclose(mu, f.mean(axis=0))
    np.testing.assert_allclose(sigma, np.cov(f, rowvar=False))
    with pytest.raises(ValueError, match="more samples than feature dimensions"):
        feature_statistics(f[:4])
    with pytest.raises(ValueError, match=r"\(N, d\)"):
        feature_statistics(f[0])


# --------------------------------------------------------------------------- Inception score
def test_inception_score_is_1_when_every_sample_gets_the_marginal_prediction():
    p = np.random.default_rng(0).dirichlet(np.ones(10))
    assert classifier_inception_score(np.tile(p, (100, 1))) == pytest.approx(1.0, abs=1e-12)


def test_inception_score_is_10_for_confident_predictions_spread_evenly_over_10_classes():
    probs = np.eye(10)[np.arange(1000) % 10]
    assert classifier_inception_score(probs) == pytest.approx(10.0, rel=1e-12)
    assert classifier_inception_score(probs, splits=10) == pytest.approx(10.0, rel=1e-12)
    assert classifier_inception_score(np.eye(10)[np.arange(1000) % 5]) == pytest.approx(
        5.0, rel=1e-12
    )


def test_inception_score_equals_hand_computed_value_for_two_samples():
    # p(y) = (0.75, 0.25); KL_1 = log(1/0.75); KL_2 = 0.5 log(0.5/0.75) + 0.5 log(0.5/0.25)
    expected = math.exp(
        0.5 * (math.log(1 / 0.75) + 0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(2.0))
    )
    assert classifier_inception_score([[1.0, 0.0], [0.5, 0.5]]) == pytest.approx(
        expected, rel=1e-12
    )


@pytest.mark.parametrize(
    "probs", [np.full((4, 10), 0.5), -np.eye(10), np.ones(10) / 10, np.ones((4, 1))]
)
def test_inception_score_rejects_logits_and_wrong_shapes(probs):
    with pytest.raises(ValueError, match="probab"):
        classifier_inception_score(probs)


# --------------------------------------------------------------------------- the classifier
@pytest.fixture(scope="module")
def mnist():
    return load_mnist("shipped")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("classifier_cache")


@pytest.fixture(scope="module")
def classifier(mnist, cache_dir):
    return train_classifier(mnist.x_train, mnist.y_train, epochs=2, seed=0, cache_dir=cache_dir)


def test_classifier_has_128_d_features_and_10_logits():
    model = build_classifier()
    assert model.get_layer("features").output.shape == (None, 128)
    assert model.output.shape == (None, 10)


def test_classifier_trained_for_2_epochs_exceeds_90_percent_test_accuracy(classifier, mnist):
    assert classifier_accuracy(classifier, mnist.x_test, mnist.y_test) > 0.90


def test_cached_classifier_is_loaded_without_training_and_data_changes_the_key(
    classifier, mnist, cache_dir, monkeypatch
):
    assert len(list(cache_dir.glob("*.weights.h5"))) == 1

    def no_training(*args, **kwargs):
        raise AssertionError("trained again although the weights were cached")

    with monkeypatch.context() as patch:
        patch.setattr(classifier_module.Trainer, "fit", no_training)
        again = train_classifier(
            mnist.x_train, mnist.y_train, epochs=2, seed=0, cache_dir=cache_dir
        )
    for w_cached, w_trained in zip(again.get_weights(), classifier.get_weights(), strict=True):
        np.testing.assert_array_equal(w_cached, w_trained)
    other = (
        mnist.x_train[:128],
        mnist.y_train[:128],
    )  # other data, same settings: a new key, so it trains
    train_classifier(*other, epochs=2, seed=0, cache_dir=cache_dir)
    assert len(list(cache_dir.glob("*.weights.h5"))) == 2


def test_features_and_probabilities_have_the_documented_shapes_for_any_batch_size(
    classifier, mnist
):
    x = mnist.x_test[:37]
    f = features(classifier, x, batch_size=10)
    assert f.shape == (37, 128)
    np.testing.assert_allclose(f, features(classifier, x), rtol=1e-5, atol=1e-5)
    probs = class_probabilities(classifier, x)
    assert probs.shape == (37, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)


def test_real_vs_real_fd_is_far_below_fd_to_noise_and_to_one_repeated_digit(classifier, mnist):
    baseline = real_vs_real_baseline(classifier, mnist.x_train, mnist.x_test)
    noise = np.random.default_rng(0).uniform(size=(2000, 28, 28, 1)).astype("float32")
    one_digit = np.repeat(mnist.x_test[:1], 2000, axis=0)
    train_stats = feature_statistics(features(classifier, mnist.x_train))  # computed once: CPU time
    fd_noise = frechet_distance(*train_stats, *feature_statistics(features(classifier, noise)))
    fd_one = frechet_distance(*train_stats, *feature_statistics(features(classifier, one_digit)))
    assert baseline.n_a == 8000 and baseline.n_b == 2000
    assert 0.0 < baseline.fd < fd_noise / 20 and baseline.fd < fd_one / 20
    assert baseline.inception_score > 7.0  # confident and diverse on real test digits
    assert classifier_inception_score(class_probabilities(classifier, one_digit)) < 1.01


def test_frechet_classifier_distance_is_symmetric_and_zero_for_the_same_images(classifier, mnist):
    x_a, x_b = mnist.x_test[:1000], mnist.x_test[1000:]
    fd = frechet_classifier_distance(classifier, x_a, x_b)
    assert fd > 0.0
    assert frechet_classifier_distance(classifier, x_b, x_a) == pytest.approx(fd, rel=1e-6)
    assert frechet_classifier_distance(classifier, x_a, x_a) == pytest.approx(0.0, abs=1e-6)


def test_baseline_rejects_overlapping_real_splits(classifier, mnist):
    with pytest.raises(ValueError, match="disjoint"):
        real_vs_real_baseline(classifier, mnist.x_test, mnist.x_test[:500])


@pytest.mark.parametrize(
    "x, error, match",
    [
        (np.zeros((28, 28, 1), "float32"), ValueError, "batch axis"),
        (np.zeros((5, 28, 28, 3), "float32"), ValueError, r"\(N, 28, 28, 1\)"),
        (np.zeros((5, 32, 32, 1), "float32"), ValueError, r"\(N, 28, 28, 1\)"),
        (np.full((5, 28, 28, 1), -0.5, "float32"), ValueError, r"\(x \+ 1\) / 2"),
        (np.full((5, 28, 28, 1), 255.0, "float32"), ValueError, r"\[0, 1\]"),
        (np.zeros((5, 28, 28, 1), "int64"), TypeError, "uint8"),
    ],
)
def test_wrong_images_raise_clear_errors(classifier, x, error, match):
    with pytest.raises(error, match=match):
        features(classifier, x)


def test_digit_scores_are_the_inception_score_and_the_fd_to_the_reference(classifier, mnist):
    images, reference = mnist.x_test[:300], mnist.x_train[:1000]
    inception, fd = digit_scores(classifier, images, reference, batch_size=128)
    assert inception == pytest.approx(
        classifier_inception_score(class_probabilities(classifier, images)), rel=1e-9
    )
    assert fd == pytest.approx(frechet_classifier_distance(classifier, images, reference), rel=1e-6)
    with pytest.raises(ValueError, match=r"\(x \+ 1\) / 2"):
        digit_scores(classifier, 2.0 * images / 255.0 - 1.0, reference)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"epochs": 0}, ValueError, "epochs must be an integer >= 1"),
        ({"epochs": 1.5}, TypeError, "epochs must be an integer"),
        ({"batch_size": True}, TypeError, "batch_size must be an integer, got the bool"),
        ({"learning_rate": -1e-3}, ValueError, "learning_rate must be > 0"),
        ({"seed": -1}, ValueError, "seed must be an integer >= 0"),
        ({"y_train": np.full(8, 10)}, ValueError, r"y_train must be labels in 0..9"),
        ({"y_train": np.zeros(8, np.float32)}, TypeError, "y_train must have a int dtype"),
        ({"y_train": np.zeros(7, int)}, ValueError, r"y_train must have shape \(8,\)"),
        ({"x_train": np.zeros((0, 28, 28), np.uint8)}, ValueError, "non-empty batch"),
    ],
)
def test_train_classifier_rejects_bad_arguments_before_training(kwargs, error, match):
    args = {"x_train": np.zeros((8, 28, 28), np.uint8), "y_train": np.zeros(8, int), "epochs": 1}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        train_classifier(args.pop("x_train"), args.pop("y_train"), **args)


def test_classifier_accuracy_rejects_labels_of_the_wrong_length(classifier, mnist):
    with pytest.raises(ValueError, match=r"y must have shape \(10,\)"):
        classifier_accuracy(classifier, mnist.x_test[:10], mnist.y_test[:9])


def test_model_without_a_features_layer_is_rejected():
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)]
    )
    with pytest.raises(ValueError, match="no layer named 'features'"):
        features(model, np.zeros((3, 28, 28, 1), "float32"))
