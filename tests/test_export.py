"""`instructkit export`: a curated output back to the open instruction formats, on real chatterbot conversations."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from instructkit import formats
from instructkit.cli import cli
from instructkit.export import export_output
from instructkit.pipeline import Pipeline
from instructkit.steps import Clean

DATA = Path(__file__).parent / "data" / "instructions"


def read_jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@pytest.fixture(scope="module")
def curated(tmp_path_factory) -> Path:
    """The chatterbot conversations (English and Chinese, 2-10 turns) as ShareGPT, curated with `clean`."""
    root = tmp_path_factory.mktemp("export")
    rows = []
    for c in read_jsonl(DATA / "chatterbot.jsonl"):
        turns = c["turns"][: len(c["turns"]) // 2 * 2]
        rows.append({"id": c["id"], "lang": c["lang"],
                     "conversations": [{"from": "human" if i % 2 == 0 else "gpt", "value": t}
                                       for i, t in enumerate(turns)]})
    src = root / "sharegpt.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    out = root / "out"
    Pipeline([Clean()], format="sharegpt").run(input=src, output=out, workers=1)
    return out


def kept(out: Path) -> list[dict]:
    return [r for f in sorted((out / "data").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]


def test_sharegpt_export_gives_back_the_curated_conversations(curated):
    result = export_output(curated, "sharegpt")
    assert result.path == curated / "export" / "sharegpt.jsonl" and result.unexportable == 0
    exported = read_jsonl(result.path)
    records = kept(curated)
    assert len(exported) == len(records) == result.written > 100
    for rec, line in zip(records, exported, strict=True):
        assert line["id"] == rec["id"]
        assert formats.convert(line, "sharegpt")["messages"] == rec["messages"]
    assert any("你" in t["value"] for line in exported for t in line["conversations"])


def test_a_format_that_cannot_express_a_record_reports_it_and_writes_the_rest(curated, tmp_path):
    records = kept(curated)
    multi = {r["id"] for r in records if len(r["messages"]) > 2}
    assert multi and len(multi) < len(records)
    result = export_output(curated, "dolly", tmp_path / "dolly.jsonl")
    assert result.written == len(records) - len(multi) and result.unexportable == len(multi)
    bad = read_jsonl(tmp_path / "dolly.unexportable.jsonl")
    assert {b["id"] for b in bad} == multi
    assert all(b["reason"].startswith("dolly holds one exchange; this record has ") for b in bad)
    dolly = read_jsonl(tmp_path / "dolly.jsonl")
    assert {d["id"] for d in dolly}.isdisjoint(multi)
    assert all(set(d) >= {"instruction", "context", "response"} for d in dolly)


def test_cli_gzip_export_is_byte_identical_across_runs(curated, tmp_path):
    runner = CliRunner()
    for name in ("a.jsonl.gz", "b.jsonl.gz"):
        res = runner.invoke(cli, ["export", str(curated), "--format", "alpaca", "--to", str(tmp_path / name)])
        assert res.exit_code == 0, res.output
        assert "wrote" in res.output
    assert (tmp_path / "a.jsonl.gz").read_bytes() == (tmp_path / "b.jsonl.gz").read_bytes()
    alpaca = read_jsonl(tmp_path / "a.jsonl.gz")
    assert len(alpaca) == len(kept(curated))
    assert any("history" in a for a in alpaca)  # multi-turn conversations keep their earlier exchanges


def test_export_of_plain_text_output_is_a_usage_error(tmp_path, english):
    src = tmp_path / "t.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in english[:20]), encoding="utf-8")
    Pipeline([Clean()]).run(input=src, output=tmp_path / "out", workers=1)
    res = CliRunner().invoke(cli, ["export", str(tmp_path / "out"), "--format", "alpaca"])
    assert res.exit_code == 2
    assert "no 'messages' column" in res.output
    assert not (tmp_path / "out" / "export" / "alpaca.jsonl").exists()
