"""The embedded default: a process pool on this machine (inline when one worker)."""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

_CONTEXT: Any = None
_THREAD_VARS = ("POLARS_MAX_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RAYON_NUM_THREADS")
#: Arrow in the workers allocates with the C library's malloc rather than pyarrow's default mimalloc, so the
#: memory Python and Arrow free while a part is processed is one heap that both reuse: a worker's peak is
#: 15-25% lower at the same speed (``benchmarks/curate_memory.py``). A value the user set wins.
_ARROW_POOL = {"ARROW_DEFAULT_MEMORY_POOL": "system"}


def _install(context: Any) -> None:
    global _CONTEXT
    _CONTEXT = context


def _call(fn: Callable[[Any, Any], Any], task: Any) -> Any:
    return fn(_CONTEXT, task)


class LocalExecutor:
    """Runs ``fn(context, task)`` for each task on ``workers`` processes, yielding results in task order.

    ``context`` (the pipeline) is sent once per worker, not once per task. One task per worker and one more
    are in flight (each holds a part of the input in the main process), so memory stays bounded however long
    the task stream is.
    """

    def __init__(self, *, workers: int | None = None, context: Any = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.context = context
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> LocalExecutor:
        if self.workers > 1:
            # Share the cores between the workers instead of letting each one's thread pools take all of them.
            threads = str(max(1, (os.cpu_count() or 1) // self.workers))
            env = {**dict.fromkeys(_THREAD_VARS, threads), **_ARROW_POOL}
            self._saved_env = {k: os.environ.get(k) for k in env}
            for k, v in env.items():
                os.environ.setdefault(k, v)
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
            for k, v in self._saved_env.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def map(self, fn: Callable[[Any, Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        if self._pool is None:
            for task in tasks:
                yield fn(self.context, task)
            return
        pending: deque[Future] = deque()
        for task in tasks:
            pending.append(self._pool.submit(_call, fn, task))
            while len(pending) >= self.workers + 1:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
