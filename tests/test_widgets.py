"""Tests of course_lib.viz.widgets: explorers and their static fallbacks."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.figure import Figure

from course_lib.viz.widgets import latent_explorer, latent_grid, widgets_enabled


def coordinate_decoder(z: np.ndarray) -> np.ndarray:
    """Image whose left half shows (z0 + 3) / 6 and right half (z1 + 3) / 6: easy to read back."""
    images = np.zeros((len(z), 28, 28), dtype="float32")
    images[:, :, :14] = ((z[:, 0] + 3) / 6)[:, None, None]
    images[:, :, 14:] = ((z[:, 1] + 3) / 6)[:, None, None]
    return images


def test_widgets_are_off_in_the_ci_profile_and_outside_a_kernel(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "ci")
    assert not widgets_enabled()
    monkeypatch.setenv("COURSE_PROFILE", "student")
    assert not widgets_enabled()  # pytest is no Jupyter kernel


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
