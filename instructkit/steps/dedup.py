"""Exact deduplication on a normalised-text hash."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa

from instructkit.steps.base import Decisions, GlobalStep
from instructkit.text import normalize_for_hash


class ExactDedup(GlobalStep):
    """Drop records whose text equals an earlier record's after normalisation.

    With ``normalize: true`` (default) case, Unicode width, punctuation and whitespace are ignored, so
    ``"Hello, world!"`` and ``"hello world"`` are duplicates. The first record in input order is kept;
    later copies are dropped with reason ``duplicate_of:<id of the kept record>``.

    ```yaml
    - exact_dedup: {normalize: true}
    ```
    """

    name = "exact_dedup"

    def __init__(self, *, field: str | None = None, normalize: bool = True) -> None:
        self.field = field
        self.normalize = normalize

    def key(self, text: str | None) -> bytes:
        text = "" if text is None else text
        if self.normalize:
            text = normalize_for_hash(text)
        return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()

    def index(self, batch: pa.Table) -> Any:
        ids = batch.column("id").to_pylist() if "id" in batch.column_names else [None] * batch.num_rows
        return [self.key(t) for t in self.texts(batch)], ids

    def fit(self, indexes: Iterable[tuple[int, Any]], scratch: Path) -> Decisions:
        first: dict[bytes, str] = {}
        drops: Decisions = {}
        for part, (keys, ids) in indexes:
            for row, (key, rid) in enumerate(zip(keys, ids)):
                kept = first.get(key)
                if kept is None:
                    first[key] = str(rid) if rid is not None else f"{part}:{row}"
                else:
                    drops.setdefault(part, {})[row] = f"duplicate_of:{kept}"
        return drops
