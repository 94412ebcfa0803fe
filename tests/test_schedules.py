"""Tests of course_lib.training.schedules: the warm-up + cosine schedule against its formula."""

from __future__ import annotations

import math

import pytest

from course_lib.training.schedules import warmup_cosine


def eta(t: int, peak: float, warmup: int, total: int, alpha: float) -> float:
    """The schedule's formula, written out independently of Keras."""
    if t < warmup:
        return peak * t / warmup
    progress = min(t - warmup, total - warmup) / (total - warmup)
    return peak * (alpha + (1 - alpha) * (1 + math.cos(math.pi * progress)) / 2)


@pytest.mark.parametrize(
    ("peak", "warmup", "total", "alpha"),
    [(2e-3, 10, 100, 0.1), (1e-3, 0, 50, 0.0), (0.5, 1, 3, 1.0)],
)
def test_warmup_cosine_follows_the_formula_at_every_step(peak, warmup, total, alpha):
    schedule = warmup_cosine(peak, total_steps=total, warmup_steps=warmup, final_fraction=alpha)
    for t in [*range(total + 1), total + 50]:
        assert float(schedule(t)) == pytest.approx(
            eta(t, peak, warmup, total, alpha), rel=1e-5, abs=1e-9
        )


def test_warmup_cosine_peaks_after_warmup_and_ends_at_the_final_fraction():
    schedule = warmup_cosine(3e-4, total_steps=1000, warmup_steps=100, final_fraction=0.1)
    assert float(schedule(0)) == 0.0
    assert float(schedule(100)) == pytest.approx(3e-4)
    assert float(schedule(1000)) == pytest.approx(3e-5)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"peak": 0.0}, ValueError, "peak must be > 0"),
        ({"peak": float("nan")}, ValueError, "peak must be a finite"),
        ({"total_steps": 0}, ValueError, "total_steps must be an integer >= 1"),
        ({"total_steps": 10.5}, TypeError, "total_steps must be an integer"),
        ({"warmup_steps": 100}, ValueError, "warmup_steps must be an integer >= 0 and <= 99"),
        ({"final_fraction": 1.5}, ValueError, "final_fraction must be >= 0.0 and <= 1.0"),
    ],
)
def test_warmup_cosine_rejects_bad_recipes(kwargs, error, match):
    args = {"peak": 1e-3, "total_steps": 100, "warmup_steps": 10, **kwargs}
    peak = args.pop("peak")
    with pytest.raises(error, match=match):
        warmup_cosine(peak, **args)
