"""The recipes by name (:data:`RECIPES`): the five course models a notebook or ``train`` can build.

A separate module so that :mod:`course_lib.recipes.run` finds a recipe without importing the
package that imports it (no import cycle).
"""

from __future__ import annotations

from course_lib.recipes import classifier, gan, gpt, translator, vae
from course_lib.recipes.base import Recipe
from course_lib.runtime.validation import check_choice

RECIPES: dict[str, Recipe] = {
    module.RECIPE.name: module.RECIPE for module in (gpt, translator, classifier, vae, gan)
}

#: the models ``python -m course_lib train`` is documented for (the issue's four); every name
#: of :data:`RECIPES` is accepted
TRAINABLE = ("classifier", "vae", "gan", "gpt")


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``; a ``ValueError`` listing the valid names otherwise."""
    return RECIPES[check_choice("model", name, list(RECIPES))]
