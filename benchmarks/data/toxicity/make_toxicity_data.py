"""Build fortunes_offensive.jsonl.gz: Debian's offensive fortunes (fortunes-es-off, fortunes-it-off) and
as many ordinary fortunes of the same language, {"lang", "offensive", "path", "text"}. Run once by a
maintainer; the benchmark reads only the output. English and Chinese fortunes (none marked offensive) are
added to measure false alarms on ordinary text. Spanish offensive fortunes ship ROT13-encoded: decoded."""

from __future__ import annotations

import codecs
import gzip
import json
import random
import re
import sys
from pathlib import Path

CORPORA = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/corpora")
PER_CLASS = 400
ANSI = re.compile(r"\x1b\[[0-9;]*m")
COMMON = {"de", "la", "que", "el", "en", "y", "a", "los", "se", "del", "las", "un", "por", "con", "no",
          "il", "di", "che", "e", "non", "per", "una", "sono", "mi", "ma", "lo"}


def readable(text: str) -> str:
    """Undo ROT13 when the decoded text has more common Spanish/Italian words."""
    def hits(t: str) -> int:
        return sum(w in COMMON for w in re.findall(r"[a-z]+", t.lower()))

    decoded = codecs.decode(text, "rot13")
    return decoded if hits(decoded) > hits(text) else text


def main() -> None:
    groups: dict[tuple[str, bool], list[dict]] = {}
    for line in gzip.open(CORPORA / "fortunes.jsonl.gz", "rt", encoding="utf-8"):
        r = json.loads(line)
        if r["lang"] in ("es", "it", "en", "zh"):
            off = bool(r.get("offensive"))
            text = ANSI.sub("", readable(r["text"]) if off else r["text"]).strip()
            if 20 <= len(text) <= 1500:
                groups.setdefault((r["lang"], off), []).append({"lang": r["lang"], "offensive": off, "path": r["path"], "text": text})
    rng = random.Random(0)
    rows = []
    for key in sorted(groups):
        items = groups[key]
        rng.shuffle(items)
        rows += items[:PER_CLASS]
    with gzip.open(Path(__file__).with_name("fortunes_offensive.jsonl.gz"), "wt", encoding="utf-8", compresslevel=9) as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(len(rows), {k: min(len(v), PER_CLASS) for k, v in sorted(groups.items())})


if __name__ == "__main__":
    main()
