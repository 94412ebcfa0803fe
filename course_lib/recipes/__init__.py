"""Recipes: each course model trained exactly as its chapter trains it, in a notebook or a terminal.

A recipe is the chapter's run as data and code: the sizes per profile (a frozen dataclass),
the data, optimizer, schedule and seed. Every recipe module exposes ``sizes(profile)``,
``build(profile, *, strategy=None, seed=0, steps=None) -> Built``, ``evaluate(built)`` (the
chapter's metric) and ``cache_key(profile, *, steps=None, seed=0) -> CacheKey`` (the model
cache's key of its trained weights). Layer 3: it imports the model families and
``training``; only ``bench``, ``cli`` and notebooks import it.

* :data:`RECIPES` -- name -> :class:`~course_lib.recipes.base.Recipe` (``gpt``,
  ``translator``, ``classifier``, ``vae``, ``gan``).
* :func:`build`, :func:`cache_key` -- by name.
* :func:`~course_lib.recipes.run.run` -- train to the end with checkpoints and exact resume,
  returning a :class:`~course_lib.recipes.run.RunSummary`.
* :mod:`~course_lib.recipes.command` -- ``python -m course_lib train MODEL ...``.

Importing this package imports no TensorFlow.
"""

from __future__ import annotations

from typing import Any

from course_lib.recipes.base import Built, Recipe, resolve_profile
from course_lib.recipes.registry import RECIPES, TRAINABLE, get_recipe
from course_lib.recipes.run import RunSummary, run
from course_lib.runtime.profiles import Profile


def build(
    name: str,
    profile: Profile | str | None = None,
    *,
    strategy: Any = None,
    seed: int = 0,
    steps: int | None = None,
) -> Built:
    """``RECIPES[name].build(profile, strategy=..., seed=..., steps=...)``."""
    return get_recipe(name).build(profile, strategy=strategy, seed=seed, steps=steps)


def cache_key(
    name: str, profile: Profile | str | None = None, steps: int | None = None, seed: int = 0
) -> Any:
    """``RECIPES[name].cache_key(profile, steps, seed)``: the model cache's key."""
    return get_recipe(name).cache_key(resolve_profile(profile), steps=steps, seed=seed)


__all__ = [
    "RECIPES",
    "TRAINABLE",
    "Built",
    "Recipe",
    "RunSummary",
    "build",
    "cache_key",
    "get_recipe",
    "run",
]
