"""Do instructkit's Gopher / C4 / FineWeb filters keep and drop the same documents as datatrove's?

    python benchmarks/quality_agreement.py [--limit N] [--show K]

Runs both (datatrove with its defaults: English spaCy tokenizer) on benchmarks/data/quality/docs.jsonl.gz
(4,100 real documents: Python and Debian docs in 13 languages, fortunes) and prints, per filter, the share
of documents on which the keep/drop decision agrees, separately for space-delimited scripts and for
Chinese/Japanese, plus the most common disagreements.

Deliberate differences:
- Han/Kana: a character is a word; the mean-word-length rule is skipped; stop words are 的/了/是... (zh)
  or の/に/は... (ja); repetition n-grams are of characters with n doubled; C4 accepts 。！？ and counts
  characters as words per line; FineWeb counts a Han/Kana character twice in a line's length. datatrove
  counts Chinese words by spaces and drops nearly every Chinese document (Gopher keeps 6 of 437 here).
- Stop words follow the document's language (a `language` column, else the script); Korean documents skip
  the English stop-word rule instead of failing it.
- Words come from regular expressions that follow spaCy's English prefix/suffix/infix rules but not its
  exception tables ("e.g.", "Dr.", "cannot") or URL matcher; C4 sentences follow spaCy's sentencizer on
  those tokens.
- Repeated n-grams are compared token by token (datatrove joins tokens without a separator first, so
  ("ab", "c") equals ("a", "bc")); terminal punctuation is Unicode's Sentence_Terminal property.
- c4_quality only decides and never rewrites the text (datatrove's removes the lines it rejects from the
  documents it keeps).
- Reasons are prefixed and a few renamed: gopher_few_stop_words (datatrove: gopher_enough_stop_words),
  gopher_dup_*/top_*/duplicated_*/empty (no prefix), c4_no_terminal_punct split out of c4_too_few_sentences
  (same decision), fineweb_newline_ratio (list_ratio).
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import warnings
from collections import Counter
from pathlib import Path

import pyarrow as pa

from instructkit.steps.quality import C4Quality, FineWebQuality, GopherQuality, GopherRepetition

DATA = Path(__file__).parent / "data" / "quality" / "docs.jsonl.gz"


def load(limit: int | None) -> list[dict]:
    with gzip.open(DATA, "rt", encoding="utf-8") as fh:
        docs = [json.loads(line) for line in fh]
    return docs[:limit] if limit else docs


def datatrove_filters() -> dict:
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )
    return {"gopher_quality": GopherQualityFilter(), "gopher_repetition": GopherRepetitionFilter(),
            "c4_quality": C4QualityFilter(), "fineweb_quality": FineWebQualityFilter()}


def datatrove_reasons(flt, docs: list[dict]) -> list[str | None]:
    from datatrove.data import Document

    out = []
    for d in docs:
        result = flt.filter(Document(text=d["text"], id=d["id"]))
        out.append(None if result is True else (result[1] if isinstance(result, tuple) else "dropped"))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int)
    ap.add_argument("--show", type=int, default=0, help="print this many disagreeing documents per filter")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    docs = load(args.limit)
    batch = pa.Table.from_pylist([{"id": d["id"], "text": d["text"]} for d in docs])
    cjk = [d["lang"].split("-")[0] in ("zh", "ja") for d in docs]
    ours = {"gopher_quality": GopherQuality(), "gopher_repetition": GopherRepetition(),
            "c4_quality": C4Quality(), "fineweb_quality": FineWebQuality()}
    print(f"{len(docs)} documents ({sum(cjk)} Chinese/Japanese)")
    print(f"{'filter':<20}{'agree (other scripts)':>24}{'agree (zh/ja)':>16}{'kept ik/dt (other)':>22}"
          f"{'kept ik/dt (zh/ja)':>22}")
    for name, flt in datatrove_filters().items():
        ik = ours[name].check(batch)
        dt = datatrove_reasons(flt, docs)
        row = [name]
        for want in (False, True):
            idx = [i for i, c in enumerate(cjk) if c is want]
            same = sum((ik[i] is None) == (dt[i] is None) for i in idx)
            row.append(f"{same}/{len(idx)} = {same / max(len(idx), 1):.1%}")
        kept = [(sum(ik[i] is None for i, c in enumerate(cjk) if c is want),
                 sum(dt[i] is None for i, c in enumerate(cjk) if c is want)) for want in (False, True)]
        print(f"{row[0]:<20}{row[1]:>24}{row[2]:>16}{'{}/{}'.format(*kept[0]):>22}{'{}/{}'.format(*kept[1]):>22}")
        diffs = Counter((ik[i], dt[i]) for i in range(len(docs)) if (ik[i] is None) != (dt[i] is None) and not cjk[i])
        for (a, b), n in diffs.most_common(6):
            print(f"    other scripts: instructkit {a or 'keep'} / datatrove {b or 'keep'}: {n}")
        shown = 0
        for i in range(len(docs)):
            if shown < args.show and not cjk[i] and (ik[i] is None) != (dt[i] is None):
                shown += 1
                print(f"--- {docs[i]['id']} {docs[i]['lang']} ik={ik[i]} dt={dt[i]}\n{docs[i]['text'][:600]!r}")


if __name__ == "__main__":
    main()
