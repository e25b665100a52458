"""Instruction filters on real chatterbot-corpus exchanges: exact drop reasons."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pyarrow as pa
import pytest

from instructkit import formats
from instructkit.steps.base import STEPS, RecipeError

DATA = Path(__file__).parent / "data" / "instructions"


@pytest.fixture(scope="module")
def convs() -> list[dict]:
    with open(DATA / "chatterbot.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def pair(user: str, assistant: str) -> dict:
    return formats.convert({"instruction": user, "input": "", "output": assistant}, "alpaca")


def run(name: str, records: list[dict], **params) -> list[str | None]:
    step = STEPS[name].from_params(params)
    step.text_field = "messages"
    step = pickle.loads(pickle.dumps(step))
    batch = step.annotate(pa.Table.from_pylist(records))
    return step.check(batch)


def by_id(convs: list[dict], cid: str) -> dict:
    return next(c for c in convs if c["id"] == cid)


def test_short_and_empty_responses(convs):
    records = [pair(c["turns"][0], c["turns"][1]) for c in convs if len(c["turns"]) == 2]
    reasons = run("short_response", records, min_tokens=2)
    short = [r["messages"][1]["content"] for r, why in zip(records, reasons, strict=False) if why]
    assert reasons.count("short_response") == len(short) and short
    assert all(len(s.split()) == 1 for s in short if s.isascii())
    assert run("short_response", [pair("What is a wavelength", "")]) == ["empty_response"]
    assert run("short_response", [pair("什么是波长", "波长是频率的倒数。")], min_tokens=5) == [None]


def test_refusal_and_boilerplate_phrases(convs):
    prompts = [c["turns"][0] for c in convs if c["lang"] == "en"][:3]
    records = [
        pair(prompts[0], "As an AI language model, I do not have feelings."),
        pair(prompts[1], "I'm sorry, but I cannot help with that request."),
        pair("你是什么语言编写的", "作为一个AI语言模型，我不能透露这些信息。"),
        pair("你是什么语言编写的", "很抱歉，我无法回答这个问题。"),
        pair(prompts[2], "I'm sorry, I can't hear you over the sound of how awesome I am."),  # real chatterbot joke
    ]
    assert run("refusal", records) == ["ai_boilerplate", "refusal", "ai_boilerplate", "refusal", None]
    assert run("refusal", records[4:], phrases=["how awesome I am"]) == ["refusal"]


def test_prompt_echo(convs):
    en = [c for c in convs if c["lang"] == "en" and len(c["turns"]) == 2][:5]
    records = [pair(c["turns"][0], c["turns"][1]) for c in en]
    records.append(pair("you are immature", "you are immature"))  # a real chatterbot-corpus exchange
    records.append(pair("你不诚实", "你不诚实"))                     # likewise, in the Chinese corpus
    assert run("prompt_echo", records) == [None] * 5 + ["response_repeats_prompt"] * 2


def test_unbalanced_turns(convs):
    odd = next(c for c in convs if len(c["turns"]) % 2 == 1 and len(c["turns"]) > 2)
    msgs = [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(odd["turns"])]
    ok = msgs[:-1]
    records = [
        {"messages": ok},
        {"messages": msgs},
        {"messages": [msgs[1], *msgs[2:4]]},
        {"messages": [msgs[0], msgs[2], msgs[1]]},
        {"messages": [*ok[:2], {"role": "system", "content": "Be brief."}]},
        {"messages": [msgs[0]]},
        {"messages": [msgs[0], {"role": "assistant", "content": "  "}]},
    ]
    assert run("unbalanced_turns", records) == [
        None, "unanswered_prompt", "starts_with_assistant", "consecutive_turns", "misplaced_system",
        "no_assistant_turn", "empty_turn"]
    assert run("unbalanced_turns", records[1:2], allow_unanswered=True) == [None]


def test_language_mismatch_on_parallel_corpora(convs):
    """chatterbot-corpus is parallel: pairing a Chinese question with the English answer of the same
    conversation gives the mismatch a real data set has when one side was not translated."""
    en, zh = by_id(convs, "en-science-3"), by_id(convs, "zh-science-3")
    records = [pair(*en["turns"][:2]), pair(*zh["turns"][:2]), pair(zh["turns"][0], en["turns"][1]),
               pair(en["turns"][0], zh["turns"][1])]
    assert zh["turns"][0] == "什么是热力学" and en["turns"][0] == "what is thermodynamics"
    assert run("language_mismatch", records) == [None, None, "language_mismatch:zh-en", "language_mismatch:en-zh"]
    assert run("language_mismatch", records, allow=["zh-en"]) == [None, None, None, "language_mismatch:en-zh"]


def test_filters_need_a_messages_column():
    with pytest.raises(KeyError, match="not a messages column"):
        run("prompt_echo", [{"text": "plain text"}])
    with pytest.raises(RecipeError, match="role 'bot'"):
        STEPS["refusal"].from_params({"role": "bot"})


def test_language_per_turn(convs):
    en, zh = by_id(convs, "en-science-3"), by_id(convs, "zh-science-3")
    mixed = {"messages": [{"role": "user", "content": zh["turns"][0]}, {"role": "assistant", "content": zh["turns"][1]},
                          {"role": "user", "content": en["turns"][0]}, {"role": "assistant", "content": en["turns"][1]}]}
    step = STEPS["turn_language"].from_params({"keep": ["zh"]})
    annotated = step.annotate(pa.Table.from_pylist([mixed, pair(*zh["turns"][:2])]))
    assert annotated.column("turn_languages").to_pylist() == [["zh", "zh", "en", "en"], ["zh", "zh"]]
    assert step.check(annotated) == ["turn_language_not_kept:en", None]
