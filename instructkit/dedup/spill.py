"""Disk-backed hash partitions: append ``(key, value)`` pairs, read them back one sorted shard at a time.

Keys are spread over ``shards`` files by their top bits, so each shard holds about ``1/shards`` of the
pairs and memory at read time is one shard, however large the input. Within a shard, pairs come back
sorted by key and, for equal keys, in the order they were appended (the sort is stable).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np


class ShardedSpill:
    default_shards = 64

    def __init__(self, directory: Path, shards: int = default_shards, buffer_pairs: int = 1 << 20) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.shards = shards
        self.buffer_pairs = buffer_pairs
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._pending_pairs = 0
        self.pairs = 0

    def _path(self, shard: int) -> Path:
        return self.directory / f"shard-{shard:04d}.bin"

    def append(self, keys: np.ndarray, values: np.ndarray) -> None:
        self._pending.append((np.asarray(keys, dtype=np.uint64).ravel(), np.asarray(values, dtype=np.uint64).ravel()))
        self._pending_pairs += len(self._pending[-1][0])
        self.pairs += len(self._pending[-1][0])
        if self._pending_pairs >= self.buffer_pairs:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        keys = np.concatenate([k for k, _ in self._pending])
        values = np.concatenate([v for _, v in self._pending])
        self._pending, self._pending_pairs = [], 0
        shard = (keys >> np.uint64(32)) * np.uint64(self.shards) >> np.uint64(32)
        order = np.argsort(shard, kind="stable")
        pairs = np.empty((len(keys), 2), dtype=np.uint64)
        pairs[:, 0], pairs[:, 1] = keys[order], values[order]
        bounds = np.searchsorted(shard[order], np.arange(self.shards + 1))
        for s in range(self.shards):
            lo, hi = bounds[s], bounds[s + 1]
            if hi > lo:
                with open(self._path(s), "ab") as f:
                    pairs[lo:hi].tofile(f)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(keys, values)`` of each non-empty shard, sorted by key (stable)."""
        self.flush()
        for s in range(self.shards):
            path = self._path(s)
            if not path.exists():
                continue
            pairs = np.fromfile(path, dtype=np.uint64).reshape(-1, 2)
            order = np.argsort(pairs[:, 0], kind="stable")
            yield pairs[order, 0], pairs[order, 1]
            del pairs, order
