"""Importers and exporters of instruction formats, on real chatterbot-corpus conversations."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from instructkit import formats
from instructkit.steps.base import Filter, Mapper

DATA = Path(__file__).parent / "data" / "instructions"


def load(name: str) -> list[dict]:
    with open(DATA / name, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@pytest.fixture(scope="module")
def convs() -> list[dict]:
    return load("chatterbot.jsonl")


def as_alpaca(c: dict) -> dict:
    t = c["turns"]
    history = [[t[i], t[i + 1]] for i in range(0, len(t) - 2 - len(t) % 2, 2)]
    last = len(t) - 2 - len(t) % 2
    rec = {"id": c["id"], "instruction": t[last], "input": "", "output": t[last + 1], "category": c["category"]}
    if history:
        rec["history"] = history
    return rec


def as_sharegpt(c: dict) -> dict:
    t = c["turns"][: len(c["turns"]) // 2 * 2]
    return {"id": c["id"], "category": c["category"],
            "conversations": [{"from": "human" if i % 2 == 0 else "gpt", "value": v} for i, v in enumerate(t)]}


def as_messages(c: dict) -> dict:
    t = c["turns"][: len(c["turns"]) // 2 * 2]
    return {"id": c["id"], "category": c["category"],
            "messages": [{"role": "user" if i % 2 == 0 else "assistant", "content": v} for i, v in enumerate(t)]}


def test_same_records_in_three_formats_import_to_the_same_conversations(convs):
    assert len(convs) > 100 and any(len(c["turns"]) > 4 for c in convs)
    assert {c["lang"] for c in convs} == {"en", "zh"}
    for c in convs:
        a = formats.convert(as_alpaca(c), "alpaca")
        s = formats.convert(as_sharegpt(c), "sharegpt")
        m = formats.convert(as_messages(c), "messages")
        assert a == s == m, c["id"]
        assert [t["content"] for t in a["messages"]] == c["turns"][: len(c["turns"]) // 2 * 2]
        assert a["category"] == c["category"] and a["id"] == c["id"]


def test_round_trips_are_lossless(convs):
    for c in convs:
        for fmt, raw in (("alpaca", as_alpaca(c)), ("sharegpt", as_sharegpt(c)), ("messages", as_messages(c))):
            canonical = formats.convert(raw, fmt)
            assert formats.export(canonical, fmt) == raw
            for other in ("alpaca", "sharegpt", "messages"):
                assert formats.convert(formats.export(canonical, other), other) == canonical


def test_alpaca_input_survives_a_trip_through_sharegpt():
    raw = {"instruction": "Translate to English.", "input": "你好", "output": "Hello", "lang": "zh"}
    canonical = formats.convert(raw, "alpaca")
    assert canonical["messages"][0]["content"] == "Translate to English.\n\n你好"
    via = formats.convert(formats.export(canonical, "sharegpt"), "sharegpt")
    assert formats.export(via, "alpaca") == raw


def test_dolly_import_and_export():
    raw = {"instruction": "什么是波长", "context": "", "response": "波长是频率的倒数。", "category": "open_qa"}
    rec = formats.convert(raw, "dolly")
    assert rec["messages"][1] == {"role": "assistant", "content": "波长是频率的倒数。"}
    assert formats.export(rec, "dolly") == raw


def test_what_a_format_cannot_express_is_reported(convs):
    multi = formats.convert(as_messages(next(c for c in convs if len(c["turns"]) >= 4)), "messages")
    with pytest.raises(ValueError, match="dolly holds one exchange"):
        formats.export(multi, "dolly")
    sys_rec = {"messages": [{"role": "system", "content": "Be brief."}, *multi["messages"]]}
    with pytest.raises(ValueError, match="oasst has no system role"):
        formats.export(sys_rec, "oasst")
    ends_with_user = {"messages": multi["messages"][:3]}
    with pytest.raises(ValueError, match="alternating user/assistant"):
        formats.export(ends_with_user, "alpaca")
    assert formats.export(ends_with_user, "sharegpt")["conversations"][2]["from"] == "human"


@pytest.mark.parametrize("fmt, record, reason", [
    ("alpaca", {"instruction": "hi"}, "field 'output' is missing"),
    ("alpaca", {"instruction": "hi", "output": 3}, "field 'output' is a int"),
    ("sharegpt", {"conversations": [{"from": "observation", "value": "x"}]}, "turn 1 is from 'observation'"),
    ("messages", {"messages": [{"role": "tool", "content": "x"}]}, "turn 1 has role 'tool'"),
    ("messages", {"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "'image_url' content part"),
    ("messages", {"messages": []}, "no turns"),
])
def test_bad_records_raise_a_clear_reason(fmt, record, reason):
    with pytest.raises(ValueError, match=reason):
        formats.convert(record, fmt)
    out = list(formats.convert_stream([record], fmt))
    assert len(out) == 1 and isinstance(out[0], ValueError)


def test_messages_content_parts_are_joined():
    rec = formats.convert({"messages": [{"role": "user", "content": [{"type": "text", "text": "Hello"}]},
                                        {"role": "assistant", "content": "Hi"}]}, "messages")
    assert rec["messages"][0]["content"] == "Hello"


def oasst_messages(c: dict, tree: str) -> list[dict]:
    """A real exchange as an OASST flat export, with a worse-ranked and a deleted alternative reply."""
    t = c["turns"]
    return [
        {"message_id": f"{tree}-p", "parent_id": None, "message_tree_id": tree, "role": "prompter", "text": t[0],
         "lang": c["lang"]},
        {"message_id": f"{tree}-a2", "parent_id": f"{tree}-p", "message_tree_id": tree, "role": "assistant",
         "text": "I do not know.", "rank": 1},
        {"message_id": f"{tree}-a1", "parent_id": f"{tree}-p", "message_tree_id": tree, "role": "assistant",
         "text": t[1], "rank": 0},
        {"message_id": f"{tree}-a0", "parent_id": f"{tree}-p", "message_tree_id": tree, "role": "assistant",
         "text": "spam", "rank": None, "deleted": True},
        {"message_id": f"{tree}-p2", "parent_id": f"{tree}-a1", "message_tree_id": tree, "role": "prompter",
         "text": "Thanks!"},
    ]


def test_oasst_trees_follow_the_best_ranked_path(convs):
    pair, zh = convs[0], next(c for c in convs if c["lang"] == "zh")
    records = oasst_messages(pair, "t1") + oasst_messages(zh, "t2") + [
        {"message_id": "t3-p", "parent_id": None, "message_tree_id": "t3", "role": "prompter", "text": "Hello?"}]
    out = list(formats.convert_stream(records, "oasst"))
    assert out[0] == {"messages": [{"role": "user", "content": pair["turns"][0]},
                                   {"role": "assistant", "content": pair["turns"][1]}],
                      "lang": "en", "message_tree_id": "t1"}
    assert out[1]["messages"][1]["content"] == zh["turns"][1]
    assert isinstance(out[2], ValueError) and "tree t3: no assistant reply" in str(out[2])
    tree = formats.export(out[0], "oasst")
    assert formats.convert(tree, "oasst") == out[0]
    assert formats.detect_format([tree]) == "oasst"


def test_oasst_all_paths_best_ranked_first(convs, tmp_path):
    """`oasst_paths: all` gives every usable path of a tree, best-ranked first; deleted replies never."""
    pair = convs[0]
    out = list(formats.convert_stream(oasst_messages(pair, "t1"), "oasst", oasst_paths="all"))
    assert [o["oasst_path"] for o in out] == [0, 1]
    assert [o["messages"][1]["content"] for o in out] == [pair["turns"][1], "I do not know."]
    top = next(formats.convert_stream(oasst_messages(pair, "t1"), "oasst"))
    assert {k: v for k, v in out[0].items() if k != "oasst_path"} == top

    from conftest import write_jsonl

    from instructkit import Pipeline

    zh = next(c for c in convs if c["lang"] == "zh")
    src = write_jsonl(tmp_path / "oasst.jsonl", oasst_messages(pair, "t1") + oasst_messages(zh, "t2"))
    for paths, kept in (("top", 2), ("all", 4)):
        pipe = Pipeline.from_recipe({"input": {"path": str(src), "format": "oasst", "oasst_paths": paths},
                                     "steps": [{"clean": {}}]})
        assert pipe.run(output=tmp_path / paths, workers=1).kept == kept


def test_detect_format(convs):
    c = convs[0]
    assert formats.detect_format([as_alpaca(c)]) == "alpaca"
    assert formats.detect_format([as_sharegpt(c)]) == "sharegpt"
    assert formats.detect_format([as_messages(c)]) == "messages"
    assert formats.detect_format([{"instruction": "a", "context": "", "response": "b"}]) == "dolly"
    assert formats.detect_format(oasst_messages(c, "t")) == "oasst"
    with pytest.raises(ValueError, match="match no instruction format"):
        formats.detect_format([{"text": "plain"}])


# -- conversation targeting in the step base class ------------------------------------------------------
class _Words(Filter):
    def __init__(self, *, field: str | None = None, role: str | None = None, per_turn: bool = False) -> None:
        self.field, self.role, self.per_turn = field, role, per_turn

    def check_text(self, text: str) -> str | None:
        return "too_few_words" if len(text.split()) < 3 else None


class _Upper(Mapper):
    def __init__(self, *, field: str | None = None, role: str | None = None) -> None:
        self.field, self.role = field, role

    def apply_text(self, text: str) -> str:
        return text.upper()


def test_steps_target_roles_and_turns(convs):
    c = next(c for c in convs if len(c["turns"]) >= 4 and c["lang"] == "en")
    table = pa.Table.from_pylist([formats.convert(as_messages(c), "messages")])
    t = c["turns"]
    step = _Words()
    step.text_field = "messages"
    assert step.texts(table) == ["\n\n".join(t[: len(t) // 2 * 2])]
    step.role = "assistant"
    assert step.texts(table) == ["\n\n".join(t[1: len(t) // 2 * 2: 2])]
    assert _Words(field="instruction").texts(table) == ["\n\n".join(t[0: len(t) // 2 * 2: 2])]
    assert step.turn_texts(table) == [t[1: len(t) // 2 * 2: 2]]
    # per turn: one short turn is enough to drop the record
    short = pa.Table.from_pylist([{"messages": [{"role": "user", "content": "Tell me about Debian"},
                                                {"role": "assistant", "content": "Debian is a free operating system."},
                                                {"role": "user", "content": "And?"},
                                                {"role": "assistant", "content": "That is all."}]}])
    assert _Words(field="messages").check_texts(short, _Words().check_text) == [None]
    per_turn = _Words(field="messages", per_turn=True)
    assert per_turn.check_texts(short, per_turn.check_text) == ["too_few_words"]
    assert _Words(field="messages", role="assistant", per_turn=True).check_texts(short, per_turn.check_text) == [None]
    upper = _Upper(field="messages", role="assistant")
    out = upper.map_texts(short, upper.apply_text)
    assert out.schema == short.schema
    assert [m["content"] for m in out.column("messages").to_pylist()[0]] == [
        "Tell me about Debian", "DEBIAN IS A FREE OPERATING SYSTEM.", "And?", "THAT IS ALL."]


# -- the shipped recipe ----------------------------------------------------------------------------------
@pytest.mark.slow
def test_instruction_dataset_recipe(tmp_path):
    from conftest import REPO, read_jsonl, run_cli  # noqa: F401

    out = tmp_path / "out"
    proc = run_cli("curate", str(REPO / "recipes" / "instruction-dataset.yaml"), "--output", str(out), check=True)
    assert "kept 869 of 2,397 records" in proc.stdout
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    steps = {s["step"]: s for s in stats["steps"]}
    assert steps["short_response"]["dropped"] == {"short_response": 168}
    assert steps["prompt_echo"]["dropped"] == {"response_repeats_prompt": 9}
    assert steps["exact_dedup"]["dropped"] == {"duplicate_of": 1351}  # tech_support repeats ten prompts
    report = steps["chat_template"]["metrics"]
    assert report["records_over_max_length"] == 100 and report["truncated_tokens"] == 5583
    import pyarrow.parquet as pq

    data = pa.concat_tables([pq.read_table(f) for f in sorted((out / "data").glob("*.parquet"))])
    first = data.slice(0, 1).to_pylist()[0]
    assert first["messages"][0] == {"role": "user", "content": "What is AI?"}
    assert first["chat_text"].startswith("<|user|>\nWhat is AI?<|end|>\n<|assistant|>\n")
    assert {"prompt_language", "response_language", "num_tokens", "truncated_tokens"} <= set(data.column_names)


def test_the_reader_imports_every_format_to_the_same_records(convs, tmp_path):
    from conftest import write_jsonl

    from instructkit.io.readers import read_tables

    pairs = [c for c in convs if len(c["turns"]) == 2][:40]
    sources = {"alpaca": [as_alpaca(c) for c in pairs], "sharegpt": [as_sharegpt(c) for c in pairs],
               "messages": [as_messages(c) for c in pairs],
               "oasst": [m for n, c in enumerate(pairs) for m in oasst_messages(c, f"t{n}")]}
    results = {}
    for fmt, records in sources.items():
        path = write_jsonl(tmp_path / f"{fmt}.jsonl", records)
        tables = list(read_tables(str(path), text_field="messages", fmt="auto"))
        results[fmt] = pa.concat_tables(tables).column("messages").to_pylist()
    assert len(results["alpaca"]) == 40
    assert results["alpaca"] == results["sharegpt"] == results["messages"] == results["oasst"]


def test_export_stream_reports_what_it_cannot_express(convs):
    records = [formats.convert(as_messages(c), "messages") for c in convs[:20] if len(c["turns"]) >= 2]
    out = list(formats.export_stream(records, "dolly"))
    assert len(out) == len(records)
    for record, exported in zip(records, out, strict=True):
        if len(record["messages"]) == 2:
            assert exported["response"] == record["messages"][1]["content"]
        else:
            assert isinstance(exported, ValueError) and "dolly holds one exchange" in str(exported)
