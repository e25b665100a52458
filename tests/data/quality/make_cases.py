"""Rebuild cases.jsonl: real documents on which each quality rule fires (run by hand from the repo root).

For each filter and drop reason seen on benchmarks/data/quality/docs.jsonl.gz, the shortest English document
of 150-2500 characters (else any language) is kept with the reason instructkit gives; rules that never fire
on that corpus get a document built from real text (see SOURCES.md). Clean documents (English and Chinese)
that pass all four filters are kept as ``expect: keep``.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa

from instructkit.steps.quality import C4Quality, FineWebQuality, GopherQuality, GopherRepetition

HERE = Path(__file__).parent
DOCS = HERE.parents[2] / "benchmarks" / "data" / "quality" / "docs.jsonl.gz"
FILTERS = (GopherQuality(), GopherRepetition(), C4Quality(), FineWebQuality())


def main() -> None:
    docs = [json.loads(line) for line in gzip.open(DOCS, "rt", encoding="utf-8")]
    batch = pa.table({"text": [d["text"] for d in docs]})
    reasons = {f.name: f.check(batch) for f in FILTERS}
    cases = []
    for f in FILTERS:
        by_reason: dict[str, list[int]] = {}
        for i, r in enumerate(reasons[f.name]):
            if r and 150 <= len(docs[i]["text"]) <= 2500:
                by_reason.setdefault(r, []).append(i)
        for reason, idx in sorted(by_reason.items()):
            english = [i for i in idx if docs[i]["lang"] == "en"] or idx
            i = min(english, key=lambda i: (len(docs[i]["text"]), docs[i]["id"]))
            cases.append({**docs[i], "filter": f.name, "expect": reason})
    for f in FILTERS:  # Chinese documents that a rule drops, when the corpus has some
        for reason in sorted({r for r in reasons[f.name] if r}):
            zh = [i for i, r in enumerate(reasons[f.name]) if r == reason and docs[i]["lang"] == "zh-cn"
                  and docs[i]["source"] == "debian_docs" and 150 <= len(docs[i]["text"]) <= 2500]
            if zh:
                i = min(zh, key=lambda i: (len(docs[i]["text"]), docs[i]["id"]))
                cases.append({**docs[i], "filter": f.name, "expect": reason})
    passing = [i for i in range(len(docs)) if all(reasons[f.name][i] is None for f in FILTERS)
               and 300 <= len(docs[i]["text"]) <= 2500]
    for lang, n in (("en", 3), ("zh-cn", 3), ("zh-tw", 1), ("ja", 1)):
        for i in sorted((i for i in passing if docs[i]["lang"] == lang), key=lambda i: docs[i]["id"])[:n]:
            cases.append({**docs[i], "filter": "all", "expect": "keep"})
    with open(HERE / "cases.jsonl", "w", encoding="utf-8") as fh:
        for c in cases:
            fh.write(json.dumps(c, ensure_ascii=False) + "\n")
    print(len(cases), "cases")


if __name__ == "__main__":
    main()
