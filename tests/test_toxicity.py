"""toxicity on real text: English (alt-profanity-check), Chinese, Spanish and Italian (word lists)."""

from __future__ import annotations

import builtins
import pickle
from pathlib import Path

import pyarrow as pa
import pytest
from conftest import read_jsonl

from instructkit.steps.toxicity import Toxicity, lexicon_languages, lexicon_terms

DATA = Path(__file__).parent / "data" / "toxicity" / "toxicity.jsonl"


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return read_jsonl(DATA)


@pytest.fixture(scope="module")
def annotated(records) -> pa.Table:
    batch = pa.Table.from_pylist([{"text": r["text"], "language": r["lang"], "source": r["source"]} for r in records])
    return Toxicity().annotate(batch)


def test_detections_match_the_labels_in_every_language(records, annotated):
    reasons = Toxicity().check(annotated)
    expected = ["toxic" if r["toxic"] else None for r in records]
    got = {(r["lang"], r["text"][:30]): reason for r, reason in zip(records, reasons, strict=False)}
    assert reasons == expected, got
    assert {r["lang"] for r in records} == {"en", "zh", "es", "it"}
    assert annotated.column("source").to_pylist() == [r["source"] for r in records]  # fields kept


def test_english_is_scored_by_the_model(records, annotated):
    rows = [(r, row) for r, row in zip(records, annotated.to_pylist(), strict=False) if r["lang"] == "en" and r["toxic"]]
    assert rows and all("profanity_model" in row["toxicity_categories"] for _, row in rows)
    assert all(row["toxicity"] > 0.9 for _, row in rows)


def test_chinese_terms_and_word_boundaries(records, annotated):
    rows = {r["text"]: row for r, row in zip(records, annotated.to_pylist(), strict=False) if r["lang"] == "zh"}
    assert rows["是谁写的白痴"]["toxicity_terms"] == ["白痴"]
    assert rows["是谁写的白痴"]["toxicity_categories"] == ["lexicon"]
    assert rows["是誰寫的白痴"]["toxicity"] == 0.75
    # 叫做爱 is 叫做 + 爱 and 你妈妈 is "your mother": jieba's words keep them clean
    assert rows["谁是你妈妈"]["toxicity"] == 0.0
    assert rows["我对你的感情，是人类和bot之间独有的信任和友谊 你可以把它叫做爱。"]["toxicity_terms"] == []
    # the same lines in Traditional characters (jieba's dictionary is Simplified)
    assert rows["我對你的感情，是人類和bot之間獨有的信任和友誼 你可以把它叫做愛。"]["toxicity_terms"] == []
    assert rows["誰是你媽媽"]["toxicity"] == 0.0
    assert lexicon_terms("是誰寫的白痴", "zh") == ["白痴"]


def test_language_is_detected_without_a_language_column(records):
    batch = pa.Table.from_pylist([{"text": r["text"]} for r in records])
    reasons = Toxicity().check(batch)
    assert reasons == ["toxic" if r["toxic"] else None for r in records]


def test_spanish_plural_and_phrases():
    assert lexicon_terms("Aiba la ostia, ¿pero qué cojones dices?", "es") == []
    assert lexicon_terms("¡Hijo de puta! Son unos cabrones.", "es") == ["hijo de puta", "cabrones"]
    assert "zh" in lexicon_languages() and len(lexicon_languages()) >= 20


def test_max_score_two_hits(records):
    step = Toxicity(max_score=0.9, english_model=False)
    texts = ["¡Hijo de puta! Son unos cabrones.", "la vida es una mierda"]
    assert step.check(pa.table({"text": texts, "language": ["es", "es"]})) == ["toxic", None]


def test_falls_back_to_the_word_list_without_alt_profanity_check(monkeypatch, records):
    real_import = builtins.__import__

    def no_profanity_check(name, *args, **kwargs):
        if name == "profanity_check":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_profanity_check)
    step = Toxicity()
    with pytest.warns(UserWarning, match="alt-profanity-check is not installed"):
        step.setup()
    text = next(r["text"] for r in records if "asshole" in r["text"])
    out = step.annotate(pa.table({"text": [text], "language": ["en"]})).to_pylist()[0]
    assert out["toxicity_categories"] == ["lexicon"] and "asshole" in out["toxicity_terms"]


def test_picklable_and_rejects_unknown_language():
    step = Toxicity()
    step.setup()
    assert "_english" not in pickle.loads(pickle.dumps(step)).__dict__
    with pytest.raises(ValueError, match="no toxicity word list"):
        Toxicity(languages=["xx"])


def test_per_turn_scores_each_turn_of_a_conversation(records):
    rude = next(r["text"] for r in records if r["text"] == "是谁写的白痴")
    clean = next(r["text"] for r in records if r["lang"] == "en" and not r["toxic"])
    convo = [{"role": "user", "content": clean}, {"role": "assistant", "content": rude}]
    batch = pa.table({"messages": [convo, convo[:1]]})
    step = Toxicity().target(role="assistant", per_turn=True)
    step.text_field = "messages"
    out = step.annotate(batch)
    assert out.column("toxicity_terms").to_pylist() == [["白痴"], []]
    assert step.check(out) == ["toxic", None]


@pytest.mark.slow
def test_optional_transformers_classifier(tmp_path):
    """A local text-classification model (here a tiny untrained BERT saved from a config) scores every language."""
    torch = pytest.importorskip("torch")
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"abcdefghijklmnopqrstuvwxyz", "白", "痴"]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64,
                        id2label={0: "non_toxic", 1: "toxic"}, label2id={"non_toxic": 0, "toxic": 1})
    BertForSequenceClassification(config).save_pretrained(tmp_path)
    BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt")).save_pretrained(tmp_path)

    step = Toxicity(model=str(tmp_path), english_model=False, max_score=0.99)
    out = step.annotate(pa.table({"text": ["hello there", "是谁写的白痴"], "language": ["en", "zh"]})).to_pylist()
    assert 0.0 < out[0]["toxicity"] < 1.0 and out[0]["toxicity_categories"] == []
    assert out[1]["toxicity_terms"] == ["白痴"] and out[1]["toxicity"] >= 0.75


def test_annotate_mode_drops_nothing(records):
    batch = pa.Table.from_pylist([{"text": r["text"], "language": r["lang"]} for r in records])
    step = Toxicity(mode="annotate")
    out = step.annotate(batch)
    assert step.check(out) == [None] * len(records)
    assert sum(s > 0.7 for s in out.column("toxicity").to_pylist()) == sum(r["toxic"] for r in records)
