"""decontaminate: records that quote evaluation items (English and Chinese) are dropped, naming the item."""

from __future__ import annotations

import gzip
import json
import pickle
from pathlib import Path

import pyarrow as pa

from instructkit.io.readers import read_tables
from instructkit.steps.decontaminate import Decontaminate

DATA = Path(__file__).parent / "data" / "dedup"
EVAL = DATA / "eval_items.jsonl"


def items() -> list[dict]:
    return [json.loads(line) for line in EVAL.read_text(encoding="utf-8").splitlines()]


def corpus(name: str, n: int) -> list[dict]:
    with gzip.open(DATA / f"{name}.jsonl.gz", "rt", encoding="utf-8") as f:
        return [{"id": r["id"], "text": r["text"]} for r in map(json.loads, f)][:n]


def test_quoted_eval_items_are_dropped_with_the_item_id():
    ev = {i["id"]: i for i in items()}
    en, zh = corpus("en", 80), corpus("zh", 80)  # the eval items come from later documents
    leaked = [
        # An answer pasted into a longer text, with its case and punctuation changed.
        {"id": "leak-en", "text": en[0]["text"] + "\n\n" + ev["pydoc-004"]["answer"].upper().replace(",", "")},
        # A Chinese question embedded mid-paragraph.
        {"id": "leak-zh", "text": zh[0]["text"][:200] + ev["debref-zh-003"]["question"] + zh[1]["text"][:200]},
        # 12 words of an item: below the 13-gram bar, so kept.
        {"id": "near-miss", "text": "Intro. " + " ".join(ev["pydoc-010"]["question"].split()[:12]) + " and more."},
    ]
    step = Decontaminate(eval_sets=[str(EVAL)], eval_fields=["question", "answer"])
    step = pickle.loads(pickle.dumps(step))
    table = pa.Table.from_pylist(en + zh + leaked)
    reasons = dict(zip(table.column("id").to_pylist(), step.check(table), strict=True))
    assert {k: v for k, v in reasons.items() if v} == {
        "leak-en": "contaminated:pydoc-004",
        "leak-zh": "contaminated:debref-zh-003",
    }
    metrics = step.drain_metrics()
    assert metrics["eval_hit:pydoc-004"] == 1 and metrics["eval_hit:debref-zh-003"] == 1
    assert metrics["contaminated_records"] == 2


def test_annotate_mode_keeps_records_and_lists_items(tmp_path):
    ev = items()
    # An eval set without ids: items get the reader's stable ids.
    plain = tmp_path / "bench.jsonl"
    plain.write_text("".join(json.dumps({"question": i["question"]}) + "\n" for i in ev), encoding="utf-8")
    text = "See: " + ev[1]["question"] + " Also: " + ev[2]["question"]
    step = Decontaminate(eval_sets=[str(plain)], eval_fields=["question"], mode="annotate")
    batch = pa.table({"id": ["r1", "r2"], "text": [text, corpus("en", 1)[0]["text"]]})
    annotated = step.annotate(batch)
    reader_ids = next(read_tables(str(plain), text_field="question")).column("id").to_pylist()
    assert annotated.column("contaminated_by").to_pylist() == [reader_ids[1:3], None]
    assert step.check(annotated) == [None, None]


def test_min_matches_and_short_items(tmp_path):
    ev = items()
    answer = ev[0]["answer"]
    words = answer.split()
    one_window = " ".join(words[:13])
    step = Decontaminate(eval_sets=[str(EVAL)], eval_fields=["answer"], min_matches=3)
    assert step.check(pa.table({"text": [one_window, answer]})) == [None, f"contaminated:{ev[0]['id']}"]
    # A 9-word item is matched whole (>= min_tokens 8) and only whole.
    short = tmp_path / "short.jsonl"
    short.write_text(json.dumps({"id": "s1", "text": "the quick brown fox jumps over the lazy dog"}) + "\n")
    step = Decontaminate(eval_sets=[str(short)])
    texts = ["He said: The quick brown fox jumps over the lazy dog!", "the quick brown fox jumps over the lazy cat"]
    assert step.check(pa.table({"text": texts})) == ["contaminated:s1", None]
