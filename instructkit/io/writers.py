"""Atomic Parquet writing and the final shard layout (``data/train-00000-of-00002.parquet``)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

COMPRESSION = "zstd"
ROW_GROUP = 2048


def write_parquet(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path`` atomically: a reader sees the whole file or none of it."""
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, compression=COMPRESSION)
    os.replace(tmp, path)


def write_json(obj: Any, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False, default=str) + "\n",
                   encoding="utf-8")
    os.replace(tmp, path)


def unify_schema(schemas: list[pa.Schema]) -> pa.Schema:
    """One schema for all parts: nulls widen to the real type; fields that disagree become strings."""
    try:
        return pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    fields: dict[str, pa.Field] = {}
    for schema in schemas:
        for f in schema:
            prev = fields.get(f.name)
            if prev is None or pa.types.is_null(prev.type):
                fields[f.name] = f
            elif not pa.types.is_null(f.type) and prev.type != f.type:
                try:
                    fields[f.name] = pa.unify_schemas([pa.schema([prev]), pa.schema([f])],
                                                      promote_options="permissive").field(f.name)
                except (pa.ArrowInvalid, pa.ArrowTypeError):
                    fields[f.name] = pa.field(f.name, pa.string())
    return pa.schema(list(fields.values()))


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Cast ``table`` to ``schema``: missing columns become nulls, mismatched ones JSON text."""
    columns = []
    for f in schema:
        if f.name not in table.column_names:
            columns.append(pa.nulls(table.num_rows, f.type))
            continue
        col = table.column(f.name)
        if col.type == f.type:
            columns.append(col)
            continue
        try:
            columns.append(col.cast(f.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            columns.append(pa.array(
                [None if v is None else v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
                 for v in col.to_pylist()], f.type))
    return pa.Table.from_arrays(columns, schema=schema)


def write_shards(parts: Iterable[Path], directory: Path, prefix: str, *, max_rows: int,
                 last_columns: tuple[str, ...] = ()) -> list[str]:
    """Concatenate part files, in order, into ``PREFIX-00000-of-0000N.parquet`` shards of ``max_rows`` rows.

    Rows are streamed part by part, so memory holds one part at a time. ``last_columns`` go to the end.
    """
    parts = [p for p in parts if pq.read_metadata(p).num_rows > 0]
    directory.mkdir(parents=True, exist_ok=True)
    if not parts:
        return []
    schema = unify_schema([pq.read_schema(p) for p in parts])
    tail = [schema.field(c) for c in last_columns if c in schema.names]
    schema = pa.schema([f for f in schema if f.name not in last_columns] + tail)
    written: list[Path] = []
    writer: pq.ParquetWriter | None = None
    rows_in_shard = 0
    for part in parts:
        for batch in pq.ParquetFile(part).iter_batches(batch_size=2048, use_threads=False):
            table = conform(pa.Table.from_batches([batch]), schema)
            offset = 0
            while offset < table.num_rows:
                if writer is None:
                    path = directory / f"{prefix}-{len(written):05d}.parquet.tmp"
                    written.append(path)
                    writer = pq.ParquetWriter(path, schema, compression=COMPRESSION)
                    rows_in_shard = 0
                take = min(max_rows - rows_in_shard, table.num_rows - offset)
                writer.write_table(table.slice(offset, take), row_group_size=ROW_GROUP)
                offset += take
                rows_in_shard += take
                if rows_in_shard >= max_rows:
                    writer.close()
                    writer = None
        pa.default_memory_pool().release_unused()
    if writer is not None:
        writer.close()
    names = []
    for i, tmp in enumerate(written):
        final = directory / f"{prefix}-{i:05d}-of-{len(written):05d}.parquet"
        os.replace(tmp, final)
        names.append(final.name)
    return names
