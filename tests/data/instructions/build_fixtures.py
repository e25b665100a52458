"""Rebuild the fixtures in this folder (and instructkit/samples/instructions/) from their real sources.

Needs the chatterbot-corpus package and the project's corpora folder; the tests only read the output.
    python tests/data/instructions/build_fixtures.py /work/shared/corpora
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import chatterbot_corpus
import yaml

HERE = Path(__file__).resolve().parent
SAMPLES = HERE.parents[2] / "instructkit" / "samples" / "instructions"
CHATTERBOT = Path(chatterbot_corpus.__file__).parent / "data"
LANGS = {"english": "en", "chinese": "zh"}


def chatterbot() -> list[dict]:
    out = []
    for folder, lang in LANGS.items():
        for f in sorted((CHATTERBOT / folder).glob("*.yml")):
            data = yaml.safe_load(f.read_text(encoding="utf-8"))
            for n, turns in enumerate(data["conversations"]):
                turns = [str(t).strip() for t in turns]
                out.append({"id": f"{lang}-{f.stem}-{n}", "lang": lang, "category": f.stem, "turns": turns})
    return out


def write(path: Path, records: list[dict]) -> None:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
    if path.suffix == ".gz":
        text = gzip.compress(text, mtime=0)  # byte-identical rebuilds
    path.write_bytes(text)


CHAT_TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}<|end|>\n{% endfor %}"
                 "{% if add_generation_prompt %}<|assistant|>\n{% endif %}")


def tokenizer(convs: list[dict], path: Path) -> None:
    """A small byte-level BPE trained on every chatterbot turn, with a chat template (no Hub download)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<|end|>", "<|system|>", "<|user|>", "<|assistant|>"]
    trainer = trainers.BpeTrainer(vocab_size=2000, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([t for c in convs for t in c["turns"]], trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|end|>", pad_token="<|end|>",
                                   additional_special_tokens=specials[1:], model_max_length=2048)
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(path)


def main(corpora: Path) -> None:
    convs = chatterbot()
    # Fixture: a few exchanges per topic and language, plus the multi-turn English conversations.
    seen: dict[tuple, int] = {}
    fixture = []
    for c in convs:
        key = (c["lang"], c["category"], len(c["turns"]) > 2)
        if seen.get(key, 0) < (12 if key[2] else 4):
            seen[key] = seen.get(key, 0) + 1
            fixture.append(c)
    write(HERE / "chatterbot.jsonl", fixture)

    # Sample: every two-turn exchange as Alpaca, and the same exchanges as a labelled QA/topic set.
    pairs = [c for c in convs if len(c["turns"]) == 2]
    write(SAMPLES / "chatterbot-alpaca.jsonl.gz", [
        {"id": c["id"], "instruction": c["turns"][0], "input": "", "output": c["turns"][1],
         "category": c["category"], "lang": c["lang"]} for c in pairs])
    write(SAMPLES / "chatterbot-labelled.jsonl.gz", [
        {"id": c["id"], "question": c["turns"][0], "answer": c["turns"][1], "topic": c["category"],
         "lang": c["lang"]} for c in pairs if c["category"] not in ("botprofile", "tech_support")])

    tokenizer(convs, SAMPLES / "tokenizer")

    docs = {}
    for name in ("debian_docs", "python_docs", "fortunes"):
        with gzip.open(corpora / f"{name}.jsonl.gz", "rt", encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                docs[(r["path"], r.get("idx"))] = r
    wanted = ["/usr/share/doc/debian/FAQ/basic-defs.en.html", "/usr/share/doc/debian/FAQ/zh-cn/basic-defs.zh-cn.html",
              "/usr/share/doc/python3.11/html/faq/general.html"]
    faq = []
    for path in wanted:
        r = next(v for (p, _), v in docs.items() if p == path)
        faq.append({"id": Path(path).name, "lang": r["lang"], "source": r["source"], "path": path, "text": r["text"]})
    decimal = next(v for (p, _), v in docs.items() if p.endswith("library/decimal.html"))["text"]
    start = decimal.index("Decimal FAQ¶")
    faq.append({"id": "decimal-faq", "lang": "en", "source": "debian:python3.11-doc",
                "path": "/usr/share/doc/python3.11/html/library/decimal.html#decimal-faq",
                "text": decimal[start:decimal.rindex("\nQ. ", start, start + 4000)]})
    riddles = [v for (p, _), v in docs.items() if p.endswith("fortunes/riddles") and v["text"].startswith("Q:")]
    for r in riddles[:6]:
        faq.append({"id": f"riddles-{r['idx']}", "lang": "en", "source": r["source"], "path": r["path"],
                    "text": r["text"]})
    write(HERE / "faq_docs.jsonl", faq)

    # Sample: every FAQ page of the Debian FAQ (English, Simplified Chinese) and the Python FAQ.
    pages = sorted((v for (p, _), v in docs.items() if ("/FAQ/" in p and v["lang"] in ("en", "zh-cn"))
                    or "/html/faq/" in p), key=lambda v: v["path"])
    write(SAMPLES / "faq-docs.jsonl.gz", [{"id": v["path"].rsplit("/", 1)[1], "lang": v["lang"],
                                          "source": v["source"], "path": v["path"], "text": v["text"]}
                                         for v in pages])


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/corpora"))
