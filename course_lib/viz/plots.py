"""Figures the notebooks share: training curves, image grids and 2-D point clouds.

Every function draws and returns the matplotlib object it drew on; none calls
``plt.show()`` (the notebook does, so a figure appears exactly once, and tests can
inspect the axes under the ``Agg`` backend). Importing this module does not import
TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from course_lib.runtime.validation import check_int

if TYPE_CHECKING:  # only a type here: importing the training package would import TensorFlow
    from course_lib.training.history import History

#: Widest figure, in inches: the inline backend draws at 100 dpi, so at most 950 px, which
#: JupyterLab shows at 89 % or more in a 1280 px window (``tests/test_figures.py``).
MAX_FIGURE_WIDTH = 9.5


def plot_history(
    history: History,
    names: str | Sequence[str] | None = None,
    *,
    ax: Axes | None = None,
    log_y: bool = False,
    title: str | None = None,
    x: str = "step",
) -> Axes:
    """The records of a :class:`~course_lib.training.History`, one colour per value.

    For each name (default: every training value that every record holds, e.g. ``"loss"``
    and ``"accuracy"``; put values of different scales on different axes by calling this once
    per name):

    * a solid line with markers: each record's training mean (over the steps since the
      previous record), from ``history.series(name, "train")``, drawn at the record's step;
    * a dashed line with markers: the validation value, when every record holds one;
    * a thin, transparent line: ``history.points``, the means over each compiled call
      (``TrainConfig.steps_per_execution`` steps), when any.

    One x-axis for all three: the global step (``x="step"``), or passes over the data
    (``x="epoch"``: step ``s`` at ``s / S`` with ``S`` steps per epoch, read from the records;
    every record must know its epoch). A record's mean sits at the end of the steps it
    averages, to the right of the fine points it summarises.

    Returns the axes drawn on (a new figure's, if ``ax`` is ``None``). Raises
    ``ValueError`` for an empty history, a name the history did not record, or an epoch axis
    for records without epochs.
    """
    if x not in ("step", "epoch"):
        raise ValueError(f"x must be 'step' or 'epoch', got {x!r}")
    records, points = history.records, history.points
    if not records and not points:
        raise ValueError("The history is empty: no record and no step points to plot.")
    if records:
        # names every record holds, in the loop's order (loss first)
        recorded = [n for n in records[0].train if all(n in r.train for r in records)]
    else:
        recorded = list(dict.fromkeys(n for _, values in points for n in values))
    names = recorded if names is None else [names] if isinstance(names, str) else list(names)
    unknown = [n for n in names if n not in recorded]
    if unknown or not names:
        raise ValueError(
            f"Not recorded in the history's training values: {unknown or names}; known: {recorded}"
        )
    scale = 1.0
    if x == "epoch":
        with_epochs = [r for r in records if r.epoch]
        if not records or len(with_epochs) != len(records):
            raise ValueError(
                "x='epoch' needs records that know their epoch (data of known length); use x='step'"
            )
        scale = with_epochs[0].step / with_epochs[0].epoch
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.0))
    x_records = [r.step / scale for r in records]
    for i, name in enumerate(names):
        color = f"C{i}"
        if records:
            ax.plot(
                x_records,
                history.series(name, "train"),
                "-o",
                color=color,
                label=f"{name} (train)",
            )
            if all(name in r.val for r in records):
                ax.plot(
                    x_records,
                    history.series(name, "val"),
                    "--s",
                    color=color,
                    label=f"{name} (validation)",
                )
        fine = [(step, values[name]) for step, values in points if name in values]
        if fine:
            xs = np.array([s for s, _ in fine], dtype=float) / scale
            unit = "per chunk of steps" if records else "train"
            ax.plot(
                xs,
                [v for _, v in fine],
                "-",
                color=color,
                linewidth=0.8,
                alpha=0.45,
                label=f"{name} ({unit})",
            )
    ax.set_xlabel(x)
    ax.set_ylabel(names[0] if len(names) == 1 else "value")
    if log_y:
        ax.set_yscale("log")
    if title is not None:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    return ax


def _as_images(images: np.ndarray) -> np.ndarray:
    """``(N, H, W)`` or ``(N, H, W, 1)`` -> ``(N, H, W)``; a clear ``ValueError`` otherwise."""
    x = np.asarray(images)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 3:
        hint = " (one image? pass images[None])" if x.ndim == 2 else ""
        raise ValueError(
            f"expected greyscale images of shape (N, H, W) or (N, H, W, 1), "
            f"got shape {x.shape}{hint}"
        )
    if len(x) == 0:
        raise ValueError("no images to show (N = 0)")
    if x.dtype != np.uint8 and not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"expected uint8 (0..255) or float (0..1) intensities, got {x.dtype}")
    return x


def image_grid(
    images: np.ndarray,
    labels: Sequence[object] | None = None,
    *,
    ncols: int = 10,
    cmap: str = "gray",
    figsize: tuple[float, float] | None = None,
    title: str | None = None,
) -> Figure:
    """Show ``N`` greyscale images in a grid of ``ceil(N / ncols)`` rows.

    ``images``: uint8 ``(N, H, W)`` or ``(N, H, W, 1)`` shown on the scale 0..255, or float
    shown on the scale 0..1 (values outside are clipped by the colour map), so a batch of
    binarised or generated images is drawn on the same scale as the data. ``labels``: one
    per image, shown as each image's title (e.g. the digit). ``title``: the figure's title.
    Axis ticks are hidden; unused cells of the last row are blank.

    Each image gets about 0.95 inch, less when ``ncols`` images would not fit in
    :data:`MAX_FIGURE_WIDTH` (9.5 inches, JupyterLab's width); a ``figsize`` wider than that
    is scaled down to it, keeping its aspect ratio.

    Returns the new figure (its axes: ``fig.axes``, one per cell, row by row).
    """
    x = _as_images(images)
    n = len(x)
    ncols = check_int("ncols", ncols, minimum=1)
    if labels is not None and len(labels) != n:
        raise ValueError(f"got {n} images but {len(labels)} labels")
    ncols = min(int(ncols), n)
    nrows = -(-n // ncols)
    if figsize is None:
        cell = min(0.95, MAX_FIGURE_WIDTH / ncols)  # inches per image
        figsize = (
            cell * ncols,
            cell * nrows + (0.4 if title else 0.0) + (0.25 * nrows if labels is not None else 0.0),
        )
    elif figsize[0] > MAX_FIGURE_WIDTH:
        scale = MAX_FIGURE_WIDTH / figsize[0]
        figsize = (MAX_FIGURE_WIDTH, figsize[1] * scale)
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False)
    vmax = 255 if x.dtype == np.uint8 else 1.0
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= n:
            ax.axis("off")
            continue
        ax.imshow(x[i], cmap=cmap, vmin=0, vmax=vmax)
        if labels is not None:
            ax.set_title(str(labels[i]), fontsize=9)
    if title is not None:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_points_2d(
    x: np.ndarray,
    labels: np.ndarray | Sequence[object] | None = None,
    ax: Axes | None = None,
    *,
    title: str | None = None,
    s: float = 6.0,
) -> Axes:
    """Scatter plot of 2-D points ``x`` ``(N, 2)``, one colour per distinct label.

    With ``labels`` (one per point, e.g. the mode of :func:`course_lib.data.ring_of_gaussians`
    or the class of :func:`course_lib.data.two_moons`) each label gets its own scatter and a
    legend entry; without, all points are one scatter. Axes are ``x_1`` and ``x_2`` on an
    equal scale, so circles look like circles. Returns the axes drawn on.
    """
    pts = np.asarray(x)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) == 0:
        raise ValueError(f"expected points of shape (N, 2) with N >= 1, got shape {pts.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(4.8, 4.8))
    if labels is None:
        ax.scatter(pts[:, 0], pts[:, 1], s=s, alpha=0.6)
    else:
        lab = np.asarray(labels)
        if lab.ndim != 1 or len(lab) != len(pts):
            raise ValueError(
                f"expected one label per point, shape ({len(pts)},), got shape {lab.shape}"
            )
        for value in np.unique(lab):
            mask = lab == value
            ax.scatter(pts[mask, 0], pts[mask, 1], s=s, alpha=0.6, label=str(value))
        ax.legend(title="label", fontsize=9, markerscale=2, loc="best")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_aspect("equal", adjustable="datalim")
    if title is not None:
        ax.set_title(title)
    return ax
