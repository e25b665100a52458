"""Built-in steps. Every module in this package is imported so its steps register themselves, and each
registered class is exported here: ``from instructkit.steps import Clean, ExactDedup``."""

from __future__ import annotations

import importlib
import pkgutil

from instructkit.steps.base import STEPS, Filter, GlobalStep, Mapper, Step

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")

globals().update({cls.__name__: cls for cls in STEPS.values()})

__all__ = sorted({"Filter", "GlobalStep", "Mapper", "Step", *(cls.__name__ for cls in STEPS.values())})
