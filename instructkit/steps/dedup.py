"""Exact deduplication on a normalised-text hash, within the dataset and against reference datasets."""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from instructkit.dedup.hashing import chunks, text_keys
from instructkit.dedup.ids import IdLog, batch_ids
from instructkit.dedup.spill import ShardedSpill, runs
from instructkit.steps.base import Decisions, GlobalStep
from instructkit.text import normalize_for_hash


class ExactDedup(GlobalStep):
    """Drop records whose text equals an earlier record's after normalisation.

    With ``normalize: true`` (default) case, Unicode width, punctuation and whitespace are ignored, so
    ``"Hello, world!"`` and ``"hello world"`` are duplicates. The first record in input order is kept;
    later copies are dropped with reason ``duplicate_of:<id of the kept record>``. ``fields`` compares a
    combination of fields instead of one (``[instruction, input]``: same prompt, whatever the answer).
    ``reference`` (a file, glob, directory or ``hf:`` dataset; several allowed) drops records that already
    exist there, with ``duplicate_of:<id of the reference record>``: deduplicate a new batch against a
    dataset you already have. 128-bit keys spill to disk in sorted shards: memory does not grow with
    the corpus.

    ```yaml
    - exact_dedup: {normalize: true}
    ```
    """

    name = "exact_dedup"

    def __init__(
        self,
        *,
        field: str | None = None,
        fields: list[str] | None = None,
        normalize: bool = True,
        reference: str | list[str] | None = None,
    ) -> None:
        if field is not None and fields:
            raise ValueError("give field or fields, not both")
        if fields is not None and not fields:
            raise ValueError("fields must name at least one field")
        self.field = field
        self.fields = fields
        self.normalize = normalize
        self.reference = reference

    def key(self, text: str | None) -> bytes:
        text = "" if text is None else text
        if self.normalize:
            text = normalize_for_hash(text)
        return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()

    def keys(self, batch: pa.Table) -> np.ndarray:
        """``(rows, 2)`` uint64: each record's 128-bit key."""
        if self.fields:
            columns = []
            for name in self.fields:
                if name not in batch.column_names:
                    raise KeyError(f"step {self.name}: field {name!r} not in the records")
                columns.append([_as_text(v) for v in batch.column(name).to_pylist()])
            texts = ["\x1f".join(values) for values in zip(*columns, strict=True)]
        else:
            texts = self.texts(batch)
        if self.normalize:  # vectorised, equal exactly when normalize_for_hash is equal
            return np.concatenate([text_keys(texts[lo:hi]) for lo, hi in chunks(texts)])
        digests = b"".join(self.key(t) for t in texts)
        return np.frombuffer(digests, dtype=np.uint64).reshape(-1, 2)

    def index(self, batch: pa.Table) -> Any:
        return {"keys": self.keys(batch), "ids": batch_ids(batch)}

    def fit(self, indexes: Iterable[tuple[int, Any]], scratch: Path) -> Decisions:
        Path(scratch).mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix="exact-", dir=scratch))
        spill = ShardedSpill(scratch / "keys", width=3, key_width=2)
        log = IdLog(scratch / "ids.arrow")
        for table in self._reference_tables():
            first = log.add(-1, batch_ids(table), table.num_rows)
            keys = self.keys(table)
            spill.append(keys[:, 0], keys[:, 1], np.arange(first, first + table.num_rows))
        references = log.total
        for part, idx in indexes:
            rows = 0 if idx is None else len(idx["keys"])
            first = log.add(part, None if idx is None else idx["ids"], rows)
            if rows:
                spill.append(idx["keys"][:, 0], idx["keys"][:, 1], np.arange(first, first + rows))
        dropped, kept = [], []
        for rows in spill:
            head, member = runs(rows[:, :2])
            number = rows[:, 2].astype(np.int64)
            is_data = number[member] >= references  # reference records are never dropped
            dropped.append(number[member][is_data])
            kept.append(number[head][is_data])
        dropped_all = np.concatenate(dropped) if dropped else np.empty(0, np.int64)
        kept_all = np.concatenate(kept) if kept else np.empty(0, np.int64)
        if references:
            self.count("reference_records", references)
            self.count("reference_duplicates", int(np.count_nonzero(kept_all < references)))
        return log.decisions(dropped_all, kept_all, "duplicate_of")

    def data_paths(self) -> dict[str, list[str]]:
        return {"reference": [self.reference] if isinstance(self.reference, str) else list(self.reference or [])}

    def _reference_tables(self) -> Iterator[pa.Table]:
        paths = self.data_paths()["reference"]
        fields = self.fields or [self.field_name()]
        for path in paths:
            for n, table in enumerate(read_reference(path, fields[0], self.base_dir)):
                if "id" not in table.column_names:
                    ids = [f"{path}#{n}:{r}" for r in range(table.num_rows)]
                    table = table.append_column("id", pa.array(ids, pa.string()))
                yield table

    def estimate(self, input_bytes: int, records: int | None = None) -> dict[str, Any]:
        """Estimated peak memory and scratch disk of ``fit`` for an input of this size."""
        records = records if records is not None else max(1, input_bytes // 2000)
        disk = records * (24 + 40)
        return {
            "peak_memory_bytes": int(3 * records * 24 / ShardedSpill.default_shards + 32 * 2**20),
            "disk_bytes": int(disk),
            "explanation": (
                f"{records:,} records x 24 B (128-bit key + record number) spill to "
                f"{ShardedSpill.default_shards} sorted shards, ids ~40 B each to an Arrow file; fit holds one "
                "shard at a time (x3 while sorting)"
            ),
        }


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def read_reference(path: str, text_field: str = "text", base: Path | None = None) -> Iterator[pa.Table]:
    """Batches of a reference dataset (file, glob, directory, ``hf:NAME``; relative to ``base``) through
    instructkit's readers."""
    from instructkit.io.readers import read_tables

    yield from read_tables(path, text_field=text_field, base=base)
