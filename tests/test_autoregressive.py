"""Tests of course_lib.autoregressive: the bins, a density that integrates to 1, the exact
negative log-likelihood, sampling that follows the probability table, training."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib.autoregressive import GridARConfig, GridAutoregressive, bin_index, make_task
from course_lib.data import make_dataset
from course_lib.training import TrainConfig, Trainer


def small_model(seed: int = 0, bins: int = 8) -> GridAutoregressive:
    keras.utils.set_random_seed(seed)
    return GridAutoregressive(GridARConfig(bins=bins, low=-2.0, high=2.0, hidden=(16,)))


def test_bin_index_known_values_and_edges():
    cfg = GridARConfig(bins=4, low=0.0, high=4.0)
    x = np.array([[0.0, 0.99], [1.0, 3.5], [4.0, 2.0]])
    np.testing.assert_array_equal(bin_index(x, cfg), [[0, 0], [1, 3], [3, 2]])
    np.testing.assert_allclose(cfg.centers, [0.5, 1.5, 2.5, 3.5])
    assert cfg.width == 1.0


def test_bin_index_refuses_points_outside_the_square_and_bad_shapes():
    cfg = GridARConfig(bins=4, low=0.0, high=4.0)
    with pytest.raises(ValueError, match="must lie in"):
        bin_index(np.array([[0.5, 4.01]]), cfg)
    with pytest.raises(ValueError):
        bin_index(np.zeros((3, 3)), cfg)


@pytest.mark.parametrize("kwargs", [{"bins": 1}, {"low": 1.0, "high": 1.0}, {"hidden": ()}])
def test_config_refuses_bad_values(kwargs):
    with pytest.raises(ValueError):
        GridARConfig(**kwargs)


def test_probability_table_sums_to_one_and_density_integrates_to_one():
    model = small_model()
    table = model.probability_table()
    assert table.shape == (8, 8) and np.all(table > 0)
    assert math.isclose(table.sum(), 1.0, rel_tol=1e-9)
    # midpoint rule on a grid 5 times finer than the bins: exact for a piecewise-flat density
    fine = np.linspace(-2.0, 2.0, 41)[:-1] + 0.05
    grid = np.stack(np.meshgrid(fine, fine, indexing="ij"), axis=-1).reshape(-1, 2)
    integral = np.exp(model.log_density(grid)).sum() * 0.1**2
    assert math.isclose(integral, 1.0, rel_tol=1e-5)


def test_log_density_is_log_probability_minus_log_cell_area_and_minus_inf_outside():
    model = small_model()
    x = np.array([[0.1, -1.9], [5.0, 0.0]])
    b = bin_index(x[:1], model.cfg)
    expected = math.log(model.probability_table()[b[0, 0], b[0, 1]]) - 2 * math.log(0.5)
    got = model.log_density(x)
    assert math.isclose(got[0], expected, rel_tol=1e-5)
    assert got[1] == -np.inf


def test_first_coordinate_is_uniform_at_initialisation():
    model = small_model()
    np.testing.assert_allclose(model.probability_table().sum(axis=1), np.full(8, 1 / 8), rtol=1e-6)


def test_samples_fall_in_the_cells_the_table_says():
    model = small_model(bins=4)
    n = 40_000
    x = model.generate(n, seed=1)
    assert x.shape == (n, 2)
    b = bin_index(x, model.cfg)
    counts = np.zeros((4, 4))
    np.add.at(counts, (b[:, 0], b[:, 1]), 1)
    table = model.probability_table()
    se = np.sqrt(table * (1 - table) / n)
    assert np.all(np.abs(counts / n - table) < 5 * se + 1e-12)


def test_training_reaches_the_nll_of_the_true_cell_probabilities():
    model = small_model(bins=4)
    rng = np.random.default_rng(2)
    # points uniform in two of the 16 cells (cells (0, 0) and (3, 2)), equally often
    n = 4096
    cell = np.where(rng.random(n) < 0.5, 0, 1)
    corners = np.array([[-2.0, -2.0], [1.0, 0.0]])
    x = (corners[cell] + rng.random((n, 2))).astype(np.float32)
    ds = make_dataset(bin_index(x, model.cfg), batch_size=256, repeat=True, drop_remainder=True)
    task = make_task(model, keras.optimizers.Adam(3e-2))
    Trainer(task, TrainConfig(steps=300, progress="none")).fit(ds)
    # true density: 1/2 on each unit cell, so -log p = log 2
    assert abs(model.nll(x) - math.log(2.0)) < 0.05
    loss = model.loss_fn(tf.constant(bin_index(x[:5], model.cfg)), training=False)
    assert loss.shape == (5,)
