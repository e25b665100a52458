"""The embedded default: a process pool on this machine (inline when one worker)."""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

_CONTEXT: Any = None


def _install(context: Any) -> None:
    global _CONTEXT
    _CONTEXT = context


def _call(fn: Callable[[Any, Any], Any], task: Any) -> Any:
    return fn(_CONTEXT, task)


class LocalExecutor:
    """Runs ``fn(context, task)`` for each task on ``workers`` processes, yielding results in task order.

    ``context`` (the pipeline) is sent once per worker, not once per task. At most two tasks per worker
    are in flight, so memory stays bounded however long the task stream is.
    """

    def __init__(self, *, workers: int | None = None, context: Any = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.context = context
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> LocalExecutor:
        if self.workers > 1:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_install,
                initargs=(self.context,),
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def map(self, fn: Callable[[Any, Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        if self._pool is None:
            for task in tasks:
                yield fn(self.context, task)
            return
        pending: deque[Future] = deque()
        for task in tasks:
            pending.append(self._pool.submit(_call, fn, task))
            while len(pending) >= 2 * self.workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
