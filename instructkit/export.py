"""Export a curated output directory to an instruction format as JSONL (Alpaca, ShareGPT, messages, Dolly, OASST).

```bash
instructkit export out/instructions --format sharegpt            # -> out/instructions/export/sharegpt.jsonl
instructkit export out/instructions --format alpaca --to alpaca.jsonl.gz
```

Records stream from ``data/`` (or ``rejected/``) shard by shard, in order. A record the format cannot express
(a multi-turn conversation in Dolly, a system turn in OASST, ...) is not written and not mangled: its id and
the reason go to ``FILE.unexportable.jsonl`` beside the export. Both files appear atomically, complete or not
at all.
"""

from __future__ import annotations

import gzip
import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pyarrow.parquet as pq

from instructkit.errors import RecipeError
from instructkit.formats import FORMATS, export_stream

__all__ = ["ExportResult", "default_path", "export_output"]

_BATCH = 2048


@dataclass(frozen=True)
class ExportResult:
    path: Path
    written: int
    unexportable: int
    unexportable_path: Path | None

    def __str__(self) -> str:
        msg = f"wrote {self.written:,} records to {self.path}"
        if self.unexportable:
            msg += f"; {self.unexportable:,} could not be expressed in this format (see {self.unexportable_path})"
        return msg


def default_path(output: Path, fmt: str, split: str = "data") -> Path:
    name = fmt if split == "data" else f"{fmt}.rejected"
    return output / "export" / f"{name}.jsonl"


def export_output(output: str | Path, fmt: str, to: str | Path | None = None, *,
                  split: str = "data") -> ExportResult:
    """Write the records of a finished output directory (``split``: ``data`` or ``rejected``) in ``fmt``."""
    output = Path(output)
    if fmt not in FORMATS:
        raise RecipeError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if split not in ("data", "rejected"):
        raise RecipeError(f"split {split!r}: expected data or rejected")
    if not (output / "stats.json").is_file():
        raise RecipeError(f"{output} has no stats.json: not a finished instructkit output directory")
    shards = sorted((output / split).glob("*.parquet"))
    columns = set()
    for shard in shards:
        columns.update(pq.read_schema(shard).names)
    if shards and "messages" not in columns:
        raise RecipeError(f"{output / split} has no 'messages' column: export needs instruction data "
                          "(curate it with input.format: alpaca, sharegpt, messages, dolly, oasst or auto)")
    path = Path(to) if to is not None else default_path(output, fmt, split)
    path.parent.mkdir(parents=True, exist_ok=True)
    bad_path = path.with_name(_stem(path) + ".unexportable.jsonl")
    tmp, bad_tmp = path.with_name(path.name + ".tmp"), bad_path.with_name(bad_path.name + ".tmp")
    written = failed = 0
    try:
        with _open(tmp) as out, open(bad_tmp, "w", encoding="utf-8") as bad:
            for shard in shards:
                for batch in pq.ParquetFile(shard).iter_batches(batch_size=_BATCH):
                    records = batch.to_pylist()
                    for n, result in enumerate(export_stream(records, fmt)):
                        if isinstance(result, ValueError):
                            bad.write(_line({"id": records[n].get("id"), "reason": str(result)}))
                            failed += 1
                        else:
                            out.write(_line(result))
                            written += 1
        os.replace(tmp, path)
        if failed:
            os.replace(bad_tmp, bad_path)
        else:
            bad_tmp.unlink()
            bad_path.unlink(missing_ok=True)
    finally:
        tmp.unlink(missing_ok=True)
        bad_tmp.unlink(missing_ok=True)
    return ExportResult(path, written, failed, bad_path if failed else None)


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".jsonl", ".json"):
        name = name.removesuffix(suffix)
    return name


@contextmanager
def _open(path: Path) -> Iterator[IO[str]]:
    if not path.name.endswith(".gz.tmp"):
        with open(path, "w", encoding="utf-8") as fh:
            yield fh
        return
    # mtime=0 and no file name in the header: the same records give the same bytes
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz, \
            io.TextIOWrapper(gz, encoding="utf-8") as fh:
        yield fh


def _line(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str) + "\n"
