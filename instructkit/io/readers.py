"""Streaming readers: JSONL (plain, gzip, zstd), Parquet, CSV, directories, globs and ``hf:`` datasets.

Readers yield ``Record``s (good records with their provenance) and ``Bad`` items (what could not be read,
with file, line and reason). Nothing is dropped silently: the runner quarantines every ``Bad``.
"""

from __future__ import annotations

import csv
import glob as globlib
import gzip
import hashlib
import io
import json
import math
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from instructkit.errors import InputError, RecipeError

JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")
SUFFIXES = tuple(s + c for s in JSONL_SUFFIXES for c in ("", ".gz", ".zst")) + (".parquet", ".csv", ".csv.gz")


@dataclass
class Record:
    data: dict[str, Any]
    file: str
    line: int


@dataclass
class Bad:
    """An input record that cannot be used: ``reason`` is ``code:detail`` and names file and line."""

    reason: str
    file: str
    line: int
    raw: str | None = None


@dataclass
class RawLine:
    """A JSONL line not parsed yet (parsing happens where the records are processed)."""

    raw: bytes
    file: str
    line: int


@dataclass
class ParquetRows:
    """Rows ``start`` to ``stop`` (0-based, ``stop`` excluded) of a Parquet file: a part of the input that the
    worker processing it reads itself (``read_parquet_rows``), in the file's own column types."""

    path: str
    file: str
    start: int
    stop: int


Item = Record | Bad


# -- locating input ---------------------------------------------------------------------------------
def resolve_input(path: str, base: Path | None = None, what: str = "input.path") -> list[Path] | str:
    """Expand ``path`` to a sorted list of files, or return the ``hf:`` dataset name.

    ``sample:NAME`` names a sample shipped with instructkit; relative paths resolve against ``base``;
    ``what`` names the setting in errors.
    """
    if path.startswith("hf:"):
        return path[3:]
    if path.startswith("sample:"):
        from instructkit import samples

        try:
            return [samples.path(path[len("sample:"):])]
        except ValueError as exc:
            raise RecipeError(f"{what} {path!r}: {exc}") from exc
    p = Path(os.path.expanduser(path))
    if not p.is_absolute() and base is not None:
        p = base / p
    if any(ch in str(p) for ch in "*?["):
        files = sorted(Path(f) for f in globlib.glob(str(p), recursive=True) if Path(f).is_file())
    elif p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and f.name.lower().endswith(SUFFIXES))
    elif p.is_file():
        files = [p]
    else:
        raise RecipeError(f"{what} {path!r}: no such file or directory ({p})")
    if not files:
        raise RecipeError(f"{what} {path!r}: matches no readable file (expected {', '.join(SUFFIXES)})")
    unknown = [f for f in files if not f.name.lower().endswith(SUFFIXES)]
    if unknown:
        raise RecipeError(
            f"{what} {path!r}: cannot tell the format of {unknown[0]} (expected {', '.join(SUFFIXES)})"
        )
    return files


def describe_inputs(files: list[Path] | str) -> list[dict[str, Any]]:
    """Input files with sizes and SHA-256 checksums, for stats.json."""
    if isinstance(files, str):
        return [{"hf_dataset": files}]
    out = []
    for f in files:
        digest = hashlib.sha256()
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        out.append({"path": str(f), "bytes": f.stat().st_size, "sha256": digest.hexdigest()})
    return out


# -- reading ------------------------------------------------------------------------------------------
def iter_items(files: list[Path] | str, *, hf_split: str = "train",
               cut_parquet: Callable[[Path, str], Iterator[ParquetRows | Bad]] | None = None,
               ) -> Iterator[Item | RawLine | ParquetRows]:
    """Every record of every file, in order; unreadable ones as ``Bad``; JSONL lines still raw.

    With ``cut_parquet`` (``parquet_parts`` with its sizes), a Parquet file yields its parts as row ranges
    instead of its records."""
    if isinstance(files, str):
        yield from _read_hf(files, hf_split)
        return
    root = _common_root(files)
    for f in files:
        name = str(f.relative_to(root)) if root else f.name
        lower = f.name.lower()
        if lower.endswith(".parquet"):
            yield from cut_parquet(f, name) if cut_parquet else _read_parquet(f, name)
        elif lower.endswith((".csv", ".csv.gz")):
            yield from _read_csv(f, name)
        else:
            yield from _read_jsonl(f, name)


def _common_root(files: list[Path]) -> Path | None:
    if len(files) == 1:
        return files[0].parent
    try:
        return Path(os.path.commonpath([str(f.resolve().parent) for f in files]))
    except ValueError:
        return None


def _open_binary(path: Path) -> io.BufferedIOBase:
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic[:2] == b"\x1f\x8b":
        return gzip.open(path, "rb")
    if magic == b"\x28\xb5\x2f\xfd":
        import zstandard

        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True))
    return open(path, "rb")


def _read_jsonl(path: Path, name: str) -> Iterator[Item | RawLine]:
    """Raw lines of a JSONL file; ``parse_line`` turns them into records (in the workers, in parallel)."""
    line_no = 0
    try:
        with _open_binary(path) as fh:
            for line_no, raw in enumerate(fh, start=1):
                if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                raw = raw.rstrip(b"\r\n")
                if raw.strip():
                    yield RawLine(raw, name, line_no)
    except (EOFError, OSError, ValueError) as exc:
        # Truncated gzip/zstd stream or unreadable file: the records read so far stand.
        yield Bad(f"unreadable_file:{name} after line {line_no}: {type(exc).__name__}: {exc}", name, line_no + 1)


def parse_line(item: RawLine) -> Item:
    name, line_no, raw = item.file, item.line, item.raw
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Bad(f"invalid_utf8:{name} line {line_no}: byte {exc.start} is not UTF-8; re-encode the "
                   "file as UTF-8", name, line_no, raw.decode("utf-8", "backslashreplace"))
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        return Bad(f"invalid_json:{name} line {line_no}, column {exc.colno}: {exc.msg}", name, line_no, line)
    if not isinstance(data, dict):
        return Bad(f"not_an_object:{name} line {line_no}: a JSON {type(data).__name__} where a JSON "
                   "object {...} was expected", name, line_no, line)
    return Record(data, name, line_no)


def _read_parquet(path: Path, name: str) -> Iterator[Item]:
    row = 0
    try:
        pf = pq.ParquetFile(path)
        for batch in pf.iter_batches(batch_size=4096):
            for data in batch.to_pylist():
                row += 1
                yield Record(data, name, row)
    except (OSError, pa.ArrowException) as exc:
        yield Bad(f"unreadable_file:{name} after row {row}: {exc}; the Parquet file is damaged or truncated",
                  name, row + 1)


def _unreadable_parquet(name: str, row: int, exc: Exception) -> Bad:
    return Bad(f"unreadable_file:{name} after row {row}: {exc}; the Parquet file is damaged or truncated",
               name, row + 1)


def parquet_parts(path: Path, name: str, *, text_field: str, batch_size: int,
                  batch_bytes: int) -> Iterator[ParquetRows | Bad]:
    """Cut a Parquet file into row ranges of at most ``batch_size`` rows and about ``batch_bytes`` of text,
    from its metadata only (the text column's size in each row group, spread evenly over its rows). A file
    whose metadata cannot be read is one ``Bad``."""
    try:
        meta = pq.read_metadata(path)
    except (OSError, pa.ArrowException) as exc:
        yield _unreadable_parquet(name, 0, exc)
        return
    column = next((i for i in range(meta.num_columns) if meta.schema.column(i).path == text_field), None)
    start, row, size = 0, 0, 0.0
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        if not group.num_rows:
            continue
        text_bytes = group.column(column).total_uncompressed_size if column is not None else 256 * group.num_rows
        per_row = max(1.0, text_bytes / group.num_rows)
        end = row + group.num_rows
        while row < end:
            take = min(end - row, batch_size - (row - start), math.ceil((batch_bytes - size) / per_row))
            row, size = row + take, size + take * per_row
            if row - start >= batch_size or size >= batch_bytes:
                yield ParquetRows(str(path), name, start, row)
                start, size = row, 0.0
    if row > start:
        yield ParquetRows(str(path), name, start, row)


def read_parquet_rows(part: ParquetRows, text_field: str) -> tuple[pa.Table, list[Bad]]:
    """Read a part's rows (only the row groups that hold them) and validate them as ``validate`` does: rows
    whose text is missing, null or not a string become ``Bad``; a row without ``id`` gets its ``stable_id``.
    A read error keeps the rows read so far and adds one ``Bad`` naming the row it stopped after."""
    batches: list[pa.RecordBatch] = []
    got, failure = 0, None
    try:
        pf = pq.ParquetFile(part.path)
        schema = pf.schema_arrow
        row = 0  # of the file, at the start of each row group and batch
        for g in range(pf.metadata.num_row_groups):
            end = row + pf.metadata.row_group(g).num_rows
            if end <= part.start:
                row = end
                continue
            # small batches: the rows before part.start are decoded and dropped as they come
            for batch in pf.iter_batches(batch_size=1024, row_groups=[g]):
                lo, hi = max(part.start - row, 0), min(part.stop - row, batch.num_rows)
                if hi > lo:
                    batches.append(batch.slice(lo, hi - lo))
                    got += hi - lo
                row += batch.num_rows
                if row >= part.stop:
                    break
            row = end
            if row >= part.stop:
                break
    except (OSError, pa.ArrowException) as exc:
        failure = _unreadable_parquet(part.file, part.start + got, exc)
        if not batches:
            return pa.table({}), [failure]
        schema = batches[0].schema
    table = pa.Table.from_batches(batches, schema=schema).replace_schema_metadata(None)
    table, bads = _checked_table(table, part.file, part.start, text_field)
    return table, bads + ([failure] if failure else [])


def _checked_table(table: pa.Table, file: str, start: int, text_field: str) -> tuple[pa.Table, list[Bad]]:
    """``validate`` for the rows of a table read from ``file`` from row ``start`` (0-based) on."""
    text = table.column(text_field) if text_field in table.column_names else None
    if text is not None and (pa.types.is_dictionary(text.type) or pa.types.is_string_view(text.type)):
        # categorical or view text: the plain strings the steps read
        text = text.cast(text.type.value_type if pa.types.is_dictionary(text.type) else pa.string())
        table = table.set_column(table.column_names.index(text_field), text_field, text)
    if text is not None and (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
        bad = text.is_null().to_pylist()
    else:
        bad = [True] * table.num_rows
    bads = []
    if any(bad):
        rows = [i for i, b in enumerate(bad) if b]
        for i, data in zip(rows, table.take(rows).to_pylist(), strict=True):
            bads.append(_text_problem(Record(data, file, start + i + 1), text_field))
        table = table.filter(pa.array([not b for b in bad], pa.bool_()))
    if table.num_rows:
        lines = [start + i + 1 for i, b in enumerate(bad) if not b]
        table = _with_ids(table, file, lines, text_field)
    return table, bads


def _with_ids(table: pa.Table, file: str, lines: list[int], text_field: str) -> pa.Table:
    """Fill a missing or null ``id`` with the ``stable_id`` of file, line and text, as ``validate`` does."""
    has_id = "id" in table.column_names
    if has_id and not table.column("id").null_count:
        return table
    ids = table.column("id").to_pylist() if has_id else [None] * table.num_rows
    filled = [stable_id(file, line, {text_field: text}, text_field) if v is None else v
              for v, line, text in zip(ids, lines, table.column(text_field).to_pylist(), strict=True)]
    if not has_id:
        return table.append_column("id", pa.array(filled, pa.string()))
    return table.set_column(table.column_names.index("id"), "id", to_table([{"id": v} for v in filled]).column(0))


def _read_csv(path: Path, name: str) -> Iterator[Item]:
    with _open_binary(path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline="")
        reader = csv.DictReader(text)
        row = 0
        try:
            for data in reader:
                row += 1
                if None in data:
                    yield Bad(f"csv_extra_fields:{name} line {reader.line_num}: more fields than the header has",
                              name, reader.line_num, json.dumps(data.pop(None), ensure_ascii=False))
                    continue
                yield Record(dict(data), name, reader.line_num)
        except (UnicodeDecodeError, csv.Error) as exc:
            yield Bad(f"unreadable_file:{name} line {reader.line_num + 1}: {exc}", name, reader.line_num + 1)


def _read_hf(name: str, split: str) -> Iterator[Item]:
    import datasets

    try:
        ds = datasets.load_dataset(name, split=split, streaming=True)
    except Exception as exc:  # datasets raises many types; the message is what the user needs
        raise InputError(f"input.path 'hf:{name}': cannot load the dataset ({type(exc).__name__}: {exc})") from exc
    for row, data in enumerate(ds, start=1):
        yield Record(dict(data), f"hf:{name}", row)


# -- records -> validated records ------------------------------------------------------------------
def validate(items: Iterable[Item | RawLine], *, text_field: str, fmt: str = "text",
             oasst_paths: str = "top") -> Iterator[Item]:
    """Parse raw lines, check the text field (plain text) or convert instruction formats; assign stable ids."""
    items = (parse_line(i) if isinstance(i, RawLine) else i for i in items)
    if fmt != "text":
        items = _convert_format(items, fmt, oasst_paths)
    for item in items:
        if isinstance(item, Bad):
            yield item
            continue
        data = item.data
        if fmt == "text":
            bad = _text_problem(item, text_field)
            if bad:
                yield bad
                continue
        if data.get("id") is None:
            data["id"] = stable_id(item.file, item.line, data, text_field)
        yield item


def _text_problem(item: Record, text_field: str) -> Bad | None:
    """A ``Bad`` when the record's text field is missing, null or not a string."""
    data, text = item.data, item.data.get(text_field)
    if text_field not in data:
        problem = f"missing_text_field:{item.file} line {item.line}: no field {text_field!r}"
    elif text is None:
        problem = f"null_text:{item.file} line {item.line}: field {text_field!r} is null"
    elif not isinstance(text, str):
        problem = (f"non_string_text:{item.file} line {item.line}: field {text_field!r} is a "
                   f"{type(text).__name__}, expected a string")
    else:
        return None
    return Bad(problem + " (set input.text_field to the field that holds the text)", item.file, item.line,
               json.dumps(data, ensure_ascii=False, default=str))


def stable_id(file: str, line: int, data: dict[str, Any], text_field: str) -> str:
    content = data.get(text_field)
    if not isinstance(content, str):
        content = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    key = f"{file}\x00{line}\x00{content}".encode("utf-8", "surrogatepass")
    return hashlib.blake2b(key, digest_size=8).hexdigest()


def _convert_format(items: Iterable[Item], fmt: str, oasst_paths: str = "top") -> Iterator[Item]:
    from instructkit import formats

    items = iter(items)
    if fmt == "auto":
        head: list[Item] = []
        for item in items:
            head.append(item)
            if len(head) >= 100:
                break
        fmt = formats.detect_format([i.data for i in head if isinstance(i, Record)])
        items = _chain(head, items)
    good: list[Record] = []

    def records() -> Iterator[dict[str, Any]]:
        for item in items:
            if isinstance(item, Bad):
                bad.append(item)
                continue
            good.append(item)
            yield item.data

    bad: list[Bad] = []
    last = Record({}, "", 0)
    for out in formats.convert_stream(records(), fmt, oasst_paths=oasst_paths):
        yield from bad
        bad.clear()
        src = good[-1] if good else last
        last = src
        if len(good) > 1:
            del good[:-1]
        if isinstance(out, Exception):
            yield Bad(f"bad_{fmt}_record:{src.file} line {src.line}: {out}", src.file, src.line,
                      json.dumps(src.data, ensure_ascii=False, default=str))
        else:
            yield Record(out, src.file, src.line)
    yield from bad


def _chain(head: list[Item], rest: Iterator[Item]) -> Iterator[Item]:
    yield from head
    yield from rest


def read_tables(path: str, *, text_field: str = "text", fmt: str = "text", batch_size: int = 10_000,
                base: Path | None = None) -> Iterator[pa.Table]:
    """Good records of any supported source as ``pyarrow.Table`` batches (bad ones are skipped).

    For reference data (cross-dataset dedup, decontamination); the curate run itself quarantines bad records.
    """
    batch: list[dict[str, Any]] = []
    for item in validate(iter_items(resolve_input(path, base)), text_field=text_field, fmt=fmt):
        if isinstance(item, Record):
            batch.append(item.data)
            if len(batch) >= batch_size:
                yield to_table(batch)
                batch = []
    if batch:
        yield to_table(batch)


def to_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows to a table; a field whose values mix types becomes JSON text rather than failing the batch."""
    try:
        return pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        pass
    names: dict[str, None] = {}
    for r in rows:
        names.update(dict.fromkeys(r))
    columns = {}
    for name in names:
        values = [r.get(name) for r in rows]
        try:
            columns[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
            columns[name] = pa.array(
                [None if v is None else v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
                 for v in values], pa.string())
    return pa.table(columns)


def estimate_size(files: list[Path] | str) -> tuple[int, int | None]:
    """Uncompressed bytes and record count of the input, estimated cheaply (for ``--plan``)."""
    if isinstance(files, str):
        return 0, None
    total_bytes, total_records = 0, 0
    for f in files:
        lower = f.name.lower()
        if lower.endswith(".parquet"):
            try:
                meta = pq.read_metadata(f)
            except (OSError, pa.ArrowException):
                continue
            total_records += meta.num_rows
            total_bytes += sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
            continue
        size = f.stat().st_size
        with open(f, "rb") as fh:
            magic = fh.read(4)
            if magic[:2] == b"\x1f\x8b" and size >= 4:  # gzip keeps the uncompressed size (mod 4 GiB) at its end
                fh.seek(-4, os.SEEK_END)
                isize = int.from_bytes(fh.read(4), "little")
                size = max(isize, size) if isize else size * 4
            elif magic == b"\x28\xb5\x2f\xfd":
                size *= 4
        with _open_binary(f) as fh:
            head = fh.read(1 << 20)
        lines = max(1, head.count(b"\n"))
        total_bytes += size
        total_records += int(size / (len(head) / lines)) if head else 0
    return total_bytes, total_records
