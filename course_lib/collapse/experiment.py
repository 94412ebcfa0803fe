"""The recursive experiment: fit, sample, refit, and measure every generation.

Each generation trains on its predecessor's samples, or on fresh, mixed or accumulated data
(:data:`DATA_MODES`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from course_lib.collapse.measures import as_points, mode_spread, modes_occupied, tail_mass
from course_lib.distances import energy_distance
from course_lib.runtime.validation import (
    check_choice,
    check_int,
    check_real,
)

DATA_MODES = ("self", "fresh", "mix", "accumulate")


@dataclass(frozen=True)
class CollapseConfig:
    """One recursive-training experiment.

    Attributes:
        generations: models fitted after generation 0, ``>= 1``.
        samples_per_generation: ``n``, real points for generation 0 and points drawn from each
            model to train the next, ``>= 2``.
        data: what generation ``k >= 1`` trains on, one of :data:`DATA_MODES`.
        real_fraction: for ``"mix"``, the fraction of the ``n`` points that are fresh real data
            (``0 < real_fraction < 1``); ignored otherwise.
        eval_samples: points drawn from each model to measure it, ``>= 2``.
        tail_alpha: ``alpha`` of :func:`tail_mass`.
        seed: seed of the whole experiment; two configs with the same seed start from the same
            real data and the same generation-0 model.
    """

    generations: int = 10
    samples_per_generation: int = 200
    data: str = "self"
    real_fraction: float = 0.5
    eval_samples: int = 500
    tail_alpha: float = 0.05
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("generations", self.generations, minimum=1)
        check_int("samples_per_generation", self.samples_per_generation, minimum=2)
        check_choice("data", self.data, DATA_MODES)
        check_real("real_fraction", self.real_fraction, minimum=0.0, maximum=1.0, strict=True)
        check_int("eval_samples", self.eval_samples, minimum=2)
        check_real("tail_alpha", self.tail_alpha, minimum=0.0, maximum=1.0, strict=True)
        check_int("seed", self.seed, minimum=0)


@dataclass(frozen=True)
class Generations:
    """Per-generation measurements of a recursive experiment; row ``k`` is generation ``k``.

    Attributes:
        config: the experiment.
        mean: ``(G + 1, d)``, the mean of each model's samples.
        covariance: ``(G + 1, d, d)``, their covariance.
        total_variance: ``(G + 1,)``, the trace of the covariance (the spread).
        tail_mass: ``(G + 1,)``, :func:`tail_mass` against the held-out real data.
        modes: ``(G + 1,)`` int, :func:`modes_occupied` (``-1`` when no centres were given).
        mode_spread: ``(G + 1,)``, :func:`mode_spread` (NaN when no centres were given).
        energy: ``(G + 1,)``, energy distance of the samples to the held-out real data.
        train_size: ``(G + 1,)`` int, points each model was fitted on.
        samples: ``(G + 1, eval_samples, d)``, the samples measured.
        models: each generation's fitted model.
    """

    config: CollapseConfig
    mean: np.ndarray
    covariance: np.ndarray
    total_variance: np.ndarray
    tail_mass: np.ndarray
    modes: np.ndarray
    mode_spread: np.ndarray
    energy: np.ndarray
    train_size: np.ndarray
    samples: np.ndarray
    models: list[Any]

    def rows(self, every: int = 1) -> list[dict[str, float]]:
        """The scalar measurements as one dict per generation (every ``every``-th, and the
        last), for printing a table."""
        every = check_int("every", every, minimum=1)
        last = len(self.energy) - 1
        keep = sorted(set(range(0, last + 1, every)) | {last})
        return [
            {
                "generation": k,
                "train_size": int(self.train_size[k]),
                "total_variance": float(self.total_variance[k]),
                "tail_mass": float(self.tail_mass[k]),
                "modes": int(self.modes[k]),
                "mode_spread": float(self.mode_spread[k]),
                "energy": float(self.energy[k]),
            }
            for k in keep
        ]


def run_generations(
    fit: Callable[[np.ndarray, np.random.Generator], Any],
    sample: Callable[[Any, int, np.random.Generator], np.ndarray],
    draw_real: Callable[[int, np.random.Generator], np.ndarray],
    held_out: object,
    config: CollapseConfig,
    *,
    centers: object = None,
    mode_radius: float | None = None,
) -> Generations:
    """Fit, sample, refit on the samples, ``config.generations`` times, and measure each model.

    Generation 0 is fitted on ``n = samples_per_generation`` real points from ``draw_real``.
    Generation ``k >= 1`` is fitted on, by ``config.data``: ``"self"`` ``n`` samples of model
    ``k - 1``; ``"fresh"`` ``n`` new real points; ``"mix"`` ``round(real_fraction n)`` new real
    points and the rest samples of model ``k - 1``; ``"accumulate"`` the generation-0 real points
    and the ``n`` samples of every model ``0 .. k - 1`` (``n (k + 1)`` points).

    Each model is measured on ``eval_samples`` draws from it: mean, covariance, tail mass and
    energy distance against ``held_out``, and the modes occupied when ``centers`` (and
    ``mode_radius``) are given. The random streams for real data, fitting, training samples and
    evaluation samples are separate children of ``config.seed``.

    Args:
        fit: ``fit(x, rng) -> model`` for ``x`` of shape ``(N, d)``.
        sample: ``sample(model, n, rng) -> (n, d)`` array.
        draw_real: ``draw_real(n, rng) -> (n, d)``, fresh real data.
        held_out: ``(m, d)`` real data never trained on, ``m >= 2``.
        config: the experiment.
        centers: ``(K, d)`` mode centres of the real data, optional.
        mode_radius: radius of :func:`modes_occupied`; needed with ``centers``.

    Returns:
        :class:`Generations`.
    """
    for name, fn in (("fit", fit), ("sample", sample), ("draw_real", draw_real)):
        if not callable(fn):
            raise TypeError(f"{name} must be a function, got {type(fn).__name__}")
    if not isinstance(config, CollapseConfig):
        raise TypeError(f"config must be a CollapseConfig, got {type(config).__name__}")
    reference = as_points("held_out", held_out)
    if reference.shape[0] < 2:
        raise ValueError("held_out needs at least 2 points")
    if centers is not None and mode_radius is None:
        raise ValueError("give mode_radius with centers")
    real_rng, fit_rng, train_rng, eval_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(config.seed).spawn(4)
    )
    n = config.samples_per_generation

    def real(count: int) -> np.ndarray:
        x = as_points("draw_real(...)", draw_real(count, real_rng))
        if x.shape != (count, reference.shape[1]):
            raise ValueError(f"draw_real returned shape {x.shape}, expected {(count, x.shape[1])}")
        return x

    def generated(model: Any, count: int, rng: np.random.Generator) -> np.ndarray:
        x = as_points("sample(...)", sample(model, count, rng))
        if x.shape != (count, reference.shape[1]):
            raise ValueError(f"sample returned shape {x.shape}, expected {(count, x.shape[1])}")
        return x

    first = real(n)
    pool = [first]  # "accumulate": everything trained on so far
    train = first
    models, measured, sizes = [], [], []
    for k in range(config.generations + 1):
        if k > 0:
            previous = models[-1]
            if config.data == "self":
                train = generated(previous, n, train_rng)
            elif config.data == "fresh":
                train = real(n)
            elif config.data == "mix":
                num_real = round(config.real_fraction * n)
                train = np.concatenate(
                    [real(num_real), generated(previous, n - num_real, train_rng)]
                )
            else:
                pool.append(generated(previous, n, train_rng))
                train = np.concatenate(pool)
        models.append(fit(train, fit_rng))
        sizes.append(train.shape[0])
        measured.append(generated(models[-1], config.eval_samples, eval_rng))

    samples = np.stack(measured)
    covariance = np.stack([np.atleast_2d(np.cov(s, rowvar=False)) for s in samples])
    modes = np.full(len(samples), -1, dtype=np.int64)
    spread = np.full(len(samples), np.nan)
    if centers is not None:
        modes = np.array([modes_occupied(s, centers, mode_radius) for s in samples])
        spread = np.array([mode_spread(s, centers) for s in samples])
    return Generations(
        config=config,
        mean=samples.mean(axis=1),
        covariance=covariance,
        total_variance=np.trace(covariance, axis1=1, axis2=2),
        tail_mass=np.array([tail_mass(s, reference, config.tail_alpha) for s in samples]),
        modes=modes,
        mode_spread=spread,
        energy=np.array([energy_distance(s, reference) for s in samples]),
        train_size=np.array(sizes, dtype=np.int64),
        samples=samples,
        models=models,
    )
