"""Built-in steps, one module per kind of step; a module's steps register themselves when it is imported.

Each registered class is exported here (``from instructkit.steps import Clean, ExactDedup``). The modules are
imported when first needed: asking this package for a step class or reading the registry (``STEPS``,
``get_step``) imports them all, while a worker process imports only the modules of the steps it runs (some
pull in heavy libraries: polars, jinja2, sentence-transformers).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from instructkit.steps.base import STEPS, Filter, GlobalStep, Mapper, Step  # noqa: F401  (exported)

_MODULES = frozenset(m.name for m in pkgutil.iter_modules(__path__))

#: The module of each built-in step, so that loading a recipe imports only the modules of its steps (the
#: contract test checks this table against the registry).
HOMES = {
    "c4_quality": "quality",
    "chat_template": "chat_template",
    "clean": "clean",
    "counterfactual_gender": "bias",
    "decontaminate": "decontaminate",
    "exact_dedup": "dedup",
    "extract_instructions": "extract",
    "fineweb_quality": "quality",
    "gopher_quality": "quality",
    "gopher_repetition": "quality",
    "html_to_text": "html",
    "language_id": "language",
    "language_mismatch": "instructions",
    "minhash_dedup": "minhash",
    "pii_redact": "pii",
    "prompt_echo": "instructions",
    "refusal": "instructions",
    "remove_boilerplate": "clean",
    "render_template": "templates",
    "semantic_dedup": "semantic",
    "short_response": "instructions",
    "stereotypes": "bias",
    "toxicity": "toxicity",
    "turn_language": "instructions",
    "unbalanced_turns": "instructions",
}


def _exported() -> dict[str, type[Step]]:
    """The built-in step classes by class name (importing every step module)."""
    return {cls.__name__: cls for cls in STEPS.values() if cls.__module__.startswith(f"{__name__}.")}


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name == "__all__":
        return sorted({"Filter", "GlobalStep", "Mapper", "Step", *_exported()})
    cls = _exported().get(name)
    if cls is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return cls


def __dir__() -> list[str]:
    return sorted({*globals(), *__getattr__("__all__")})
