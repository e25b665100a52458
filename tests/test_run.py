"""End-to-end runs: why records were dropped, determinism, crash safety and resume, the output contract."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import REPO, run_cli, write_jsonl, write_recipe

from instructkit import Pipeline
from instructkit.errors import RecipeError
from instructkit.steps import Clean, ExactDedup


def tree_bytes(root: Path, *folders: str) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for f in folders for p in sorted((root / f).rglob("*"))
            if p.is_file()}


def test_exact_dedup_names_the_record_it_duplicates(tmp_path, english, chinese):
    # Real fortunes, then the same fortunes re-typed with other spacing, punctuation width and case.
    originals = english[:30] + chinese[:30]
    copies = [{"id": f"copy-{r['id']}", "text": r["text"].upper().replace(" ", "  ")} for r in english[:5]]
    copies += [{"id": f"copy-{r['id']}", "text": r["text"].replace("，", ",").replace("。", ".")} for r in chinese[:5]
               if "，" in r["text"] or "。" in r["text"]]
    path = write_jsonl(tmp_path / "in.jsonl", originals + copies)
    result = Pipeline([Clean(), ExactDedup()]).run(input=str(path), output=tmp_path / "out", workers=1)
    rejected = pq.read_table(tmp_path / "out" / "rejected").to_pylist()
    dropped = {r["id"]: r["drop_reason"] for r in rejected if r["drop_step"] == "exact_dedup"}
    for c in copies:
        assert dropped.pop(c["id"]) == f"duplicate_of:{c['id'][len('copy-'):]}"
    assert result.stats["steps"][1]["dropped"]["duplicate_of"] == len(copies) + len(dropped)
    kept = pq.read_table(tmp_path / "out" / "data").to_pylist()
    assert not any(r["id"].startswith("copy-") for r in kept)


def test_output_contract(tmp_path, english):
    path = write_jsonl(tmp_path / "in.jsonl", [{**r, "extra": i} for i, r in enumerate(english[:50])])
    Pipeline([Clean(), ExactDedup()], name="contract").run(input=str(path), output=tmp_path / "out", workers=1)
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "data", "rejected", "stats.json"]
    assert [p.name for p in (out / "data").iterdir()] == ["train-00000-of-00001.parquet"]
    kept = pq.read_table(out / "data").to_pylist()
    assert set(kept[0]) == {"id", "text", "lang", "source", "path", "extra"}
    stats = json.loads((out / "stats.json").read_text())
    assert stats["inputs"][0]["sha256"] and stats["inputs"][0]["bytes"] == path.stat().st_size
    assert stats["recipe"]["steps"] == [{"clean": Clean().get_params()}, {"exact_dedup": ExactDedup().get_params()}]
    assert stats["recipe"]["steps"][0]["clean"]["unicode_form"] == "NFC"
    assert {"pyarrow", "python"} <= set(stats["packages"])
    assert stats["totals"]["records_kept"] == len(kept)
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and "path: data/train-*" in card and "| 2 | `exact_dedup` |" in card


def test_shards_and_rows_split(tmp_path, chinese):
    path = write_jsonl(tmp_path / "in.jsonl", chinese[:100])
    raw = {"input": {"path": str(path)}, "steps": [{"clean": {}}], "output": {"path": str(tmp_path / "out"),
           "shard_rows": 40}, "executor": {"batch_size": 30}}
    Pipeline.from_recipe(raw).run(workers=1)
    names = sorted(p.name for p in (tmp_path / "out" / "data").iterdir())
    assert names == [f"train-0000{i}-of-00003.parquet" for i in range(3)]
    assert [pq.read_metadata(tmp_path / "out" / "data" / n).num_rows for n in names] == [40, 40, 20]


def test_same_recipe_same_bytes_whatever_the_workers(tmp_path, quickstart_records):
    path = write_jsonl(tmp_path / "in.jsonl", quickstart_records[:1500] + quickstart_records[:300])
    raw = {"input": {"path": str(path)}, "steps": [{"clean": {}}, {"exact_dedup": {}}],
           "executor": {"batch_size": 250}}
    Pipeline.from_recipe(raw).run(output=tmp_path / "a", workers=1)
    Pipeline.from_recipe(raw).run(output=tmp_path / "b", workers=2)
    a, b = tree_bytes(tmp_path / "a", "data", "rejected"), tree_bytes(tmp_path / "b", "data", "rejected")
    assert a and a == b
    assert pq.read_metadata(tmp_path / "a" / "rejected" / "rejected-00000-of-00001.parquet").num_rows >= 300


def test_existing_output_is_not_replaced_silently(tmp_path, english):
    path = write_jsonl(tmp_path / "in.jsonl", english[:10])
    Pipeline([Clean()]).run(input=str(path), output=tmp_path / "out", workers=1)
    with pytest.raises(RecipeError, match="already exists; use --overwrite"):
        Pipeline([Clean()]).run(input=str(path), output=tmp_path / "out", workers=1)
    Pipeline([Clean()]).run(input=str(path), output=tmp_path / "out", workers=1, overwrite=True)


def test_kill_mid_run_then_resume_gives_identical_output(tmp_path, quickstart_records):
    records = quickstart_records * 3
    write_jsonl(tmp_path / "in.jsonl", records)
    recipe = write_recipe(tmp_path / "r.yaml", """
input: {path: in.jsonl}
steps: [{clean: {}}, {exact_dedup: {}}, {clean: {unicode_form: NFKC}}]
output: {path: out}
executor: {batch_size: 100}
""")
    run_cli("curate", str(recipe), "--output", "ref", "--workers", "1", cwd=tmp_path, check=True)

    proc = subprocess.Popen([sys.executable, "-m", "instructkit", "curate", str(recipe), "--workers", "1"],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stage0 = tmp_path / "out.partial" / "s0"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(stage0.glob("*.done.json"))) < 5:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(list(stage0.glob("*.done.json")))
    assert 5 <= done_before < len(records) // 100, "the run was not killed mid-way"
    assert not (tmp_path / "out").exists(), "a killed run must not leave an output that looks complete"

    proc = run_cli("curate", str(recipe), "--workers", "2", cwd=tmp_path)
    assert proc.returncode == 2 and "--resume" in proc.stderr
    run_cli("curate", str(recipe), "--resume", "--workers", "2", cwd=tmp_path, check=True)
    assert not (tmp_path / "out.partial").exists()
    assert tree_bytes(tmp_path / "out", "data", "rejected") == tree_bytes(tmp_path / "ref", "data", "rejected")
    ref_stats = json.loads((tmp_path / "ref" / "stats.json").read_text())
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["totals"] == ref_stats["totals"]
    assert [s["dropped"] for s in stats["steps"]] == [s["dropped"] for s in ref_stats["steps"]]


def test_resume_refuses_a_changed_recipe(tmp_path, english):
    write_jsonl(tmp_path / "in.jsonl", english[:200])
    recipe = write_recipe(tmp_path / "r.yaml", "input: {path: in.jsonl}\nsteps: [clean: {}]\noutput: {path: out}\n")
    (tmp_path / "out.partial").mkdir()
    (tmp_path / "out.partial" / "manifest.json").write_text('{"recipe_fingerprint": "other", "inputs": []}')
    proc = run_cli("curate", str(recipe), "--resume", cwd=tmp_path)
    assert proc.returncode == 2 and "changed since the interrupted run" in proc.stderr


def test_quickstart_recipe_runs_as_in_the_readme(tmp_path):
    proc = run_cli("curate", str(REPO / "recipes" / "quickstart.yaml"), "--output", str(tmp_path / "qs"))
    assert proc.returncode == 0, proc.stderr
    stats = json.loads((tmp_path / "qs" / "stats.json").read_text())
    assert stats["totals"]["records_kept"] > 1000
    assert stats["totals"]["dropped_by_step"].get("exact_dedup", 0) > 0
    langs = {r["lang"] for r in pq.read_table(tmp_path / "qs" / "data", columns=["lang"]).to_pylist()}
    assert "en" in langs and any(lang.startswith("zh") for lang in langs)
    kept = pq.read_table(tmp_path / "qs" / "data", columns=["text"]).column("text").to_pylist()
    assert not any("\x1b[" in t for t in kept), "ANSI escapes of the Chinese fortunes are cleaned"


def test_card_lists_the_languages_kept(tmp_path):
    raw = {"input": {"path": "sample:multilingual"},
           "steps": [{"clean": {}}, {"language_id": {"keep": ["en", "zh"]}}]}
    result = Pipeline.from_recipe(raw).run(output=tmp_path / "out", workers=1)
    assert set(result.stats["languages"]) == {"en", "zh"}
    card = (tmp_path / "out" / "README.md").read_text()
    assert "language:\n- en\n- zh\n" in card
    assert result.stats["steps"][1]["dropped"]["language_not_kept"] > 0


def test_input_on_the_command_line_is_relative_to_the_current_folder(tmp_path, chinese):
    """input.path in a recipe is relative to the recipe; --input, typed by the user, to where they are."""
    (tmp_path / "recipes").mkdir()
    (tmp_path / "work").mkdir()
    write_jsonl(tmp_path / "work" / "zh.jsonl", chinese[:50])
    recipe = write_recipe(tmp_path / "recipes" / "r.yaml", "input: {path: missing.jsonl}\nsteps:\n  - clean: {}\n")
    proc = run_cli("curate", str(recipe), "--input", "zh.jsonl", "--output", "out", cwd=tmp_path / "work")
    assert proc.returncode == 0, proc.stderr
    assert pq.read_metadata(next((tmp_path / "work" / "out" / "data").glob("*.parquet"))).num_rows == 50
