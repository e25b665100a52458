"""Parquet input is read by the workers, part by part (row ranges), keeping the file's column types."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import run_cli, write_recipe
from test_run import tree_bytes

import instructkit.pipeline
from instructkit import Pipeline
from instructkit.io.readers import iter_items, parquet_parts, stable_id, validate
from instructkit.steps import Clean, ExactDedup

SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string()), ("lang", pa.string()), ("n", pa.int32()),
                    ("tags", pa.list_(pa.string())), ("score", pa.float32())])


def write_sample(path, records, *, row_group_size=64):
    """The records with an int32 row number, a list column and a float32; every 7th id and 97th text null."""
    rows = [{"id": None if i % 7 == 3 else r["id"], "text": None if i % 97 == 50 else r["text"], "lang": r["lang"],
             "n": i, "tags": [r["lang"], r["source"]], "score": len(r["text"]) / 100} for i, r in enumerate(records)]
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), path, row_group_size=row_group_size)
    return rows


def run(tmp_path, input_path, out="out", workers=1, batch_size=100, **kw):
    raw = {"input": {"path": str(input_path)}, "steps": [{"clean": {}}], "executor": {"batch_size": batch_size, **kw}}
    result = Pipeline.from_recipe(raw).run(output=tmp_path / out, workers=workers)
    return result, pq.read_table(tmp_path / out / "data"), pq.read_table(tmp_path / out / "rejected")


def test_types_ids_and_bad_rows(tmp_path, quickstart_records):
    records = quickstart_records[:700]
    rows = write_sample(tmp_path / "in.parquet", records)
    result, kept, rejected = run(tmp_path, tmp_path / "in.parquet")
    for name in ("n", "tags", "score"):
        assert kept.schema.field(name).type == SCHEMA.field(name).type
    good = [(i, r) for i, r in enumerate(rows) if r["text"] is not None]
    assert kept.column("n").to_pylist() == [i for i, _ in good]
    assert kept.column("tags").to_pylist() == [r["tags"] for _, r in good]
    # ids kept when present, else derived from file, row and text as for every other input
    assert kept.column("id").to_pylist() == [r["id"] or stable_id("in.parquet", i + 1, r, "text") for i, r in good]
    old_reader = [i.data["id"] for i in validate(iter_items([tmp_path / "in.parquet"]), text_field="text")
                  if not hasattr(i, "reason")]
    assert kept.column("id").to_pylist() == old_reader
    bad = [i for i, r in enumerate(rows) if r["text"] is None]
    assert rejected.column("source_line").to_pylist() == [i + 1 for i in bad]
    assert rejected.column("drop_reason").to_pylist() == [
        f"null_text:in.parquet line {i + 1}: field 'text' is null (set input.text_field to the field that holds "
        "the text)" for i in bad]
    assert set(rejected.column("drop_step").to_pylist()) == {"read"}
    assert result.stats["read"] == {"records_read": len(good), "records_unreadable": len(bad)}


def test_missing_and_non_string_text_columns(tmp_path, english):
    d = tmp_path / "in"
    d.mkdir()
    pq.write_table(pa.table({"id": [r["id"] for r in english[:3]], "body": [r["text"] for r in english[:3]]}),
                   d / "a.parquet")
    pq.write_table(pa.table({"text": pa.array([1, 2], pa.int32())}), d / "b.parquet")
    pq.write_table(pa.table({"id": [r["id"] for r in english[3:6]], "text": [r["text"] for r in english[3:6]]}),
                   d / "c.parquet")
    _, kept, rejected = run(tmp_path, d)
    assert kept.column("id").to_pylist() == [r["id"] for r in english[3:6]]
    reasons = [r.split(" (set")[0] for r in rejected.column("drop_reason").to_pylist()]
    assert reasons == [f"missing_text_field:a.parquet line {n}: no field 'text'" for n in (1, 2, 3)] + [
        f"non_string_text:b.parquet line {n}: field 'text' is a int, expected a string" for n in (1, 2)]
    assert rejected.column("source_file").to_pylist() == ["a.parquet"] * 3 + ["b.parquet"] * 2
    assert json.loads(rejected.column("raw")[0].as_py()) == {"id": english[0]["id"], "body": english[0]["text"]}


def test_parts_follow_the_row_groups_and_the_byte_budget(tmp_path, quickstart_records):
    write_sample(tmp_path / "in.parquet", quickstart_records[:1000], row_group_size=300)
    parts = list(parquet_parts(tmp_path / "in.parquet", "in.parquet", text_field="text", batch_size=128,
                               batch_bytes=1 << 30))
    assert [(p.start, p.stop) for p in parts] == [(s, min(s + 128, 1000)) for s in range(0, 1000, 128)]
    text_bytes = sum(pq.read_metadata(tmp_path / "in.parquet").row_group(g).column(1).total_uncompressed_size
                     for g in range(4))
    parts = list(parquet_parts(tmp_path / "in.parquet", "in.parquet", text_field="text", batch_size=10_000,
                               batch_bytes=text_bytes // 5))
    assert len(parts) in (5, 6) and parts[0].start == 0 and parts[-1].stop == 1000
    assert all(a.stop == b.start for a, b in zip(parts, parts[1:], strict=False))


def test_same_bytes_whatever_the_workers_and_on_resume(tmp_path, quickstart_records, monkeypatch):
    path = tmp_path / "in.parquet"
    write_sample(path, quickstart_records[:1200] + quickstart_records[:300], row_group_size=200)
    raw = {"input": {"path": str(path)}, "steps": [{"clean": {}}, {"exact_dedup": {}}],
           "executor": {"batch_size": 150, "batch_bytes": 100_000}}
    Pipeline.from_recipe(raw).run(output=tmp_path / "a", workers=1)
    Pipeline.from_recipe(raw).run(output=tmp_path / "b", workers=2)
    a = tree_bytes(tmp_path / "a", "data", "rejected")
    assert a and a == tree_bytes(tmp_path / "b", "data", "rejected")
    dups = pq.read_table(tmp_path / "a" / "rejected").filter(pa.compute.field("drop_step") == "exact_dedup")
    assert dups.num_rows >= 250

    # Interrupt a run after three parts, then resume: the finished parts are not read again.
    real, starts = instructkit.pipeline.read_parquet_rows, []

    def failing(part, text_field):
        if len(starts) == 3:
            raise KeyboardInterrupt
        starts.append(part.start)
        return real(part, text_field)

    monkeypatch.setattr(instructkit.pipeline, "read_parquet_rows", failing)
    with pytest.raises(KeyboardInterrupt):
        Pipeline.from_recipe(raw).run(output=tmp_path / "c", workers=1)
    assert len(list((tmp_path / "c.partial" / "s0").glob("*.done.json"))) == 3
    done, starts[:] = list(starts), []
    monkeypatch.setattr(instructkit.pipeline, "read_parquet_rows",
                        lambda part, text_field: starts.append(part.start) or real(part, text_field))
    Pipeline.from_recipe(raw).run(output=tmp_path / "c", workers=1, resume=True)
    assert starts and not set(starts) & set(done)
    assert tree_bytes(tmp_path / "c", "data", "rejected") == a


def test_strict_stops_at_the_first_null_text_in_parquet(tmp_path, english):
    pq.write_table(pa.table({"text": [r["text"] for r in english[:3]] + [None, english[3]["text"]]}),
                   tmp_path / "in.parquet", row_group_size=2)
    recipe = write_recipe(tmp_path / "r.yaml", "input: {path: in.parquet}\nsteps: [clean: {}]\noutput: {path: out}\n")
    proc = run_cli("curate", str(recipe), "--strict", "--workers", "2", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("error: in.parquet line 4: field 'text' is null")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind", ["dictionary", "string_view"])
def test_dictionary_and_view_text_columns_are_text(tmp_path, chinese, kind):
    texts = pa.array([r["text"] for r in chinese[:10]])
    texts = texts.dictionary_encode() if kind == "dictionary" else texts.cast(pa.string_view())
    pq.write_table(pa.table({"text": texts}), tmp_path / "in.parquet")
    _, kept, rejected = run(tmp_path, tmp_path / "in.parquet")
    assert rejected.num_rows == 0 and kept.num_rows == 10 and kept.schema.field("text").type == pa.string()


def test_clean_and_dedup_as_in_python(tmp_path, english):
    # the Python API reads Parquet the same way
    pq.write_table(pa.table({"text": [r["text"] for r in english[:20]] * 2}), tmp_path / "in.parquet")
    result = Pipeline([Clean(), ExactDedup()]).run(input=str(tmp_path / "in.parquet"), output=tmp_path / "o",
                                                   workers=2)
    assert result.kept == 20 and result.stats["totals"]["dropped_by_step"] == {"exact_dedup": 20}


def test_a_damaged_row_group_keeps_the_rows_before_it(tmp_path, english):
    pq.write_table(pa.table({"id": [r["id"] for r in english[:300]], "text": [r["text"] for r in english[:300]]}),
                   tmp_path / "in.parquet", row_group_size=100)
    chunk = pq.read_metadata(tmp_path / "in.parquet").row_group(1).column(1)
    offset = chunk.dictionary_page_offset or chunk.data_page_offset
    data = bytearray((tmp_path / "in.parquet").read_bytes())
    data[offset:offset + 16] = b"\xff" * 16  # the page header of the second row group's text
    (tmp_path / "in.parquet").write_bytes(bytes(data))
    result, kept, rejected = run(tmp_path, tmp_path / "in.parquet", batch_size=150)
    assert kept.column("id").to_pylist() == [r["id"] for r in english[:100]]
    reasons = rejected.column("drop_reason").to_pylist()
    assert [r.split(":")[0] for r in reasons] == ["unreadable_file"] * 2
    assert reasons[0].startswith("unreadable_file:in.parquet after row 100: ")
    assert reasons[0].endswith("; the Parquet file is damaged or truncated")
    assert rejected.column("source_line").to_pylist() == [101, 151]
