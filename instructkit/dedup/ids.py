"""Record ids on disk: written part by part during ``fit``, looked up for the few records a reason names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from instructkit.steps.base import Decisions


def batch_ids(batch: pa.Table) -> pa.Array | None:
    """The batch's ``id`` column as strings (``None`` when it has none)."""
    if "id" not in batch.column_names:
        return None
    return batch.column("id").cast(pa.string()).combine_chunks()


class IdLog:
    """Numbers every record in part order (0, 1, ...) and keeps its id in an Arrow stream on disk."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.parts: list[int] = []
        self.firsts: list[int] = []
        self.total = 0
        self._sink = pa.OSFile(str(self.path), "wb")
        self._writer = pa.ipc.new_stream(self._sink, pa.schema([("id", pa.string())]))

    def add(self, part: int, ids: pa.Array | list | None, rows: int) -> int:
        """Log one part's ids (``None``: ``<part>:<row>``); returns the number of its first record."""
        if ids is None:
            ids = pa.array([f"{part}:{r}" for r in range(rows)], pa.string())
        elif not isinstance(ids, pa.Array):
            ids = pa.array([None if i is None else str(i) for i in ids], pa.string())
        self._writer.write_batch(pa.record_batch([ids.cast(pa.string())], names=["id"]))
        first = self.total
        self.parts.append(part)
        self.firsts.append(first)
        self.total += rows
        return first

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._sink.close()
            self._writer = None

    def lookup(self, numbers: np.ndarray) -> dict[int, str]:
        """Ids of the given record numbers."""
        self.close()
        needed = np.unique(np.asarray(numbers, dtype=np.int64))
        found: dict[int, str] = {}
        with pa.memory_map(str(self.path)) as source:
            for first, batch in zip(self.firsts, pa.ipc.open_stream(source), strict=True):
                lo, hi = np.searchsorted(needed, [first, first + batch.num_rows])
                if hi > lo:  # scalar reads: converting the row numbers to Arrow would make pyarrow import pandas
                    column = batch.column(0)
                    found.update((row, column[row - first].as_py()) for row in needed[lo:hi].tolist())
        return found

    def decisions(self, dropped: np.ndarray, kept: np.ndarray, reason: str) -> Decisions:
        """``{part: {row: f"{reason}:<id of kept>"}}`` for records ``dropped[i]`` duplicating ``kept[i]``."""
        reasons = {number: f"{reason}:{name}" for number, name in self.lookup(kept).items()}  # shared by copies
        dropped, kept = np.asarray(dropped, dtype=np.int64), np.asarray(kept, dtype=np.int64)
        order = np.argsort(dropped, kind="stable")
        dropped, kept = dropped[order], kept[order]
        firsts = np.asarray(self.firsts + [self.total], dtype=np.int64)
        bounds = np.searchsorted(dropped, firsts)
        out: Decisions = {}
        for w, part in enumerate(self.parts):  # part by part: no list of every drop as Python objects
            lo, hi = bounds[w], bounds[w + 1]
            if hi > lo:
                rows = (dropped[lo:hi] - firsts[w]).tolist()
                out.setdefault(part, {}).update(zip(rows, map(reasons.__getitem__, kept[lo:hi].tolist()), strict=True))
        return out
