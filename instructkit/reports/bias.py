"""``bias_audit``: who the data talks about, what it says about them, and whom the filters removed.

Three audits over a finished run (``data/*.parquet`` kept, ``rejected/*.parquet`` dropped with
``drop_step``), per language, with the term lexicons in ``instructkit/lexicons/bias`` (English, Chinese):

- terms: how many records mention each demographic group (gender, age, religion, nationality/ethnicity,
  disability, sexual orientation), before and after filtering;
- co-occurrence: descriptive words that appear with a group more than expected (PMI, in bits);
- drop rates: for every step that dropped records, its drop rate per language and per group, flagged
  when a slice loses ``flag_ratio`` times the overall rate.

    reports:
      - bias_audit: {min_count: 5, flag_ratio: 2.0}
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from instructkit.reports import register_report
from instructkit.text import is_cjk_text

LEXICON_LANGUAGES = ("en", "zh")
_SKIP_FIELDS = {"drop_step", "drop_reason", "language", "id", "source", "path"}
_EN_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


@cache
def load_lexicon(lang: str) -> dict[str, Any]:
    path = resources.files("instructkit") / "lexicons" / "bias" / f"{lang}.json"
    return json.loads(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _zh_tokenizer() -> Any:
    import jieba

    jieba.setLogLevel(60)
    tokenizer = jieba.Tokenizer()
    lex = load_lexicon("zh")
    for groups in lex["groups"].values():
        for terms in groups.values():
            for term in terms:
                tokenizer.add_word(term)
    for word in lex["descriptors"]:
        tokenizer.add_word(word)
    return tokenizer


@lru_cache(maxsize=1)
def _zh_any_term() -> re.Pattern[str]:
    lex = load_lexicon("zh")
    terms = {t for groups in lex["groups"].values() for ts in groups.values() for t in ts} | set(lex["descriptors"])
    return re.compile("|".join(map(re.escape, sorted(terms, key=len, reverse=True))))


_ZH_SENTENCE = re.compile(r"[^。！？!?；;\n]+")


def words(text: str, lang: str) -> list[str]:
    """Whole words: lower-cased Latin words for English; for Chinese, jieba words of the sentences that
    hold a lexicon term as a substring (the rest cannot match, and segmenting them is most of the cost)."""
    if lang == "zh":
        tokenizer, any_term = _zh_tokenizer(), _zh_any_term()
        return [
            w
            for sentence in _ZH_SENTENCE.findall(text)
            if any_term.search(sentence)
            for w in tokenizer.lcut(sentence, HMM=False)
            if w.strip()
        ]
    return _EN_WORD.findall(text.lower())


@cache
def _index(lang: str) -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]], frozenset[str]]:
    """(single-word term -> group, multi-word term -> group, descriptors) of a lexicon."""
    single, multi = {}, {}
    for group, subgroups in load_lexicon(lang)["groups"].items():
        for sub, terms in subgroups.items():
            for term in terms:
                (multi if " " in term else single)[term] = (group, sub)
    return single, multi, frozenset(load_lexicon(lang)["descriptors"])


def mentions(tokens: list[str], lang: str) -> tuple[Counter[tuple[str, str]], set[str]]:
    """``(mentions per (group, subgroup), descriptors present)`` in one record's words."""
    single, multi, descriptors = _index(lang)
    found: Counter[tuple[str, str]] = Counter(single[t] for t in tokens if t in single)
    if multi:
        joined = f" {' '.join(tokens)} "
        for term, key in multi.items():
            n = joined.count(f" {term} ")
            if n:
                found[key] += n
    return found, descriptors.intersection(tokens)


def record_text(record: dict[str, Any], fields: list[str] | None) -> str:
    """The text of a record: the given fields, else every string field (and chat ``messages`` contents)."""
    parts = []
    for key, value in record.items():
        if fields is not None and key not in fields:
            continue
        if fields is None and key in _SKIP_FIELDS:
            continue
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, list):
            parts.extend(m["content"] for m in value if isinstance(m, dict) and isinstance(m.get("content"), str))
    return "\n".join(parts)


def _read(folder: Path) -> Iterator[dict[str, Any]]:
    """Records of a folder of Parquet files, a batch at a time (the audit keeps only small summaries)."""
    for path in sorted(folder.glob("*.parquet")) if folder.is_dir() else ():
        for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
            yield from batch.to_pylist()


@register_report("bias_audit")
def bias_audit(
    output: Path,
    stats: dict[str, Any] | None = None,
    *,
    fields: list[str] | None = None,
    language_field: str = "language",
    min_count: int = 5,
    flag_ratio: float = 2.0,
    top: int = 5,
) -> dict[str, Any]:
    output = Path(output)
    records = itertools.chain(
        ((r, None) for r in _read(output / "data")),
        ((r, r.get("drop_step") or "unknown") for r in _read(output / "rejected")),
    )
    # one pass: language, groups mentioned, descriptors present, drop step
    docs = []
    for record, step in records:
        text = record_text(record, fields)
        lang = record.get(language_field) or ("zh" if is_cjk_text(text) else "en")
        lang = re.split(r"[-_]", lang)[0].lower()  # zh-cn, zh_TW -> zh
        lex_lang = lang if lang in LEXICON_LANGUAGES else None
        found, described = mentions(words(text, lex_lang), lex_lang) if lex_lang else (Counter(), set())
        docs.append((lang, found, described, step))

    terms = _term_audit(docs)
    cooc = _cooccurrence(docs, min_count, top)
    drops = _drop_audit(docs, min_count, flag_ratio)
    flagged = [d for d in drops if d["flag"]]
    result = {
        "records": {"kept": sum(d[3] is None for d in docs), "rejected": sum(d[3] is not None for d in docs)},
        "terms": terms,
        "cooccurrence": cooc,
        "drop_rates": drops,
        "flags": flagged,
    }
    result["markdown"] = _markdown(result, flag_ratio)
    return result


def _term_audit(docs: list) -> dict[str, Any]:
    """Per language and (group.subgroup): records mentioning it, their share, mentions; before and after."""
    out: dict[str, Any] = {}
    by_lang: dict[str, list] = defaultdict(list)
    for d in docs:
        by_lang[d[0]].append(d)
    for lang, items in sorted(by_lang.items()):
        kept = [d for d in items if d[3] is None]
        table: dict[str, Any] = {}
        keys = sorted({k for d in items for k in d[1]})
        for group, sub in keys:
            after = [d[1][(group, sub)] for d in kept if (group, sub) in d[1]]
            before = sum(1 for d in items if (group, sub) in d[1])
            table[f"{group}.{sub}"] = {
                "records": len(after),
                "share": round(len(after) / len(kept), 4) if kept else 0.0,
                "mentions": sum(after),
                "records_before_filtering": before,
            }
        out[lang] = {"records": len(kept), "records_before_filtering": len(items), "groups": table}
    return out


def _cooccurrence(docs: list, min_count: int, top: int) -> dict[str, Any]:
    """Descriptors over-represented with each group in kept records: PMI = log2 P(w|g) / P(w)."""
    out: dict[str, Any] = {}
    for lang in LEXICON_LANGUAGES:
        kept = [d for d in docs if d[3] is None and d[0] == lang]
        n = len(kept)
        word_docs = Counter(w for d in kept for w in d[2])
        group_docs = Counter(k for d in kept for k in d[1])
        pair_docs = Counter((k, w) for d in kept for k in d[1] for w in d[2])
        table: dict[str, list] = {}
        for (group, sub), n_g in sorted(group_docs.items()):
            rows = []
            for w, n_w in word_docs.items():
                n_gw = pair_docs[((group, sub), w)]
                if n_gw >= min_count:
                    rows.append({"word": w, "pmi": round(math.log2(n_gw * n / (n_g * n_w)), 3), "records": n_gw})
            rows.sort(key=lambda r: (-r["pmi"], r["word"]))
            if rows:
                table[f"{group}.{sub}"] = rows[:top]
        if table:
            out[lang] = table
    return out


def _drop_audit(docs: list, min_count: int, flag_ratio: float) -> list[dict[str, Any]]:
    """Drop rate of each step per language and per group, against the step's overall rate."""
    total = len(docs)
    steps = sorted({d[3] for d in docs if d[3] is not None})
    slices: dict[str, list] = defaultdict(list)
    for d in docs:
        slices[f"language={d[0]}"].append(d)
        for group, sub in d[1]:
            slices[f"{group}.{sub}"].append(d)
    rows = []
    for step in steps:
        overall = sum(1 for d in docs if d[3] == step) / total
        for name, items in sorted(slices.items()):
            dropped = sum(1 for d in items if d[3] == step)
            rate = dropped / len(items)
            ratio = rate / overall if overall else 0.0
            rows.append({
                "step": step,
                "slice": name,
                "records": len(items),
                "dropped": dropped,
                "rate": round(rate, 4),
                "overall_rate": round(overall, 4),
                "ratio": round(ratio, 2),
                "flag": len(items) >= min_count and dropped >= min(min_count, 3) and ratio >= flag_ratio,
            })
    return rows


def _markdown(result: dict[str, Any], flag_ratio: float) -> str:
    lines = ["### Bias audit", ""]
    flags = result["flags"]
    if flags:
        lines.append(f"**{len(flags)} slice(s) lost at least {flag_ratio:g}x a step's overall drop rate:**")
        lines += ["", "| step | slice | records | dropped | rate | overall | ratio |", "|---|---|---:|---:|---:|---:|---:|"]
        for d in flags:
            lines.append(
                f"| {d['step']} | {d['slice']} | {d['records']} | {d['dropped']} | {d['rate']:.1%} "
                f"| {d['overall_rate']:.1%} | {d['ratio']:.1f}x |"
            )
    else:
        lines.append(f"No language or group lost {flag_ratio:g}x a step's overall drop rate.")
    lines += ["", "Records mentioning each group (kept; before filtering in brackets):", ""]
    lines += ["| language | group | records | share | mentions |", "|---|---|---:|---:|---:|"]
    for lang, info in result["terms"].items():
        for key, g in info["groups"].items():
            lines.append(
                f"| {lang} | {key} | {g['records']} ({g['records_before_filtering']}) | {g['share']:.1%} | {g['mentions']} |"
            )
    if result["cooccurrence"]:
        lines += ["", "Descriptive words most over-represented with each group (PMI, bits):", ""]
        lines += ["| language | group | words |", "|---|---|---|"]
        for lang, table in result["cooccurrence"].items():
            for key, rows in table.items():
                lines.append(f"| {lang} | {key} | " + ", ".join(f"{r['word']} ({r['pmi']:+.1f})" for r in rows) + " |")
    return "\n".join(lines) + "\n"
