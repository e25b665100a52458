"""Near-duplicates with known similarity, for calibrating thresholds and testing dedup on real text.

``corrupt(text, kind, strength, rng)`` makes the kinds of copies real corpora contain: token edits
(word substitutions, deletions, insertions; characters in Chinese and Japanese), whitespace and
punctuation changes, and truncation. ``jaccard`` is the exact shingle Jaccard the MinHash steps estimate.
"""

from __future__ import annotations

import random
import re

from instructkit.text import is_cjk, tokens

KINDS = ("edit", "format", "truncate", "mixed")


def shingles(text: str, ngram: int = 5) -> set[tuple[str, ...]]:
    """``ngram``-token shingles of normalised text (a short text is one shingle of all its tokens)."""
    toks = tokens(text)
    if len(toks) < ngram:
        return {tuple(toks)} if toks else set()
    return {tuple(toks[i : i + ngram]) for i in range(len(toks) - ngram + 1)}


def jaccard(a: str, b: str, ngram: int = 5) -> float:
    sa, sb = shingles(a, ngram), shingles(b, ngram)
    return len(sa & sb) / len(sa | sb) if sa or sb else 1.0


_PIECE = re.compile(r"\s+|[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]|[^\s\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]+")


def corrupt(text: str, kind: str, strength: float, rng: random.Random) -> str:
    """A copy of ``text`` changed by ``kind`` (one of ``KINDS``); ``strength`` in [0, 1] is the share of
    tokens edited (``edit``), of separators/punctuation changed (``format``) or of text cut (``truncate``)."""
    if kind == "mixed":
        text = corrupt(text, "format", strength, rng)
        return corrupt(text, "edit", strength / 2, rng)
    if kind == "truncate":
        return text[: max(1, int(len(text) * (1 - strength)))]
    pieces = _PIECE.findall(text)
    if kind == "format":
        out = []
        for p in pieces:
            if p.isspace() and rng.random() < strength:
                out.append(rng.choice([" ", "  ", "\n", "\t "]))
            elif not p.isspace() and rng.random() < strength / 2:
                out.append(p.rstrip(",.;:!?，。；：") + rng.choice(["", ",", ".", "!", "，"]))
            elif not p.isspace() and rng.random() < strength / 4:
                out.append(p.upper() if rng.random() < 0.5 else p.capitalize())
            else:
                out.append(p)
        return "".join(out)
    if kind == "edit":
        words = [i for i, p in enumerate(pieces) if not p.isspace()]
        vocabulary = [pieces[i] for i in words] or ["x"]
        for i in sorted(rng.sample(words, int(len(words) * strength)), reverse=True):
            op = rng.random()
            cjk = is_cjk(pieces[i][0])
            if op < 0.4:
                pieces[i] = rng.choice(vocabulary)
            elif op < 0.7:
                del pieces[i]
                if not cjk and i < len(pieces) and pieces[i].isspace():
                    del pieces[i]
            else:
                pieces.insert(i, rng.choice(vocabulary) + ("" if cjk else " "))
        return "".join(pieces)
    raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
