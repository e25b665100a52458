"""Bad input loses nothing: good records are kept, bad ones land in rejected/ with file, line and reason."""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard
from conftest import run_cli, write_recipe

from instructkit import Pipeline
from instructkit.steps import Clean


def run(tmp_path, input_path, **kw):
    result = Pipeline([Clean()], **kw).run(input=str(input_path), output=tmp_path / "out", workers=1)
    kept = pq.read_table(tmp_path / "out" / "data").to_pylist() if result.stats["output"]["data"] else []
    rejected = pq.read_table(tmp_path / "out" / "rejected").to_pylist() if result.stats["output"]["rejected"] else []
    return result, kept, rejected


def lines_of(records):
    return [json.dumps({"id": r["id"], "text": r["text"]}, ensure_ascii=False).encode() for r in records]


def test_malformed_jsonl_lines_are_quarantined(tmp_path, english, chinese):
    good = lines_of(english[:3] + chinese[:3])
    bad = [
        good[0][: len(good[0]) // 2],                      # truncated line
        b'["a", "list"]',                                  # not an object
        '{"text": "caf\u00e9"}'.encode("latin-1"),          # invalid UTF-8
        b'{"id": "x1", "body": "no text field"}',          # missing text field
        b'{"id": "x2", "text": null}',                     # null text
        b'{"id": "x3", "text": 42}',                       # non-string text
    ]
    (tmp_path / "in.jsonl").write_bytes(b"\n".join(good[:3] + bad + good[3:]) + b"\n")
    result, kept, rejected = run(tmp_path, tmp_path / "in.jsonl")
    assert [r["id"] for r in kept] == [r["id"] for r in english[:3] + chinese[:3]]
    reasons = [(r["drop_step"], r["drop_reason"].split(":")[0], r["source_line"]) for r in rejected]
    assert reasons == [
        ("read", "invalid_json", 4), ("read", "not_an_object", 5), ("read", "invalid_utf8", 6),
        ("read", "missing_text_field", 7), ("read", "null_text", 8), ("read", "non_string_text", 9),
    ]
    assert all("in.jsonl line" in r["drop_reason"] for r in rejected)
    assert rejected[0]["raw"] == good[0][: len(good[0]) // 2].decode()
    assert result.stats["read"] == {"records_read": 6, "records_unreadable": 6}


def test_bom_crlf_and_blank_lines(tmp_path, chinese):
    body = b"\r\n".join(lines_of(chinese[:4])) + b"\r\n\r\n"
    (tmp_path / "in.jsonl").write_bytes(b"\xef\xbb\xbf" + body)
    result, kept, rejected = run(tmp_path, tmp_path / "in.jsonl")
    assert len(kept) == 4 and not rejected
    assert kept[0]["id"] == chinese[0]["id"]


def test_empty_file_and_directory_of_formats(tmp_path, english, chinese):
    d = tmp_path / "in"
    d.mkdir()
    (d / "a_empty.jsonl").write_bytes(b"")
    with gzip.open(d / "b.jsonl.gz", "wb") as fh:
        fh.write(b"\n".join(lines_of(english[:5])) + b"\n")
    (d / "c.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(b"\n".join(lines_of(chinese[:5])) + b"\n"))
    pq.write_table(pa.Table.from_pylist([{"id": r["id"], "text": r["text"]} for r in english[5:8]]), d / "d.parquet")
    with open(d / "e.csv", "w", encoding="utf-8", newline="") as fh:
        import csv

        w = csv.DictWriter(fh, ["id", "text"])
        w.writeheader()
        for r in chinese[5:8]:
            w.writerow({"id": r["id"], "text": r["text"]})
    result, kept, rejected = run(tmp_path, d)
    expected = english[:5] + chinese[:5] + english[5:8] + chinese[5:8]
    assert [r["id"] for r in kept] == [r["id"] for r in expected]
    assert not rejected


def test_truncated_parquet_and_gzip_keep_the_good_files(tmp_path, english, chinese):
    d = tmp_path / "in"
    d.mkdir()
    pq.write_table(pa.Table.from_pylist([{"id": r["id"], "text": r["text"]} for r in english[:20]]), d / "a.parquet")
    data = (d / "a.parquet").read_bytes()
    (d / "a.parquet").write_bytes(data[: len(data) // 2])
    blob = gzip.compress(b"\n".join(lines_of(chinese[:50])) + b"\n")
    (d / "b.jsonl.gz").write_bytes(blob[: int(len(blob) * 0.6)])
    (d / "c.jsonl").write_bytes(b"\n".join(lines_of(english[20:25])) + b"\n")
    result, kept, rejected = run(tmp_path, d)
    ids = [r["id"] for r in kept]
    assert ids[-5:] == [r["id"] for r in english[20:25]]
    from_gzip = ids[:-5]
    assert 0 < len(from_gzip) < 50 and from_gzip == [r["id"] for r in chinese[: len(from_gzip)]]
    reasons = {r["source_file"]: r["drop_reason"] for r in rejected}
    assert reasons["a.parquet"].startswith("unreadable_file:a.parquet after row 0")
    assert reasons["b.jsonl.gz"].startswith(f"unreadable_file:b.jsonl.gz after line {len(from_gzip)}")


def test_ids_are_stable_and_kept(tmp_path, english):
    rows = [{"text": r["text"]} for r in english[:5]] + [{"id": "mine", "text": english[5]["text"]}]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _, kept1, _ = run(tmp_path / "a", path)
    _, kept2, _ = run(tmp_path / "b", path)
    assert [r["id"] for r in kept1] == [r["id"] for r in kept2]
    assert kept1[-1]["id"] == "mine" and len({r["id"] for r in kept1}) == 6


def test_strict_stops_at_first_bad_record_with_one_line(tmp_path, english):
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\n".join(lines_of(english[:3]) + [b'{"text": 1}']) + b"\n")
    recipe = write_recipe(tmp_path / "r.yaml", "input: {path: in.jsonl}\nsteps: [clean: {}]\noutput: {path: out}\n")
    proc = run_cli("curate", str(recipe), "--strict", "--workers", "1", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("error: in.jsonl line 4: field 'text' is a int")
    assert not (tmp_path / "out").exists()


def test_hf_source_goes_through_load_dataset(tmp_path, chinese):
    # `hf:NAME` calls datasets.load_dataset(NAME); a local dataset folder exercises the same path offline.
    folder = tmp_path / "zh-fortunes"
    folder.mkdir()
    pq.write_table(pa.Table.from_pylist([{"id": r["id"], "text": r["text"]} for r in chinese[:40]]),
                   folder / "train-00000-of-00001.parquet")
    result, kept, rejected = run(tmp_path, f"hf:{folder}")
    assert [r["id"] for r in kept] == [r["id"] for r in chinese[:40]]
    assert result.stats["inputs"] == [{"hf_dataset": str(folder)}]
