"""course_lib.viz.plots: each function returns what it drew on, labelled, with the right lines."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # no display: draw into memory only

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from course_lib.training.history import History, Record
from course_lib.viz.plots import image_grid, plot_history, plot_points_2d

STEPS_PER_EPOCH = 20


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def make_history(epochs: int = 3, val: bool = True, points: bool = True) -> History:
    """A history as the loop writes it: loss and accuracy, a point every 10 steps."""
    records = [
        Record(
            step=e * STEPS_PER_EPOCH,
            epoch=float(e),
            train={"loss": 1.0 / e, "accuracy": 0.5 + 0.1 * e},
            val={"loss": 1.2 / e, "accuracy": 0.45 + 0.1 * e} if val else {},
            examples_per_sec=1000.0,
            seconds=1.0,
        )
        for e in range(1, epochs + 1)
    ]
    pts = [
        (s, {"loss": 1.0 / s, "accuracy": 0.5}) for s in range(10, epochs * STEPS_PER_EPOCH + 1, 10)
    ]
    return History(records=records, points=pts if points else [], stop_reason="completed")


# ------------------------------------------------------------------ plot_history
def test_plot_history_draws_train_val_and_fine_lines_for_every_name():
    ax = plot_history(make_history())
    assert isinstance(ax, Axes)
    assert len(ax.get_lines()) == 6  # 2 names x (train, validation, fine points)
    assert ax.get_xlabel() == "step"
    assert ax.get_ylabel() == "value"
    labels = ax.get_legend_handles_labels()[1]
    assert labels == [
        "loss (train)",
        "loss (validation)",
        "loss (per chunk of steps)",
        "accuracy (train)",
        "accuracy (validation)",
        "accuracy (per chunk of steps)",
    ]


def test_plot_history_one_name_labels_the_y_axis_with_it_and_styles_the_splits():
    ax = plot_history(make_history(), "loss", title="MLP")
    train, val, fine = ax.get_lines()
    assert ax.get_ylabel() == "loss" and ax.get_title() == "MLP"
    assert train.get_linestyle() == "-" and val.get_linestyle() == "--"
    assert fine.get_alpha() < 1 and fine.get_linewidth() < train.get_linewidth()
    assert list(train.get_xdata()) == [20, 40, 60]
    assert list(train.get_ydata()) == pytest.approx([1.0, 0.5, 1 / 3])


def test_plot_history_on_an_epoch_axis_puts_step_points_at_their_fraction_of_an_epoch():
    ax = plot_history(make_history(), ["loss"], x="epoch")
    train, _, fine = ax.get_lines()
    assert ax.get_xlabel() == "epoch"
    assert list(train.get_xdata()) == pytest.approx([1.0, 2.0, 3.0])
    assert list(fine.get_xdata()) == pytest.approx([s / STEPS_PER_EPOCH for s in range(10, 61, 10)])


def test_plot_history_epoch_axis_needs_records_with_epochs():
    history = make_history()
    for record in history.records:
        record.epoch = None
    with pytest.raises(ValueError, match="x='epoch' needs records"):
        plot_history(history, x="epoch")
    with pytest.raises(ValueError, match="x must be"):
        plot_history(history, x="time")


def test_plot_history_without_validation_or_points_draws_only_train_lines():
    ax = plot_history(make_history(val=False, points=False))
    assert len(ax.get_lines()) == 2
    assert all(line.get_linestyle() == "-" for line in ax.get_lines())


def test_plot_history_draws_into_a_given_axes_and_can_use_a_log_scale():
    _, given = plt.subplots()
    ax = plot_history(make_history(), "loss", ax=given, log_y=True)
    assert ax is given
    assert ax.get_yscale() == "log"


def test_plot_history_with_points_but_no_record_draws_the_points():
    history = History(points=[(10, {"loss": 2.0}), (20, {"loss": 1.5})])
    ax = plot_history(history)
    assert ax.get_xlabel() == "step"
    assert list(ax.get_lines()[0].get_xdata()) == [10, 20]


def test_plot_history_rejects_an_empty_history_and_unknown_names():
    with pytest.raises(ValueError, match="empty"):
        plot_history(History())
    with pytest.raises(ValueError, match=r"'perplexity'.*known: \['loss', 'accuracy'\]"):
        plot_history(make_history(), "perplexity")


# ------------------------------------------------------------------ image_grid
def test_image_grid_makes_one_axes_per_cell_with_labels_as_titles():
    images = np.random.default_rng(0).integers(0, 256, size=(12, 28, 28), dtype=np.uint8)
    fig = image_grid(images, labels=list(range(12)), ncols=5, title="digits")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 15  # 3 rows x 5 columns, the last 3 cells blank
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 12
    assert [ax.get_title() for ax in shown] == [str(i) for i in range(12)]
    assert not any(ax.axison for ax in fig.axes[12:])
    assert fig.get_suptitle() == "digits"
    assert shown[0].images[0].get_clim() == (0, 255)


def test_image_grid_accepts_float_images_with_a_channel_axis_on_the_unit_scale():
    images = np.random.default_rng(0).random((3, 28, 28, 1)).astype(np.float32)
    fig = image_grid(images)  # ncols larger than N shrinks to N
    assert len(fig.axes) == 3
    assert fig.axes[0].images[0].get_array().shape == (28, 28)
    assert fig.axes[0].images[0].get_clim() == (0, 1.0)


@pytest.mark.parametrize(
    "shape, message",
    [
        ((28, 28), r"got shape \(28, 28\) \(one image\? pass images\[None\]\)"),
        ((4, 28, 28, 3), r"\(N, H, W\) or \(N, H, W, 1\), got shape \(4, 28, 28, 3\)"),
        ((4,), r"got shape \(4,\)"),
        ((0, 28, 28), "no images"),
    ],
)
def test_image_grid_rejects_wrong_shapes_clearly(shape, message):
    with pytest.raises(ValueError, match=message):
        image_grid(np.zeros(shape, np.uint8))


def test_image_grid_rejects_mismatched_labels_bad_ncols_and_int64_pixels():
    x = np.zeros((4, 28, 28), np.uint8)
    with pytest.raises(ValueError, match="4 images but 3 labels"):
        image_grid(x, labels=[0, 1, 2])
    with pytest.raises(ValueError, match="ncols"):
        image_grid(x, ncols=0)
    with pytest.raises(ValueError, match="int64"):
        image_grid(x.astype(np.int64))


# ------------------------------------------------------------------ plot_points_2d
def test_plot_points_2d_draws_one_scatter_and_legend_entry_per_label():
    rng = np.random.default_rng(0)
    x, labels = rng.normal(size=(30, 2)), np.repeat([0, 1, 2], 10)
    ax = plot_points_2d(x, labels, title="toy")
    assert isinstance(ax, Axes)
    assert len(ax.collections) == 3
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0", "1", "2"]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("$x_1$", "$x_2$", "toy")
    assert sum(len(c.get_offsets()) for c in ax.collections) == 30


def test_plot_points_2d_without_labels_draws_one_scatter_on_a_given_axes():
    _, given = plt.subplots()
    ax = plot_points_2d(np.zeros((5, 2)), ax=given)
    assert ax is given and len(ax.collections) == 1 and ax.get_legend() is None


def test_plot_points_2d_rejects_wrong_shapes_clearly():
    with pytest.raises(ValueError, match=r"\(N, 2\).*got shape \(5, 3\)"):
        plot_points_2d(np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"one label per point, shape \(5,\), got shape \(4,\)"):
        plot_points_2d(np.zeros((5, 2)), labels=[0, 1, 0, 1])
