"""Tests of course_lib.viz.widgets: explorers and their static fallbacks."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.figure import Figure

from course_lib.viz.widgets import (
    Choice,
    IntSlider,
    Number,
    Slider,
    Text,
    latent_explorer,
    latent_grid,
    panel,
    widgets_enabled,
)


def coordinate_decoder(z: np.ndarray) -> np.ndarray:
    """Image whose left half shows (z0 + 3) / 6 and right half (z1 + 3) / 6: easy to read back."""
    images = np.zeros((len(z), 28, 28), dtype="float32")
    images[:, :, :14] = ((z[:, 0] + 3) / 6)[:, None, None]
    images[:, :, 14:] = ((z[:, 1] + 3) / 6)[:, None, None]
    return images


def test_widgets_are_off_in_the_ci_profile_and_outside_a_kernel(monkeypatch):
    monkeypatch.delenv("COURSE_WIDGETS", raising=False)
    monkeypatch.setenv("COURSE_PROFILE", "ci")
    assert not widgets_enabled()
    monkeypatch.setenv("COURSE_PROFILE", "student")
    assert not widgets_enabled()  # pytest is no Jupyter kernel


def fake_shell(monkeypatch, *, kernel: bool) -> None:
    """Make IPython's get_ipython() return a shell with (Jupyter) or without (terminal) a kernel."""
    import IPython

    shell = SimpleNamespace(kernel=object()) if kernel else SimpleNamespace()
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)


@pytest.mark.parametrize(
    "switch, profile, expected",
    [
        (None, "student", True),  # unset: the default rule
        (None, "ci", False),
        ("", "student", True),
        ("auto", "student", True),
        (" AUTO ", "ci", False),
        ("1", "ci", True),  # forced on, even in ci
        ("1", "student", True),
        ("0", "student", False),  # forced off
        ("0", "ci", False),
    ],
)
def test_course_widgets_switch_in_a_kernel(monkeypatch, switch, profile, expected):
    fake_shell(monkeypatch, kernel=True)
    monkeypatch.setenv("COURSE_PROFILE", profile)
    if switch is None:
        monkeypatch.delenv("COURSE_WIDGETS", raising=False)
    else:
        monkeypatch.setenv("COURSE_WIDGETS", switch)
    assert widgets_enabled() is expected


@pytest.mark.parametrize("switch", ["1", "auto", ""])
def test_widgets_stay_off_outside_a_kernel_whatever_the_switch(monkeypatch, switch):
    monkeypatch.setenv("COURSE_PROFILE", "student")
    monkeypatch.setenv("COURSE_WIDGETS", switch)
    fake_shell(monkeypatch, kernel=False)  # a terminal IPython shell
    assert widgets_enabled() is False
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: None)  # a plain script
    assert widgets_enabled() is False


@pytest.mark.parametrize("switch", ["yes", "true", "2", "on"])
def test_an_unknown_course_widgets_value_names_the_valid_ones(monkeypatch, switch):
    monkeypatch.setenv("COURSE_WIDGETS", switch)
    with pytest.raises(ValueError, match=r"COURSE_WIDGETS=.* use 1 .*0 .*auto"):
        widgets_enabled()


def test_latent_grid_puts_positive_z1_at_the_top_and_negative_z0_at_the_left():
    fig = latent_grid(coordinate_decoder, limit=2.0, n=5)
    canvas = fig.axes[0].get_images()[0].get_array()
    assert canvas.shape == (5 * 28, 5 * 28)
    top_left = canvas[:28, :28]
    assert top_left[:, :14].mean() == pytest.approx((-2.0 + 3) / 6)  # z0 = -limit
    assert top_left[:, 14:].mean() == pytest.approx((2.0 + 3) / 6)  # z1 = +limit
    bottom_right = canvas[-28:, -28:]
    assert bottom_right[:, :14].mean() == pytest.approx(5 / 6) and bottom_right[
        :, 14:
    ].mean() == pytest.approx(1 / 6)
    assert fig.axes[0].get_xlabel() == "$z_{0}$"


def test_latent_grid_rejects_bad_dimensions():
    with pytest.raises(ValueError, match="dims"):
        latent_grid(coordinate_decoder, dims=(0, 0))
    with pytest.raises(ValueError, match="n >= 2"):
        latent_grid(coordinate_decoder, n=1)


def test_explorer_falls_back_to_a_static_figure_and_builds_sliders_when_asked():
    assert isinstance(latent_explorer(coordinate_decoder, 2, interactive=False), Figure)
    widget = latent_explorer(coordinate_decoder, 3, interactive=True)
    sliders = widget.children[0].children
    assert [s.description for s in sliders] == ["z0", "z1", "z2"]
    with pytest.raises(ValueError, match="latent_dim >= 2"):
        latent_explorer(coordinate_decoder, 1, interactive=False)


CONTROLS = {
    "rate": Slider(0.5, 0.0, 1.0, 0.1),
    "count": IntSlider(3, 1, 10),
    "model": Choice("small", ("small", "large")),
    "prompt": Text("hello", multiline=True),
    "price": Number(2.5),
    "users": Number(7),
}


def test_panel_without_widgets_calls_render_once_with_the_static_values(capsys):
    calls = []

    def render(**values):
        calls.append(values)
        return f"{values['model']} x{values['count']}"

    assert panel(render, CONTROLS, static={"count": 9}, interactive=False) is None
    assert calls == [
        {"rate": 0.5, "count": 9, "model": "small", "prompt": "hello", "price": 2.5, "users": 7}
    ]
    assert capsys.readouterr().out == "small x9\n"


def test_panel_with_widgets_builds_one_control_each_and_rerenders_on_change():
    import ipywidgets as w

    calls = []
    box = panel(lambda **v: calls.append(v), CONTROLS, interactive=True)
    controls = box.children[0].children
    kinds = [type(c) for c in controls]
    assert kinds == [w.FloatSlider, w.IntSlider, w.Dropdown, w.Textarea, w.FloatText, w.IntText]
    assert [c.description for c in controls] == list(CONTROLS)
    widest = max(len(name) for name in CONTROLS) + 1  # "prompt" ... "model": one width
    assert {c.style.description_width for c in controls} == {f"{widest}ch"}
    assert len(calls) == 1 and calls[0]["count"] == 3  # drawn once at the start
    controls[1].value = 5
    assert len(calls) == 2 and calls[1]["count"] == 5


def test_panel_with_a_button_renders_only_when_pressed():
    import ipywidgets as w

    calls = []
    box = panel(
        lambda **v: calls.append(v), {"n": IntSlider(1, 1, 4)}, button="Go", interactive=True
    )
    slider, button = box.children[0].children
    assert isinstance(button, w.Button) and button.description == "Go"
    slider.value = 4
    assert len(calls) == 1  # the first draw only
    button.click()
    assert len(calls) == 2 and calls[1] == {"n": 4}


def test_panel_rejects_bad_controls_and_unknown_static_names():
    with pytest.raises(TypeError, match="control 'n' must be a Slider"):
        panel(lambda **v: None, {"n": 3}, interactive=False)
    with pytest.raises(ValueError, match=r"static names \['m'\] are not controls"):
        panel(lambda **v: None, {"n": IntSlider(1, 1, 4)}, static={"m": 2}, interactive=False)
    with pytest.raises(TypeError, match="render must be callable"):
        panel("render", {}, interactive=False)
