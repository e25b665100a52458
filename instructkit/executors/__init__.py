"""Executors run a function over the parts of a stage. One method: ``map(fn, tasks)``, results in order."""

from __future__ import annotations

from typing import Any

from instructkit.executors.local import LocalExecutor


def make_executor(kind: str, *, workers: int | None, context: Any) -> Any:
    if kind == "ray":
        from instructkit.executors.ray import RayExecutor

        return RayExecutor(workers=workers, context=context)
    return LocalExecutor(workers=workers, context=context)


__all__ = ["LocalExecutor", "make_executor"]
