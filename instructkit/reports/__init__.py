"""Whole-run reports: computed after the run over its kept and rejected records.

A report is a function registered under a name and listed in a recipe's ``reports:`` key::

    reports:
      - bias_audit: {}

It gets the finished (not yet published) output directory and the run's stats, returns a JSON-able
dict that lands in ``stats.json`` under ``reports.<name>``; its ``"markdown"`` entry, if any, is
rendered into the dataset card.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

Report = Callable[..., dict[str, Any]]
REPORTS: dict[str, Report] = {}


def register_report(name: str) -> Callable[[Report], Report]:
    """Decorator: ``@register_report("bias_audit") def bias_audit(output: Path, stats: dict, *, ...)``."""

    def decorate(func: Report) -> Report:
        REPORTS[name] = func
        return func

    return decorate


def load_reports() -> dict[str, Report]:
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        importlib.import_module(f"{__name__}.{module}")
    return REPORTS


def run_report(name: str, output: Path, stats: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    return load_reports()[name](output, stats, **params)
