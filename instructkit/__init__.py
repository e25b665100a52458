"""instructkit: curate clean, deduplicated, language-checked, safe and documented training sets."""

from __future__ import annotations

from instructkit._version import __version__
from instructkit.errors import InputError, InstructkitError, RecipeError, RunError
from instructkit.pipeline import Pipeline, RunResult
from instructkit.recipe import Recipe, load_recipe
from instructkit.steps import Filter, GlobalStep, Mapper, Step
from instructkit.steps.base import STEPS, get_step

__all__ = [
    "STEPS",
    "Filter",
    "GlobalStep",
    "InputError",
    "InstructkitError",
    "Mapper",
    "Pipeline",
    "Recipe",
    "RecipeError",
    "RunError",
    "RunResult",
    "Step",
    "__version__",
    "get_step",
    "load_recipe",
]
