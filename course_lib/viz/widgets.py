"""Interactive panels that fall back to a static result when nobody can move a slider.

A widget needs a live front end (JupyterLab, Notebook, VS Code). Under ``pytest``/nbval,
in the ``ci`` profile, or in a script there is none, and widget output would only break the
tests. Every interactive panel of the course is therefore built by one function,
:func:`panel`: it takes a ``render`` function and a description of its controls, and either
shows the controls with ``render``'s live output, or calls ``render`` once with fixed values
and shows that. Decide with :func:`widgets_enabled`; force either way with ``interactive``.

The environment variable ``COURSE_WIDGETS`` switches widgets for a whole session:

* ``1``: widgets on in every profile, ``ci`` included (still only inside a Jupyter kernel,
  where a front end can show them); e.g. to try the explorers quickly, or to test them in
  a browser;
* ``0``: widgets off everywhere (static results), e.g. for an HTML copy built with
  ``jupyter nbconvert --execute``;
* unset, empty or ``auto``: on inside a Jupyter kernel, except in the ``ci`` profile.

Any other value raises a :class:`ValueError` naming the valid ones.

Controls are described by small dataclasses (:class:`Slider`, :class:`IntSlider`,
:class:`Choice`, :class:`Text`, :class:`Number`), so a notebook never imports ``ipywidgets``
itself and nothing imports it when widgets are off.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from course_lib.runtime import get_profile
from course_lib.runtime.validation import check_int

DecodeFn = Callable[
    [np.ndarray], np.ndarray
]  # z (n, latent_dim) -> images (n, 28, 28[, 1]) in [0, 1]


WIDGETS_ENV = "COURSE_WIDGETS"
_WIDGET_MODES: dict[str, bool | None] = {"1": True, "0": False, "auto": None, "": None}


def widgets_enabled() -> bool:
    """Whether :func:`panel` and the explorers show live widgets, by ``COURSE_WIDGETS``.

    ``COURSE_WIDGETS=1`` forces widgets on in any profile and ``0`` forces them off;
    unset, empty or ``auto`` gives the default rule: on outside the ``ci`` profile. Widgets
    are never on outside a Jupyter kernel (a script, ``pytest``, a plain IPython shell):
    nothing there could show them.

    Raises:
        ValueError: ``COURSE_WIDGETS`` is set to anything else (the message names the valid
            values).
    """
    raw = os.environ.get(WIDGETS_ENV, "")
    value = raw.strip().lower()
    if value not in _WIDGET_MODES:
        raise ValueError(
            f"{WIDGETS_ENV}={raw!r} is not a valid value: use 1 (widgets on in any profile), "
            "0 (widgets off) or auto / unset (on in a Jupyter kernel outside the ci profile)"
        )
    forced = _WIDGET_MODES[value]
    if forced is False:
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return False
    return forced is True or get_profile().name != "ci"


@dataclass(frozen=True)
class Slider:
    """A float slider from ``min`` to ``max`` in steps of ``step``, starting at ``value``."""

    value: float
    min: float
    max: float
    step: float = 0.05


@dataclass(frozen=True)
class IntSlider:
    """An integer slider from ``min`` to ``max`` in steps of ``step``, starting at ``value``."""

    value: int
    min: int
    max: int
    step: int = 1


@dataclass(frozen=True)
class Choice:
    """A drop-down list of ``options`` (strings), starting at ``value``."""

    value: str
    options: tuple[str, ...]


@dataclass(frozen=True)
class Text:
    """A text box (``multiline``: a text area) starting with ``value``."""

    value: str
    multiline: bool = False


@dataclass(frozen=True)
class Number:
    """A box for a number (an ``int`` if ``value`` is one, else a ``float``)."""

    value: float


Control = Slider | IntSlider | Choice | Text | Number


def _show(result: Any) -> None:
    """Show what a ``render`` function returned: print a string, display anything else."""
    if result is None:
        return
    if isinstance(result, str):
        print(result)
        return
    from IPython.display import display

    display(result)
    if isinstance(result, Figure):
        plt.close(result)


def _build(name: str, control: Control, label_width: str):
    """The ipywidgets control for ``control``; every label gets ``label_width`` so the
    controls of one panel line up."""
    import ipywidgets as w

    style = {"description_width": label_width}
    if isinstance(control, Slider):
        return w.FloatSlider(
            value=control.value,
            min=control.min,
            max=control.max,
            step=control.step,
            description=name,
            style=style,
        )
    if isinstance(control, IntSlider):
        return w.IntSlider(
            value=control.value,
            min=control.min,
            max=control.max,
            step=control.step,
            description=name,
            style=style,
        )
    if isinstance(control, Choice):
        return w.Dropdown(
            options=list(control.options), value=control.value, description=name, style=style
        )
    if isinstance(control, Text):
        if control.multiline:
            lines = min(max(control.value.count("\n") + 1, 3), 8)
            return w.Textarea(
                value=control.value,
                description=name,
                rows=lines,
                layout=w.Layout(width="95%"),
                style=style,
            )
        return w.Text(
            value=control.value, description=name, layout=w.Layout(width="95%"), style=style
        )
    if isinstance(control, Number):
        cls = w.IntText if isinstance(control.value, int) else w.FloatText
        return cls(value=control.value, description=name, style=style)
    raise TypeError(
        f"control {name!r} must be a Slider, IntSlider, Choice, Text or Number, "
        f"got {type(control).__name__}"
    )


def panel(
    render: Callable[..., Any],
    controls: Mapping[str, Control],
    *,
    static: Mapping[str, Any] | None = None,
    button: str | None = None,
    interactive: bool | None = None,
):
    """Controls that re-run ``render(**values)`` live, or one static call when widgets are off.

    Args:
        render: called with one keyword argument per control; it returns a string (printed),
            a matplotlib figure or any displayable object (shown), or ``None`` (it drew or
            printed itself).
        controls: name -> :class:`Slider` / :class:`IntSlider` / :class:`Choice` /
            :class:`Text` / :class:`Number`, each with its starting value.
        static: values for the static call (default: every control's starting value);
            names not given keep their starting value.
        button: with a label, ``render`` runs when the button is pressed (for slow renders);
            without, on every change.
        interactive: force widgets on or off (default: :func:`widgets_enabled`).

    Returns:
        The ``ipywidgets`` box when interactive (Jupyter displays it), else ``None`` after the
        static result has been shown.
    """
    if not callable(render):
        raise TypeError(f"render must be callable, got {type(render).__name__}")
    for name, control in controls.items():
        if not isinstance(control, Control):
            raise TypeError(
                f"control {name!r} must be a Slider, IntSlider, Choice, Text or "
                f"Number, got {type(control).__name__}"
            )
    values = {name: control.value for name, control in controls.items()}
    unknown = sorted(set(static or {}) - set(values))
    if unknown:
        raise ValueError(f"static names {unknown} are not controls ({sorted(values)})")
    use_widgets = widgets_enabled() if interactive is None else interactive
    if not use_widgets:
        _show(render(**{**values, **(static or {})}))
        return None
    import ipywidgets as w

    label_width = f"{max(len(name) for name in controls) + 1}ch" if controls else "initial"
    built = {name: _build(name, control, label_width) for name, control in controls.items()}
    out = w.Output()

    def redraw(_change=None) -> None:
        with out:
            out.clear_output(wait=True)
            _show(render(**{name: widget.value for name, widget in built.items()}))

    if button is not None:
        run = w.Button(description=button, button_style="primary")
        run.on_click(redraw)
        extra = [run]
    else:
        for widget in built.values():
            widget.observe(redraw, names="value")
        extra = []
    redraw()
    return w.HBox([w.VBox([*built.values(), *extra]), out])


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
    """Sliders for the latent coordinates (up to 16) that decode ``z`` live; else a static grid.

    Built on :func:`panel`. Returns the ``ipywidgets`` box when :func:`widgets_enabled` (or
    ``interactive=True``), otherwise the :func:`latent_grid` figure over ``static_dims``.
    """
    latent_dim = check_int("latent_dim", latent_dim, minimum=1)
    use_widgets = widgets_enabled() if interactive is None else interactive
    if not use_widgets:
        if latent_dim == 1:
            raise ValueError("a static grid needs latent_dim >= 2")
        return latent_grid(
            decode, dims=(static_dims[0], static_dims[1]), latent_dim=latent_dim, limit=limit
        )
    shown = min(latent_dim, 16)

    def render(**coordinates: float) -> Figure:
        z = np.zeros((1, latent_dim), dtype="float32")
        z[0, :shown] = [coordinates[f"z{j}"] for j in range(shown)]
        image = np.asarray(decode(z)).reshape(28, 28)
        fig, ax = plt.subplots(figsize=(3, 3))
        ax.imshow(image, cmap="gray", vmin=0, vmax=1)
        more = f" (first {shown} of {latent_dim} dims)" if latent_dim > shown else ""
        ax.set_title("decoded z" + more)
        ax.axis("off")
        return fig

    controls = {f"z{j}": Slider(0.0, -limit, limit, 0.05) for j in range(shown)}
    return panel(render, controls, interactive=True)
