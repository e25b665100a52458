"""instructkit: curate clean, deduplicated, language-checked, safe and documented training sets."""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

from instructkit._version import __version__

if TYPE_CHECKING:
    from instructkit.errors import InputError, InstructkitError, RecipeError, RunError
    from instructkit.export import export_output
    from instructkit.pipeline import Pipeline, RunResult
    from instructkit.recipe import Recipe, load_recipe
    from instructkit.steps.base import STEPS, Filter, GlobalStep, Mapper, Step, get_step

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
    "export_output",
    "get_step",
    "load_recipe",
]

# Where each public name lives. They are imported on first use (PEP 562), so ``import instructkit`` (and the
# CLI's start-up) does not pay for pyarrow, polars and the step modules until something needs them.
_LOCATIONS = {
    "STEPS": "instructkit.steps.base",
    "Filter": "instructkit.steps.base",
    "GlobalStep": "instructkit.steps.base",
    "InputError": "instructkit.errors",
    "InstructkitError": "instructkit.errors",
    "Mapper": "instructkit.steps.base",
    "Pipeline": "instructkit.pipeline",
    "Recipe": "instructkit.recipe",
    "RecipeError": "instructkit.errors",
    "RunError": "instructkit.errors",
    "RunResult": "instructkit.pipeline",
    "Step": "instructkit.steps.base",
    "export_output": "instructkit.export",
    "get_step": "instructkit.steps.base",
    "load_recipe": "instructkit.recipe",
}


def __getattr__(name: str) -> Any:
    if name in _LOCATIONS:
        value = getattr(importlib.import_module(_LOCATIONS[name]), name)
    elif not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}"):  # instructkit.steps
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
