"""Run the same recipe on a Ray cluster (``executor: {type: ray}``), through Ray Data.

Parts go to Ray Data in windows of a few per worker, so the driver never holds the whole input; results come
back in part order, so the output is byte-identical to the local executor's. The run's work directory
(``OUTPUT.partial``) must be on storage every Ray node can reach (a shared filesystem), as with any
file-based output. Connects to ``RAY_ADDRESS`` when set, else starts a local Ray.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable, Iterator
from typing import Any

_CACHE: dict[str, Any] = {}


class RayExecutor:
    def __init__(self, *, workers: int | None = None, context: Any = None) -> None:
        self.workers = workers
        self.context = context
        self._ref: Any = None

    def __enter__(self) -> RayExecutor:
        import ray

        if not ray.is_initialized():
            ray.init(num_cpus=self.workers, include_dashboard=False, log_to_driver=False,
                     ignore_reinit_error=True, configure_logging=False)
        self._ref = ray.put(pickle.dumps(self.context))
        self.window = 4 * (self.workers or int(ray.available_resources().get("CPU", 1)))
        return self

    def __exit__(self, *exc: object) -> None:
        self._ref = None

    def map(self, fn: Callable[[Any, Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        import ray.data

        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True
        ref = self._ref
        window: list[dict[str, bytes]] = []

        def run(row: dict[str, Any]) -> dict[str, Any]:
            return {"result": pickle.dumps(fn(_context(ref), pickle.loads(row["task"])))}

        def flush() -> Iterator[Any]:
            ds = ray.data.from_items(window).map(run)
            for row in ds.iter_rows():
                yield pickle.loads(row["result"])

        for task in tasks:
            window.append({"task": pickle.dumps(task)})
            if len(window) >= self.window:
                yield from flush()
                window = []
        if window:
            yield from flush()


def _context(ref: Any) -> Any:
    import ray

    key = ref.hex()
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = pickle.loads(ray.get(ref))
    return _CACHE[key]
