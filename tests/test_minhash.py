"""minhash_dedup on real English and Chinese text with injected near-duplicates of known Jaccard."""

from __future__ import annotations

import gzip
import json
import pickle
import random
from pathlib import Path

import pyarrow as pa
import pytest

from instructkit.dedup.synth import KINDS, corrupt, jaccard
from instructkit.steps.minhash import MinHashDedup

DATA = Path(__file__).parent / "data" / "dedup"


def load(name: str) -> list[dict]:
    with gzip.open(DATA / f"{name}.jsonl.gz", "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def run(step, table: pa.Table, tmp_path: Path, parts: int = 3) -> dict[str, str]:
    """Index ``table`` in ``parts`` parts, fit, and return {dropped id: reason}."""
    size = -(-table.num_rows // parts)
    slices = [table.slice(i, size) for i in range(0, table.num_rows, size)]
    indexes = [(p, pickle.loads(pickle.dumps(step.index(s)))) for p, s in enumerate(slices)]
    decisions = step.fit(iter(indexes), tmp_path)
    ids = [s.column("id").to_pylist() for s in slices]
    return {ids[p][row]: reason for p, rows in decisions.items() for row, reason in rows.items()}


def with_copies(name: str, originals: int, copies: int, seed: int) -> tuple[pa.Table, dict[str, tuple[str, float]]]:
    """The first ``originals`` fixture texts plus ``copies`` corrupted copies of some of them, shuffled
    after the originals; returns the table and {copy id: (original id, true Jaccard)}."""
    records = load(name)[:originals]
    rng = random.Random(seed)
    truth = {}
    extra = []
    for i, src in enumerate(rng.sample(records, copies)):
        kind = KINDS[i % len(KINDS)]
        strength = rng.choice([0.0, 0.005, 0.01, 0.02, 0.04, 0.08, 0.15])
        text = corrupt(src["text"], kind, strength, rng)
        cid = f"{src['id']}-copy{i}"
        truth[cid] = (src["id"], jaccard(src["text"], text))
        extra.append({"id": cid, "text": text})
    rows = [{"id": r["id"], "text": r["text"]} for r in records] + extra
    return pa.Table.from_pylist(rows), truth


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_finds_injected_near_duplicates(lang, tmp_path):
    table, truth = with_copies(lang, originals=200, copies=120, seed=7)
    dropped = run(MinHashDedup(), table, tmp_path)
    above = [c for c, (_, j) in truth.items() if j >= 0.85]
    below = [c for c, (_, j) in truth.items() if j < 0.7]
    assert len(above) >= 50 and len(below) >= 10  # the fixture spans both sides of the threshold
    found = [c for c in above if dropped.get(c) == f"near_duplicate_of:{truth[c][0]}"]
    assert len(found) / len(above) >= 0.98
    # Precision: every drop names a record it truly resembles, and nothing well below 0.8 is dropped.
    texts = dict(zip(table.column("id").to_pylist(), table.column("text").to_pylist(), strict=True))
    for rid, reason in dropped.items():
        assert reason.startswith("near_duplicate_of:")
        assert jaccard(texts[rid], texts[reason.split(":", 1)[1]]) >= 0.7, rid
    assert not set(below) & set(dropped)


def test_reason_names_the_first_record_and_stats(tmp_path):
    records = load("en")[:50]
    rng = random.Random(3)
    copy = corrupt(records[10]["text"], "format", 0.2, rng)  # whitespace and punctuation only
    table = pa.Table.from_pylist(
        [{"id": "copy-first", "text": copy}] + [{"id": r["id"], "text": r["text"]} for r in records]
    )
    step = MinHashDedup()
    assert run(step, table, tmp_path) == {records[10]["id"]: "near_duplicate_of:copy-first"}
    metrics = step.drain_metrics()
    assert metrics["clusters"] == 1 and metrics["cluster_size_2"] == 1 and metrics["near_duplicates"] == 1


def test_chinese_needs_character_shingles(tmp_path):
    records = load("zh")[:60]
    rng = random.Random(5)
    copies = [{"id": f"c{i}", "text": corrupt(r["text"], "edit", 0.01, rng)} for i, r in enumerate(records[:20])]
    table = pa.Table.from_pylist([{"id": r["id"], "text": r["text"]} for r in records] + copies)
    auto = run(MinHashDedup(tokenizer="auto"), table, tmp_path / "a")
    assert {f"c{i}" for i in range(20)} <= set(auto)
    # Whitespace "words" of unsegmented Chinese are whole clauses: one edit breaks many shingles.
    word = run(MinHashDedup(tokenizer="word"), table, tmp_path / "w")
    assert len(word) < len(auto)


def test_same_input_same_kept_set_whatever_the_parts(tmp_path):
    table, _ = with_copies("en", originals=120, copies=60, seed=11)
    first = run(MinHashDedup(), table, tmp_path / "1", parts=2)
    again = run(MinHashDedup(), table, tmp_path / "2", parts=2)
    other_split = run(MinHashDedup(), table, tmp_path / "3", parts=5)
    assert first == again == other_split
    assert len(first) > 30


def test_empty_and_short_texts(tmp_path):
    table = pa.table({"id": ["a", "b", "c", "d", "e"], "text": ["", None, "Hello there!", "hello, THERE", "?!"]})
    assert run(MinHashDedup(), table, tmp_path, parts=2) == {"d": "near_duplicate_of:c"}


def test_parameters_and_estimate():
    step = MinHashDedup(threshold=0.7, num_perm=64, bands=8, rows=8)
    assert step.banding() == (8, 8)
    with pytest.raises(ValueError):
        MinHashDedup(bands=8)
    with pytest.raises(ValueError):
        MinHashDedup(bands=20, rows=8)
    small = MinHashDedup().estimate(10**8, 50_000)
    big = MinHashDedup().estimate(10**9, 500_000)
    assert set(small) == {"peak_memory_bytes", "disk_bytes", "explanation"}
    assert big["disk_bytes"] > 5 * small["disk_bytes"]
    pickle.loads(pickle.dumps(step))
