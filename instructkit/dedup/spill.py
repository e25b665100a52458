"""Disk-backed hash partitions: append rows of uint64 columns, read them back one sorted shard at a time.

Rows are spread over ``shards`` files by the top bits of their first column (a hash), so each shard holds
about ``1/shards`` of them and memory at read time is one shard, however large the input. Within a shard,
rows come back sorted by their first ``key_width`` columns and, for equal keys, in the order they were
appended (the sort is stable).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np


class ShardedSpill:
    default_shards = 64

    def __init__(
        self, directory: Path, *, width: int = 2, key_width: int = 1, shards: int = default_shards,
        buffer_rows: int = 1 << 18,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.width, self.key_width, self.shards, self.buffer_rows = width, key_width, shards, buffer_rows
        self._pending: list[np.ndarray] = []
        self._pending_rows = 0
        self.rows = 0

    def _path(self, shard: int) -> Path:
        return self.directory / f"shard-{shard:04d}.bin"

    def append(self, *columns: np.ndarray) -> None:
        """Add rows given column by column (``width`` arrays of equal length)."""
        if len(columns) != self.width:
            raise ValueError(f"expected {self.width} columns")
        block = np.stack([np.asarray(c, dtype=np.uint64).ravel() for c in columns], axis=1)
        self._pending.append(block)
        self._pending_rows += len(block)
        self.rows += len(block)
        if self._pending_rows >= self.buffer_rows:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        rows = np.concatenate(self._pending)
        self._pending, self._pending_rows = [], 0
        shard = ((rows[:, 0] >> np.uint64(32)) * np.uint64(self.shards)) >> np.uint64(32)
        order = np.argsort(shard, kind="stable")
        rows = rows[order]
        bounds = np.searchsorted(shard[order], np.arange(self.shards + 1))
        for s in range(self.shards):
            if bounds[s + 1] > bounds[s]:
                with open(self._path(s), "ab") as f:
                    rows[bounds[s] : bounds[s + 1]].tofile(f)

    def __iter__(self) -> Iterator[np.ndarray]:
        """Each non-empty shard as a ``(rows, width)`` array sorted by its key columns (stable)."""
        self.flush()
        for s in range(self.shards):
            path = self._path(s)
            if path.exists():
                rows = np.fromfile(path, dtype=np.uint64).reshape(-1, self.width)
                keys = [rows[:, c] for c in reversed(range(self.key_width))]
                yield rows[np.lexsort(keys) if self.key_width > 1 else np.argsort(keys[0], kind="stable")]


def runs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For sorted ``(rows, k)`` keys: ``(head, member)`` positions pairing every row that repeats an
    earlier row's key with the first row of its run."""
    keys = keys.reshape(len(keys), -1)
    same = np.all(keys[1:] == keys[:-1], axis=1)
    member = np.flatnonzero(same) + 1
    starts = np.flatnonzero(np.r_[True, ~same])
    head = starts[np.searchsorted(starts, member, side="right") - 1]
    return head, member


class FileReader:
    """Random reads from a file of fixed-size numpy rows with ``pread``: resident memory is just what was
    read (a memory map would map whole large folios of the page cache per touched row)."""

    def __init__(self, path: Path, dtype: type | np.dtype, columns: int = 1) -> None:
        self.dtype = np.dtype(dtype)
        self.columns = columns
        self.row_bytes = self.dtype.itemsize * columns
        self._fd = os.open(path, os.O_RDONLY)

    def rows(self, index: np.ndarray) -> np.ndarray:
        """``(len(index), columns)`` rows at these row numbers."""
        size, fd = self.row_bytes, self._fd
        data = b"".join([os.pread(fd, size, i * size) for i in np.asarray(index).tolist()])
        return np.frombuffer(data, dtype=self.dtype).reshape(len(index), self.columns)

    def span(self, lo: int, hi: int) -> np.ndarray:
        """Values ``lo:hi`` of a flat file."""
        size = self.dtype.itemsize
        return np.frombuffer(os.pread(self._fd, (hi - lo) * size, lo * size), dtype=self.dtype)

    def close(self) -> None:
        os.close(self._fd)
