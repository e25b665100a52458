"""Build docs.jsonl.gz: real documents for the quality benchmarks (run once; needs /work/shared/corpora).

Python docs pages (PSF licence) and Debian documentation (debian-reference GPL-2+, debian-faq, maint-guide)
cut into documents of a few paragraphs, plus fortunes (BSD-style) in several languages. Deterministic.
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

CORPORA = Path("/work/shared/corpora")
OUT = Path(__file__).with_name("docs.jsonl.gz")


def read(name: str) -> list[dict]:
    with gzip.open(CORPORA / f"{name}.jsonl.gz", "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def chunks(text: str, size: int) -> list[str]:
    out, cur = [], []
    for para in text.split("\n\n"):
        cur.append(para)
        if sum(map(len, cur)) >= size:
            out.append("\n\n".join(cur).strip())
            cur = []
    if cur:
        out.append("\n\n".join(cur).strip())
    return [c for c in out if c]


def main() -> None:
    rng = random.Random(0)
    docs = []
    for name, n in (("python_docs", 1400), ("debian_docs", 1400)):
        pieces = []
        for r in read(name):
            for i, c in enumerate(chunks(r["text"], rng.choice((600, 1500, 4000)))):
                pieces.append({"lang": r["lang"], "source": name, "path": f"{r['path']}#{i}", "text": c})
        docs += rng.sample(pieces, min(n, len(pieces)))
    fortunes = read("fortunes")
    for lang, n in (("en", 900), ("zh", 200), ("de", 100), ("ru", 100)):
        pool = [r for r in fortunes if r["lang"] == lang]
        docs += [{"lang": lang, "source": "fortunes", "path": r["path"], "text": r["text"]}
                 for r in rng.sample(pool, n)]
    rng.shuffle(docs)
    with gzip.open(OUT, "wt", encoding="utf-8") as fh:
        for i, d in enumerate(docs):
            fh.write(json.dumps({"id": f"q{i}", **d}, ensure_ascii=False) + "\n")
    print(f"{len(docs)} docs -> {OUT} ({OUT.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
