"""semantic_dedup with the packaged MiniLM (offline): edited and truncated copies of real documents."""

from __future__ import annotations

import gzip
import json
import pickle
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

pytest.importorskip("sentence_transformers")

from instructkit.dedup.synth import corrupt  # noqa: E402
from instructkit.steps.semantic import SemanticDedup, kmeans  # noqa: E402

DATA = Path(__file__).parent / "data" / "dedup"


def load(n: int) -> list[dict]:
    with gzip.open(DATA / "en.jsonl.gz", "rt", encoding="utf-8") as f:
        return [{"id": r["id"], "text": r["text"]} for r in map(json.loads, f)][:n]


@pytest.mark.slow
def test_drops_semantic_copies_and_keeps_distinct_pages(tmp_path):
    docs = load(60)
    rng = random.Random(2)
    copies = [
        {"id": "edited", "text": corrupt(docs[4]["text"], "edit", 0.05, rng)},
        {"id": "reformatted", "text": corrupt(docs[9]["text"], "format", 0.5, rng)},
        {"id": "truncated", "text": corrupt(docs[20]["text"], "truncate", 0.1, rng)},
    ]
    table = pa.Table.from_pylist(docs + copies)
    step = pickle.loads(pickle.dumps(SemanticDedup(threshold=0.95, clusters=4)))
    indexes = [(0, step.index(table.slice(0, 40))), (1, step.index(table.slice(40)))]
    decisions = step.fit(iter(indexes), tmp_path)
    ids = table.column("id").to_pylist()
    dropped = {ids[p * 40 + r]: reason for p, rows in decisions.items() for r, reason in rows.items()}
    assert dropped == {
        "edited": "semantic_duplicate_of:en-0004",
        "reformatted": "semantic_duplicate_of:en-0009",
        "truncated": "semantic_duplicate_of:en-0020",
    }
    assert step.drain_metrics()["semantic_duplicates"] == 3


def test_kmeans_is_deterministic():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 8)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    assert np.array_equal(kmeans(x, 7, seed=1), kmeans(x, 7, seed=1))
