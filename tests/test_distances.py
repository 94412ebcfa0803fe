"""course_lib.distances: closed-form values, a direct double loop, population values, checks."""

import math
from statistics import NormalDist

import numpy as np
import pytest

from course_lib.distances import energy_distance, median_heuristic, mmd2, real_vs_real


def loop_energy(x, y):
    """The U-statistic written as plain Python loops over the pairs."""
    x = np.atleast_2d(np.asarray(x, float).T).T
    y = np.atleast_2d(np.asarray(y, float).T).T
    n, m = len(x), len(y)
    cross = sum(np.linalg.norm(x[i] - y[j]) for i in range(n) for j in range(m)) / (n * m)
    wx = sum(np.linalg.norm(x[i] - x[j]) for i in range(n) for j in range(n) if i != j)
    wy = sum(np.linalg.norm(y[i] - y[j]) for i in range(m) for j in range(m) if i != j)
    return 2 * cross - wx / (n * (n - 1)) - wy / (m * (m - 1))


def loop_mmd2(x, y, h):
    def k(a, b):
        return math.exp(-float(np.sum((a - b) ** 2)) / (2 * h * h))

    n, m = len(x), len(y)
    kxx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    kyy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    kxy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
    return kxx + kyy - 2 * kxy


@pytest.fixture(scope="module")
def clouds():
    rng = np.random.default_rng(1)
    return rng.normal(size=(23, 3)), rng.normal(0.5, 1.2, size=(17, 3))


def test_energy_distance_of_small_1d_samples_by_hand():
    # cross |x - y|: 10, 11, 9, 10 -> mean 10; within: |0 - 1| = 1 both ways -> 1; 2*10 - 1 - 1
    assert energy_distance([0.0, 1.0], [10.0, 11.0]) == pytest.approx(18.0)
    # cross: 1, 3, 1, 1 -> 1.5; within: 2 and 2 -> 2*1.5 - 2 - 2 = -1 (an unbiased estimate
    # can be negative)
    assert energy_distance([0.0, 2.0], [1.0, 3.0]) == pytest.approx(-1.0)
    # 1-D input is the same as a column
    assert energy_distance(np.array([0.0, 2.0]), np.array([[1.0], [3.0]])) == pytest.approx(-1.0)


def test_mmd2_of_small_1d_samples_by_hand():
    # within each pair the squared distance is 1 -> k = e^{-1/2}; cross terms ~ e^{-40}
    expected = 2 * math.exp(-0.5) - 2 * np.mean(np.exp(-np.array([100, 121, 81, 100]) / 2))
    assert mmd2([0.0, 1.0], [10.0, 11.0], bandwidth=1.0) == pytest.approx(expected, rel=1e-12)


def test_equal_to_the_direct_double_loop(clouds):
    x, y = clouds
    assert energy_distance(x, y) == pytest.approx(loop_energy(x, y), rel=1e-12)
    assert mmd2(x, y, bandwidth=0.7) == pytest.approx(loop_mmd2(x, y, 0.7), rel=1e-10)


def test_symmetric(clouds):
    x, y = clouds
    assert energy_distance(x, y) == pytest.approx(energy_distance(y, x), rel=1e-12)
    assert mmd2(x, y) == pytest.approx(mmd2(y, x), rel=1e-12)


def test_independent_of_the_chunk_size(clouds):
    x, y = clouds
    for chunk in (1, 2, 5, 100):
        assert energy_distance(x, y, chunk_size=chunk) == pytest.approx(
            energy_distance(x, y), rel=1e-12
        )
        assert mmd2(x, y, 0.9, chunk_size=chunk) == pytest.approx(mmd2(x, y, 0.9), rel=1e-12)


def test_population_values_of_two_1d_gaussians():
    """X ~ N(0, 1), Y ~ N(mu, 1): closed forms against large samples.

    E|N(mu, 2)| = 2/sqrt(pi) e^{-mu^2/4} + mu (1 - 2 Phi(-mu/sqrt 2)); E|X - X'| = 2/sqrt(pi).
    With the Gaussian kernel of width h and s^2 = h^2 + 2: E k(X, X') = h/s and
    E k(X, Y) = h/s e^{-mu^2 / (2 s^2)}.
    """
    mu, h = 1.0, 1.0
    # quantile grids instead of random draws: the empirical distributions are then within
    # about 1/n of the Gaussians, so the tolerance can be tight
    n = 2000
    grid = np.array([NormalDist().inv_cdf((i + 0.5) / n) for i in range(n)])
    x, y = grid, grid + mu
    phi = 0.5 * math.erfc(mu / math.sqrt(2) / math.sqrt(2))
    e_xy = 2 / math.sqrt(math.pi) * math.exp(-(mu**2) / 4) + mu * (1 - 2 * phi)
    energy = 2 * e_xy - 2 * (2 / math.sqrt(math.pi))
    assert energy_distance(x, y) == pytest.approx(energy, abs=0.005)
    s = math.sqrt(h * h + 2)
    mmd = 2 * h / s * (1 - math.exp(-(mu**2) / (2 * s * s)))
    assert mmd2(x, y, bandwidth=h) == pytest.approx(mmd, abs=0.002)


def test_near_zero_for_one_distribution_and_positive_for_a_shift():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(400, 2)), rng.normal(size=(400, 2))
    shifted = y + np.array([1.0, 0.0])
    assert abs(energy_distance(x, y)) < 0.02
    assert abs(mmd2(x, y)) < 0.005
    assert energy_distance(x, shifted) > 0.2
    assert mmd2(x, shifted) > 0.05


def test_unbiased_on_average():
    """Over many pairs of samples from one distribution the estimates average to 0."""
    rng = np.random.default_rng(4)
    e = [energy_distance(rng.normal(size=8), rng.normal(size=8)) for _ in range(400)]
    k = [mmd2(rng.normal(size=8), rng.normal(size=8), 1.0) for _ in range(400)]
    # standard errors: about 0.2/sqrt(400) and 0.05/sqrt(400)
    assert abs(np.mean(e)) < 4 * np.std(e) / 20
    assert abs(np.mean(k)) < 4 * np.std(k) / 20
    assert min(e) < 0  # the U-statistic does go negative


def test_median_heuristic():
    # pooled 0, 1, 3: distances 1, 3, 2 -> median 2
    assert median_heuristic([0.0, 1.0], [3.0, 3.0]) == pytest.approx(2.0)
    # mmd2 without a bandwidth uses it
    x, y = np.array([0.0, 1.0]), np.array([3.0, 4.0])
    assert mmd2(x, y) == pytest.approx(mmd2(x, y, bandwidth=median_heuristic(x, y)))
    # a large pooled sample uses a fixed subset: repeatable, and close to the full median
    rng = np.random.default_rng(5)
    big = rng.normal(size=(3000, 2))
    h = median_heuristic(big[:1500], big[1500:])
    assert h == median_heuristic(big[:1500], big[1500:])
    # median distance between two standard 2-D normals: sqrt(2) * sqrt(2 ln 2)
    assert h == pytest.approx(math.sqrt(2) * math.sqrt(2 * math.log(2)), rel=0.03)
    with pytest.raises(ValueError, match="median pairwise distance"):
        median_heuristic(np.zeros(5), np.zeros(5))


def test_real_vs_real():
    rng = np.random.default_rng(6)
    data = rng.normal(size=(200, 2))
    mean, std = real_vs_real(energy_distance, data, 50, repeats=6, seed=1)
    assert (mean, std) == real_vs_real(energy_distance, data, 50, repeats=6, seed=1)
    assert abs(mean) < 3 * std + 0.01 and std > 0
    # the subsets really are disjoint: with distinct points no pair of subsets shares a row
    seen = []
    real_vs_real(lambda a, b: seen.append((a, b)) or 0.0, data, 100, repeats=2)
    for a, b in seen:
        assert not set(map(tuple, a)) & set(map(tuple, b))
        assert len(a) == len(b) == 100


@pytest.mark.parametrize(
    "x, y, error, match",
    [
        (np.zeros((1, 2)), np.zeros((3, 2)), ValueError, "at least 2 points"),
        (np.zeros((3, 2)), np.zeros((3, 3)), ValueError, "same dimension"),
        (np.zeros((3, 2, 1)), np.zeros((3, 2)), ValueError, "dimension"),
        (np.array([0.0, np.nan, 1.0]), np.zeros(3), ValueError, "NaN"),
        (np.array(["a", "b"]), np.zeros(2), TypeError, "dtype"),
        (np.zeros((3, 0)), np.zeros((3, 0)), ValueError, "dimension 0"),
    ],
)
def test_bad_input(x, y, error, match):
    with pytest.raises(error, match=match):
        energy_distance(x, y)
    with pytest.raises(error, match=match):
        mmd2(x, y, 1.0)


def test_bad_arguments():
    x = np.arange(4.0)
    with pytest.raises(ValueError, match="bandwidth"):
        mmd2(x, x, bandwidth=0.0)
    with pytest.raises(ValueError, match="chunk_size"):
        energy_distance(x, x, chunk_size=0)
    with pytest.raises(ValueError, match="2 n <= len"):
        real_vs_real(energy_distance, x, 3)
    with pytest.raises(TypeError, match="function"):
        real_vs_real("energy", x, 2)
    with pytest.raises(ValueError, match="repeats"):
        real_vs_real(energy_distance, x, 2, repeats=1)
