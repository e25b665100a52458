"""chat_template: render with a real (locally trained) tokenizer and report token counts."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pyarrow as pa
import pytest

from instructkit import formats
from instructkit.steps.chat_template import ChatTemplate

pytest.importorskip("transformers")
DATA = Path(__file__).parent / "data" / "instructions"
TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}<|end|>\n{% endfor %}"
            "{% if add_generation_prompt %}<|assistant|>\n{% endif %}")


@pytest.fixture(scope="module")
def convs() -> list[dict]:
    with open(DATA / "chatterbot.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory, convs) -> Path:
    """A byte-level BPE trained on the fixture's English and Chinese turns, saved like a hub tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<|user|>", "<|assistant|>", "<|system|>", "<|end|>"]
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([t for c in convs for t in c["turns"]], trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|end|>", additional_special_tokens=specials[:3])
    fast.chat_template = TEMPLATE
    path = tmp_path_factory.mktemp("tokenizer")
    fast.save_pretrained(path)
    return path


def table(convs: list[dict]) -> pa.Table:
    rows = [{"id": c["id"], "messages": [{"role": "user" if i % 2 == 0 else "assistant", "content": t}
                                         for i, t in enumerate(c["turns"][: len(c["turns"]) // 2 * 2])]}
            for c in convs]
    return pa.Table.from_pylist([formats.convert(r, "messages") for r in rows])


def test_token_report(tokenizer_dir, convs):
    from transformers import AutoTokenizer

    batch = table(convs)
    step = pickle.loads(pickle.dumps(ChatTemplate(tokenizer=str(tokenizer_dir), max_length=40)))
    out = step.apply(batch)
    rows = out.to_pylist()
    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    first = rows[0]
    assert first["chat_text"] == "".join(f"<|{m['role']}|>\n{m['content']}<|end|>\n" for m in first["messages"])
    for row in rows:
        n = len(tok(row["chat_text"], add_special_tokens=False)["input_ids"])
        assert row["num_tokens"] == n and row["truncated_tokens"] == max(0, n - 40)
    metrics = step.drain_metrics()
    over = [r for r in rows if r["num_tokens"] > 40]
    assert 0 < len(over) < len(rows)
    assert metrics == {"tokens": sum(r["num_tokens"] for r in rows), "records_over_max_length": len(over),
                       "truncated_tokens": sum(r["num_tokens"] - 40 for r in over),
                       "records_up_to_40_tokens": len(rows) - len(over)}
    step = ChatTemplate(tokenizer=str(tokenizer_dir), max_length=200)
    step.apply(batch)
    metrics = step.drain_metrics()
    assert [metrics[f"records_up_to_{b}_tokens"] for b in (64, 128, 200)] == [
        sum(r["num_tokens"] <= b for r in rows) for b in (64, 128, 200)]


def test_template_override_and_generation_prompt(tokenizer_dir, convs):
    step = ChatTemplate(tokenizer=str(tokenizer_dir), chat_template="{% for m in messages %}{{ m['content'] }}\n"
                        "{% endfor %}", add_generation_prompt=True, output_field=None)
    out = step.apply(table(convs[:2]))
    assert "chat_text" not in out.column_names and out.column("num_tokens").to_pylist()[0] > 0


def test_missing_tokenizer_is_a_clear_error(tmp_path, convs):
    with pytest.raises(FileNotFoundError, match="not a local directory"):
        ChatTemplate(tokenizer=str(tmp_path / "nope")).apply(table(convs[:1]))
