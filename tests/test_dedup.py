"""exact_dedup on real text: normalised keys, field combinations, reference datasets."""

from __future__ import annotations

import gzip
import json
import pickle
from pathlib import Path

import pyarrow as pa
import pytest

from instructkit.steps.dedup import ExactDedup

DATA = Path(__file__).parent / "data" / "dedup"


def load(name: str, n: int) -> list[dict]:
    with gzip.open(DATA / f"{name}.jsonl.gz", "rt", encoding="utf-8") as f:
        return [{"id": r["id"], "text": r["text"]} for r in map(json.loads, f)][:n]


def run(step, table: pa.Table, tmp_path: Path, parts: int = 3) -> dict[str, str]:
    size = -(-table.num_rows // parts)
    slices = [table.slice(i, size) for i in range(0, table.num_rows, size)]
    indexes = [(p, pickle.loads(pickle.dumps(step.index(s)))) for p, s in enumerate(slices)]
    decisions = step.fit(iter(indexes), tmp_path)
    ids = [s.column("id").to_pylist() for s in slices]
    return {ids[p][row]: reason for p, rows in decisions.items() for row, reason in rows.items()}


def test_normalised_copies_are_dropped_naming_the_first(tmp_path):
    en, zh = load("en", 40), load("zh", 40)
    copies = [
        {"id": "en-shout", "text": en[3]["text"].upper()},
        {"id": "en-spaced", "text": "  " + en[5]["text"].replace(" ", "   ").replace(".", " . ")},
        {"id": "zh-fullwidth", "text": zh[7]["text"].replace("，", ",").replace("。", ".")},
        {"id": "zh-same", "text": zh[9]["text"]},
    ]
    table = pa.Table.from_pylist(en + zh + copies)
    assert run(ExactDedup(), table, tmp_path) == {
        "en-shout": "duplicate_of:en-0003",
        "en-spaced": "duplicate_of:en-0005",
        "zh-fullwidth": "duplicate_of:zh-0007",
        "zh-same": "duplicate_of:zh-0009",
    }
    assert run(ExactDedup(normalize=False), table, tmp_path / "raw") == {"zh-same": "duplicate_of:zh-0009"}


def test_fields_compare_a_combination(tmp_path):
    en = load("en", 6)
    rows = [
        {"id": "a", "instruction": "Summarise this page.", "input": en[0]["text"], "output": "One."},
        {"id": "b", "instruction": "summarise this page", "input": en[0]["text"], "output": "Two."},
        {"id": "c", "instruction": "Summarise this page.", "input": en[1]["text"], "output": "One."},
    ]
    table = pa.Table.from_pylist(rows)
    assert run(ExactDedup(fields=["instruction", "input"]), table, tmp_path / "1", parts=2) == {
        "b": "duplicate_of:a"
    }
    assert run(ExactDedup(field="instruction"), table, tmp_path / "2", parts=2) == {
        "b": "duplicate_of:a",
        "c": "duplicate_of:a",
    }
    assert run(ExactDedup(field="output"), table, tmp_path / "3", parts=2) == {"c": "duplicate_of:a"}
    with pytest.raises(ValueError):
        ExactDedup(field="instruction", fields=["input"])


def test_reference_dataset_drops_what_already_exists(tmp_path):
    en = load("en", 60)
    reference = tmp_path / "old.jsonl"
    reference.write_text(
        "".join(json.dumps({"id": f"old-{i}", "text": r["text"]}) + "\n" for i, r in enumerate(en[:20]))
    )
    new = en[10:60] + [{"id": "again", "text": en[30]["text"].lower()}]
    step = ExactDedup(reference=str(reference))
    dropped = run(step, pa.Table.from_pylist(new), tmp_path / "s")
    expected = {r["id"]: f"duplicate_of:old-{i + 10}" for i, r in enumerate(en[10:20])}
    expected["again"] = "duplicate_of:en-0030"
    assert dropped == expected
    metrics = step.drain_metrics()
    assert metrics["reference_records"] == 20 and metrics["reference_duplicates"] == 10


def test_deterministic_and_independent_of_parts(tmp_path):
    en = load("en", 100)
    copies = [{"id": f"copy{i}", "text": r["text"]} for i, r in enumerate(en[::7] + en[::11])]
    table = pa.Table.from_pylist(en + copies)
    results = [run(ExactDedup(), table, tmp_path / str(p), parts=p) for p in (1, 2, 7, 7)]
    assert all(r == results[0] for r in results)
    assert len(results[0]) == len(copies) and results[0]["copy1"] == "duplicate_of:en-0007"


def test_estimate_grows_with_input_on_disk_not_in_memory():
    small, big = ExactDedup().estimate(10**8, 10**5), ExactDedup().estimate(10**10, 10**7)
    assert big["disk_bytes"] == 100 * small["disk_bytes"]
    assert big["peak_memory_bytes"] < 10 * small["peak_memory_bytes"]


def test_reference_paths_are_relative_to_the_recipe_and_checked_first(tmp_path):
    from conftest import run_cli

    en = load("en", 30)
    (tmp_path / "recipes" / "old").mkdir(parents=True)
    (tmp_path / "recipes" / "old" / "seen.jsonl").write_text(
        "".join(json.dumps({"id": f"old-{i}", "text": r["text"]}) + "\n" for i, r in enumerate(en[:10])))
    (tmp_path / "new.jsonl").write_text("".join(json.dumps(r) + "\n" for r in en))
    recipe = tmp_path / "recipes" / "r.yaml"
    recipe.write_text("input: {path: ../new.jsonl}\nsteps:\n  - exact_dedup: {reference: old/seen.jsonl}\n"
                      "output: {path: out}\n")
    elsewhere = tmp_path / "run"
    elsewhere.mkdir()
    proc = run_cli("curate", str(recipe), cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    stats = json.loads((elsewhere / "out" / "stats.json").read_text())
    assert stats["steps"][0]["dropped"] == {"duplicate_of": 10}

    recipe.write_text(recipe.read_text().replace("old/seen.jsonl", "old/sen.jsonl"))
    for args in (("validate", str(recipe)), ("curate", str(recipe), "--output", "out2")):
        proc = run_cli(*args, cwd=elsewhere)
        assert proc.returncode == 2
        assert "step exact_dedup: reference 'old/sen.jsonl': no such file" in proc.stderr
    assert not (elsewhere / "out2").exists() and not (elsewhere / "out2.partial").exists()
