"""Interactive explorers that fall back to static figures when nobody can move a slider.

A widget needs a live front end (JupyterLab, Notebook, VS Code). Under ``pytest``/nbval,
in the ``ci`` profile, or in a script there is none, and widget output would only break the
tests, so every explorer here returns a static matplotlib figure of the same content instead.
Decide with :func:`widgets_enabled`; force either way with the ``interactive`` argument.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from course_lib.runtime import get_profile

DecodeFn = Callable[
    [np.ndarray], np.ndarray
]  # z (n, latent_dim) -> images (n, 28, 28[, 1]) in [0, 1]


def widgets_enabled() -> bool:
    """True in a Jupyter kernel outside the ``ci`` profile (and unless ``COURSE_WIDGETS=0``)."""
    if os.environ.get("COURSE_WIDGETS", "").strip() == "0" or get_profile().name == "ci":
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def latent_grid(
    decode: DecodeFn,
    *,
    dims: tuple[int, int] = (0, 1),
    latent_dim: int = 2,
    limit: float = 2.5,
    n: int = 15,
    ax=None,
) -> Figure:
    """Decode an ``n x n`` grid of latent points and tile the images into one picture.

    Dimensions ``dims`` of ``z`` sweep ``[-limit, limit]`` (the prior ``N(0, I)`` puts about
    98.8 % of its mass within 2.5 standard deviations of 0 in each dimension); all other
    dimensions stay at 0. Rows run from ``+limit`` at the top to ``-limit`` at the bottom,
    so the picture matches a scatter plot of ``z`` with the usual axis directions.
    """
    if n < 2 or limit <= 0:
        raise ValueError(f"need n >= 2 and limit > 0, got n={n}, limit={limit}")
    if not (0 <= dims[0] < latent_dim and 0 <= dims[1] < latent_dim and dims[0] != dims[1]):
        raise ValueError(
            f"dims must be two different indices below latent_dim={latent_dim}, got {dims}"
        )
    values = np.linspace(-limit, limit, n, dtype="float32")
    z = np.zeros((n * n, latent_dim), dtype="float32")
    rows, cols = np.meshgrid(values[::-1], values, indexing="ij")  # (n, n): top row = +limit
    z[:, dims[0]] = cols.ravel()
    z[:, dims[1]] = rows.ravel()
    images = np.asarray(decode(z)).reshape(n, n, 28, 28)
    canvas = images.transpose(0, 2, 1, 3).reshape(n * 28, n * 28)
    fig = ax.figure if ax is not None else plt.figure(figsize=(7, 7))
    ax = ax if ax is not None else fig.add_subplot()
    ax.imshow(canvas, cmap="gray", vmin=0, vmax=1, extent=(-limit, limit, -limit, limit))
    ax.set_xlabel(f"$z_{{{dims[0]}}}$")
    ax.set_ylabel(f"$z_{{{dims[1]}}}$")
    ax.set_title(f"Decoded grid of latent points ({n} x {n})")
    return fig


def latent_explorer(
    decode: DecodeFn,
    latent_dim: int,
    *,
    limit: float = 3.0,
    interactive: bool | None = None,
    static_dims: Sequence[int] = (0, 1),
):
    """Sliders for every latent coordinate that decode ``z`` live; else a static grid.

    Returns an ``ipywidgets`` widget when :func:`widgets_enabled` (or ``interactive=True``),
    otherwise the :func:`latent_grid` figure over dimensions ``static_dims``.
    """
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be >= 1, got {latent_dim}")
    use_widgets = widgets_enabled() if interactive is None else interactive
    if not use_widgets:
        if latent_dim == 1:
            raise ValueError("a static grid needs latent_dim >= 2")
        return latent_grid(
            decode, dims=(static_dims[0], static_dims[1]), latent_dim=latent_dim, limit=limit
        )
    import ipywidgets as w

    sliders = [
        w.FloatSlider(
            value=0.0, min=-limit, max=limit, step=0.05, description=f"z{j}", continuous_update=True
        )
        for j in range(min(latent_dim, 16))
    ]
    out = w.Output()

    def redraw(_change=None) -> None:
        z = np.zeros((1, latent_dim), dtype="float32")
        z[0, : len(sliders)] = [s.value for s in sliders]
        image = np.asarray(decode(z)).reshape(28, 28)
        with out:
            out.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(3, 3))
            ax.imshow(image, cmap="gray", vmin=0, vmax=1)
            ax.set_title(
                "decoded z"
                + (
                    f" (first {len(sliders)} of {latent_dim} dims)"
                    if latent_dim > len(sliders)
                    else ""
                )
            )
            ax.axis("off")
            plt.show()

    for s in sliders:
        s.observe(redraw, names="value")
    redraw()
    return w.HBox([w.VBox(sliders), out])
