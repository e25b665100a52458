"""Heuristic quality filters with the published rules and thresholds: Gopher quality, Gopher repetition,
C4 and FineWeb — script-aware, and computed as polars expressions over whole batches.

Each filter first *scores* (one measurement per rule) and then *decides* (the first rule whose threshold
is crossed names the drop reason). ``mode: annotate`` writes the measurements as columns and drops
nothing, so thresholds can be chosen from their distributions; ``mode: both`` writes them and filters.

Words. Space-delimited scripts are split into words and punctuation tokens (close to the spaCy
tokenizer datatrove uses). Han and Kana characters are one word each, so Chinese and Japanese are not
"one long word" per line. A document is treated as Han/Kana when at least half its words are. Rules per
script:

| rule | space-delimited (Latin, Cyrillic, Hangul...) | Han / Kana |
|---|---|---|
| Gopher word count, # and ellipsis per word, bullet and ellipsis lines, words with a letter | as published | a character is a word |
| Gopher mean word length (3-10) | as published | skipped |
| Gopher stop words (>= 2) | tokens, list of the `language` column or English (Hangul: skipped) | characters 的 了 是 在... / の に は を... |
| Gopher repetition: lines, paragraphs | as published | as published |
| Gopher repetition: top 2-4-grams, repeated 5-10-grams | word n-grams | character n-grams, n doubled |
| C4 terminal punctuation | `. ? ! " '` | also `。！？．」』`, and `”’` after them |
| C4 words per line (>= 3), sentences (>= 5) | whitespace words; spaCy-like sentences | + one word per character; `。！？` end sentences |
| C4 lorem ipsum, javascript, policy, curly bracket | as published | as published |
| FineWeb line punctuation, duplicate lines, newline ratio | as published | as published (a character is a word) |
| FineWeb short lines (<= 30 characters) | characters | a Han/Kana character counts twice |
"""

from __future__ import annotations

import re
from typing import ClassVar, Literal

import numpy as np
import polars as pl
import pyarrow as pa

from instructkit.lexicons import STOP_WORDS, UNSEGMENTED
from instructkit.steps.base import Filter, set_column

CJK = "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
KANA = "\u3040-\u30ff\u31f0-\u31ff"
_META = set("\\.+*?()|[]{}^$#&-~")


def _chars(chars: str) -> str:
    """``chars`` escaped for a character class of polars' (Rust) regex."""
    return "".join("\\" + c if c in _META else c for c in chars)


# Tokens follow spaCy's English tokenizer (what datatrove counts with), simplified: whitespace chunks lose
# prefix and suffix punctuation one character at a time; hyphens, slashes and apostrophes between letters,
# hyphens between digits and a period between a lower- and an upper-case letter split a chunk; everything
# else inside a chunk stays whole (``os.path.join(a``, ``UTF-8``, ``-o``).
_PUNCT = "…,:;!?¿؟¡()[]{}<>_#*&。？！，、；：～·।،۔؛٪'\"”“`‘´’‚„»«「」『』（）〔〕【】《》〈〉"
_PRE = _chars("§%=—–+$£€¥" + _PUNCT) + "\\p{So}"
_SUF = _chars("%—–." + _PUNCT) + "\\p{So}"
_HYPHEN = r"([\p{L}\p{N}])(---|--|——|[-–—~:<>=/])(\p{L})"
_NUMERIC_INFIX = r"(\p{N})([-+*^])(\p{N})"
_CASE_PERIOD = r"(\p{Ll})(\.)(\p{Lu})"
_CONTRACTION = r"(\p{L})(n['’]t|['’](?:[sSdDmM]|ll|LL|re|RE|ve|VE))([^\p{L}\p{N}_]|$)"  # no \b: slow in Rust
_CORE = f"[^\\s{_PRE}{CJK}](?:[^\\s{CJK}]*[^\\s{_SUF}{CJK}])?"
TOKEN = f"[{CJK}]|\\.\\.\\.+|['’](?:[sSdDmM]|ll|LL|re|RE|ve|VE)|[{_PRE}]|{_CORE}"
"""A word or punctuation token; a Han/Kana character is a token of its own."""
# datatrove's PUNCTUATION: a token made only of these (or sentence terminators) is a symbol, not a word.
_SYMBOLS = _chars("!/—”:％１〈&(、━\\【#%「」，】；+^]~“《„';’{|∶´[=-`*．（–？！：$～«〉,><》)?）。…@_.\"}►»") + \
    "\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\\p{Sentence_Terminal}"
IS_WORD = f"[^{_SYMBOLS}]"


def tokenize(text: str) -> list[str]:
    """Words and punctuation tokens of one text (see ``token_list``)."""
    return pl.select(token_list(pl.lit(text, dtype=pl.String))).item().to_list()


def _split_infixes(t: pl.Expr) -> pl.Expr:
    for infix in (_HYPHEN, _NUMERIC_INFIX, _CASE_PERIOD):
        t = t.str.replace_all(infix, "$1 $2 $3")
    return t.str.replace_all(_CONTRACTION, "$1 $2$3")


def token_list(t: pl.Expr) -> pl.Expr:
    """Words and punctuation tokens of each text, as a polars list (the vectorised ``tokenize``)."""
    return _split_infixes(t).str.extract_all(TOKEN)


def token_count(t: pl.Expr) -> pl.Expr:
    return _split_infixes(t).str.count_matches(TOKEN)


Mode = Literal["filter", "annotate", "both"]


def _lines(t: pl.Expr) -> pl.Expr:
    """Number of lines as ``str.splitlines`` counts them."""
    return t.str.count_matches("\n", literal=True) + (~t.str.ends_with("\n") & (t.str.len_chars() > 0)).cast(pl.Int64)


class _Heuristic(Filter):
    """Score a batch into measurement columns, then decide from them with ordered rules."""

    prefix: ClassVar[str]
    #: Reason for an empty text when no rule of the filter would name it.
    empty_reason: ClassVar[str | None] = None
    mode: Mode

    def measure(self, texts: pl.Series, batch: pa.Table) -> pl.DataFrame:
        """One column per measurement, named ``<prefix>_<measure>``."""
        raise NotImplementedError

    def rules(self) -> list[tuple[str, pl.Expr]]:
        """``(reason, condition)`` in the order the published filter applies them."""
        raise NotImplementedError

    def _texts(self, batch: pa.Table) -> pl.Series:
        return pl.Series("t", self.texts(batch), dtype=pl.String).fill_null("")

    def annotate(self, batch: pa.Table) -> pa.Table:
        if self.mode == "filter":
            return batch
        scores = self.measure(self._texts(batch), batch)
        for column in scores.columns:
            batch = set_column(batch, column, scores[column].to_arrow())
        return batch

    def check(self, batch: pa.Table) -> list[str | None]:
        if self.mode == "annotate":
            return [None] * batch.num_rows
        if self.per_turn:  # each targeted turn is judged as a document of its own
            flat, owner, missing = self.flat_turns(batch)
            scores = self.measure(pl.Series("t", flat, dtype=pl.String), batch.take(owner))
            return self.first_reasons(self.decide(scores, flat), owner, missing)
        names = self.score_columns() if self.mode == "both" else []
        if names and all(name in batch.column_names for name in names):  # written by annotate just before
            scores = pl.from_arrow(batch.select(names))
        else:
            scores = self.measure(self._texts(batch), batch)
        return self.decide(scores, self.texts(batch))

    def decide(self, scores: pl.DataFrame, texts: list[str | None]) -> list[str | None]:
        """The first rule that fires for each row of measurements (``no_text`` where there is no text)."""
        decision = pl.lit(None, dtype=pl.String)
        for reason, condition in reversed(self.rules()):
            decision = pl.when(condition).then(pl.lit(reason)).otherwise(decision)
        reasons = scores.select(decision.alias("r"))["r"].to_list()
        for i, text in enumerate(texts):
            if text is None:
                reasons[i] = "no_text"
            elif not text and self.empty_reason:
                reasons[i] = self.empty_reason
        return reasons

    def score_columns(self) -> list[str]:
        """Names of the measurement columns this filter writes."""
        empty = pa.table({self.field_name(): pa.array([], pa.string())})
        return self.measure(pl.Series("t", [], dtype=pl.String), empty).columns

    def _col(self, name: str) -> pl.Expr:
        return pl.col(f"{self.prefix}_{name}")


def _check_mode(mode: str) -> None:
    if mode not in ("filter", "annotate", "both"):
        raise ValueError(f"mode must be filter, annotate or both, not {mode!r}")


class GopherQuality(_Heuristic):
    """Gopher's quality rules (Rae et al. 2021, table A1) with their published thresholds.

    Drops documents outside ``min_doc_words``..``max_doc_words`` words (``gopher_short_doc``,
    ``gopher_long_doc``), with a mean word length outside 3..10 (``gopher_below_avg_threshold``,
    ``gopher_above_avg_threshold``; not applied to Chinese/Japanese), more than 0.1 ``#`` or ellipses per word
    (``gopher_too_many_hashes``, ``gopher_too_many_ellipsis``), over 90 % of lines starting with a bullet
    (``gopher_too_many_bullets``), over 30 % ending with an ellipsis (``gopher_too_many_end_ellipsis``), under
    80 % of words with a letter (``gopher_below_alpha_threshold``) or fewer than ``min_stop_words`` distinct
    stop words of its language (``gopher_few_stop_words``). The language is ``language_field`` when the
    records have it (as ``language_id`` writes), else guessed from the script (Han -> zh, Kana -> ja,
    Hangul -> ko, else en); languages without a stop-word list (ko among them) skip that rule. ``null``
    disables a rule.

    ```yaml
    - gopher_quality: {min_doc_words: 50, max_doc_words: 100000, mode: filter}
    ```
    """

    name = "gopher_quality"
    prefix = "gopher"

    def __init__(
        self,
        *,
        field: str | None = None,
        mode: Mode = "filter",
        min_doc_words: int | None = 50,
        max_doc_words: int | None = 100000,
        min_avg_word_length: float | None = 3,
        max_avg_word_length: float | None = 10,
        max_symbol_word_ratio: float | None = 0.1,
        max_bullet_lines_ratio: float | None = 0.9,
        max_ellipsis_lines_ratio: float | None = 0.3,
        min_alpha_words_ratio: float | None = 0.8,
        min_stop_words: int | None = 2,
        stop_words: dict[str, list[str]] | None = None,
        language_field: str | None = "language",
    ) -> None:
        _check_mode(mode)
        self.field = field
        self.mode = mode
        self.min_doc_words = min_doc_words
        self.max_doc_words = max_doc_words
        self.min_avg_word_length = min_avg_word_length
        self.max_avg_word_length = max_avg_word_length
        self.max_symbol_word_ratio = max_symbol_word_ratio
        self.max_bullet_lines_ratio = max_bullet_lines_ratio
        self.max_ellipsis_lines_ratio = max_ellipsis_lines_ratio
        self.min_alpha_words_ratio = min_alpha_words_ratio
        self.min_stop_words = min_stop_words
        self.stop_words = stop_words
        self.language_field = language_field

    def _stop_found(self, lang: str) -> pl.Expr:
        """Distinct stop words of ``lang`` in each text: tokens, as datatrove compares them; substrings
        for languages written without spaces."""
        words = sorted({**STOP_WORDS, **(self.stop_words or {})}[lang])
        if lang in UNSEGMENTED:
            pattern = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
            return pl.col("t").str.extract_all(pattern).list.n_unique()
        return pl.col("tok").list.eval(pl.element().filter(pl.element().is_in(words)).n_unique()).list.first()

    def measure(self, texts: pl.Series, batch: pa.Table) -> pl.DataFrame:
        t = pl.col("t")
        df = pl.DataFrame([texts])
        if self.language_field and self.language_field in batch.column_names:
            lang = pl.Series("lang", batch.column(self.language_field).to_pylist(), dtype=pl.String)
            df = df.with_columns(lang.str.to_lowercase().str.extract(r"^([a-z]+)").alias("lang"))
        else:
            df = df.with_columns(lang=pl.lit(None, dtype=pl.String))
        is_word = pl.element().str.contains(IS_WORD)
        df = df.with_columns(
            tok=token_list(t),
            cjk=t.str.count_matches(f"[{CJK}]"),
            lines=_lines(t),
        ).with_columns(
            tokens=pl.col("tok").list.len(),
            words=pl.col("tok").list.eval(is_word).list.sum(),
            alpha=pl.col("tok").list.eval(pl.element().str.contains(r"\p{L}")).list.sum(),
            word_chars=pl.col("tok").list.eval(pl.when(is_word).then(pl.element().str.len_chars())).list.sum()
            - pl.col("cjk"),
        )
        unsegmented = pl.col("cjk") * 2 >= pl.col("words")
        guessed = (
            pl.when(unsegmented & t.str.contains(f"[{KANA}]")).then(pl.lit("ja"))
            .when(unsegmented).then(pl.lit("zh"))
            .when(t.str.count_matches(r"\p{Hangul}") * 2 >= pl.col("words")).then(pl.lit("ko"))
            .otherwise(pl.lit("en"))
        )
        df = df.with_columns(pl.col("lang").fill_null(guessed))
        stop = pl.lit(None, dtype=pl.UInt32)
        for lang in {**STOP_WORDS, **(self.stop_words or {})}:
            if (df["lang"] == lang).any():
                stop = pl.when(pl.col("lang") == lang).then(self._stop_found(lang).cast(pl.UInt32)).otherwise(stop)
        tokens = pl.col("tokens")
        p = self.prefix
        return df.select(
            pl.col("words").alias(f"{p}_words"),
            pl.when(~unsegmented).then(pl.col("word_chars") / (pl.col("words") - pl.col("cjk")))
            .alias(f"{p}_mean_word_length"),
            (t.str.count_matches("#", literal=True) / tokens).alias(f"{p}_hash_ratio"),
            ((t.str.count_matches("...", literal=True) + t.str.count_matches("…", literal=True)) / tokens)
            .alias(f"{p}_ellipsis_ratio"),
            (t.str.count_matches(r"(?m)^[^\S\n]*[•-]") / pl.col("lines")).alias(f"{p}_bullet_lines_ratio"),
            (t.str.count_matches(r"(?m)(?:\.\.\.|…)[^\S\n]*$") / pl.col("lines")).alias(f"{p}_ellipsis_lines_ratio"),
            (pl.col("alpha") / tokens).alias(f"{p}_alpha_words_ratio"),
            stop.alias(f"{p}_stop_words"),
        )

    def rules(self) -> list[tuple[str, pl.Expr]]:
        c = self._col
        rules = [
            ("gopher_short_doc", self.min_doc_words, lambda v: c("words") < v),
            ("gopher_long_doc", self.max_doc_words, lambda v: c("words") > v),
            ("gopher_below_avg_threshold", self.min_avg_word_length, lambda v: c("mean_word_length") < v),
            ("gopher_above_avg_threshold", self.max_avg_word_length, lambda v: c("mean_word_length") > v),
            ("gopher_too_many_hashes", self.max_symbol_word_ratio, lambda v: c("hash_ratio") > v),
            ("gopher_too_many_ellipsis", self.max_symbol_word_ratio, lambda v: c("ellipsis_ratio") > v),
            ("gopher_too_many_bullets", self.max_bullet_lines_ratio, lambda v: c("bullet_lines_ratio") > v),
            ("gopher_too_many_end_ellipsis", self.max_ellipsis_lines_ratio,
             lambda v: c("ellipsis_lines_ratio") > v),
            ("gopher_below_alpha_threshold", self.min_alpha_words_ratio, lambda v: c("alpha_words_ratio") < v),
            ("gopher_few_stop_words", self.min_stop_words, lambda v: c("stop_words") < v),
        ]
        return [(reason, rule(v)) for reason, v, rule in rules if v is not None]


# -- Gopher repetition --------------------------------------------------------------------------------
_MIX = np.uint64(0x9E3779B97F4A7C15)


def _ngram_keys(ids: np.ndarray, sizes: set[int]) -> dict[int, np.ndarray]:
    """A 64-bit key per n-gram of ``ids`` (token numbers), position by position, for each n in ``sizes``."""
    out, keys = {}, ids
    for n in range(1, max(sizes, default=0) + 1):
        if n > 1:
            keys = (keys[:-1] ^ (keys[:-1] >> np.uint64(29))) * _MIX ^ ids[n - 1:]
        if n in sizes:
            out[n] = keys
    return out


def _dup_ngram_chars(index: list[int], keys: list[int], chars: list[int], docs: list[int], n: int,
                     out: np.ndarray) -> None:
    """Add to ``out[doc]`` the characters in n-grams that repeat an earlier one of the same document,
    scanning as datatrove does: after a repeat the next n-1 n-grams are skipped (and not remembered).

    Only n-grams that occur twice or more can change the result, so only those are given: ``index`` is
    their token position in the batch, with their key, length in characters and document."""
    seen: set[int] = set()
    skip_until, skip_doc = -1, -1
    for i, key, c, d in zip(index, keys, chars, docs, strict=True):
        if i < skip_until and d == skip_doc:
            continue
        if key in seen:
            out[d] += c
            skip_until, skip_doc = i + n, d
        else:
            seen.add(key)


class GopherRepetition(_Heuristic):
    """Gopher's repetition rules (Rae et al. 2021, table A1): duplicate lines and paragraphs, and the share
    of characters in the most frequent 2-4-grams and in repeated 5-10-grams.

    Reasons: ``gopher_dup_para_frac``, ``gopher_dup_para_char_frac``, ``gopher_dup_line_frac``,
    ``gopher_dup_line_char_frac``, ``gopher_top_<n>_gram``, ``gopher_duplicated_<n>_n_grams``, and
    ``gopher_empty`` for an empty text. In
    Chinese/Japanese text, where a word is one character, n-grams are ``cjk_ngram_scale`` times longer.

    ```yaml
    - gopher_repetition: {dup_line_frac: 0.3, dup_para_frac: 0.3, mode: filter}
    ```
    """

    name = "gopher_repetition"
    prefix = "gopher"
    empty_reason = "gopher_empty"

    def __init__(
        self,
        *,
        field: str | None = None,
        mode: Mode = "filter",
        dup_line_frac: float | None = 0.3,
        dup_para_frac: float | None = 0.3,
        dup_line_char_frac: float | None = 0.2,
        dup_para_char_frac: float | None = 0.2,
        top_n_grams: dict[int, float] | None = None,
        dup_n_grams: dict[int, float] | None = None,
        cjk_ngram_scale: int = 2,
    ) -> None:
        _check_mode(mode)
        self.field = field
        self.mode = mode
        self.dup_line_frac = dup_line_frac
        self.dup_para_frac = dup_para_frac
        self.dup_line_char_frac = dup_line_char_frac
        self.dup_para_char_frac = dup_para_char_frac
        self.top_n_grams = {2: 0.2, 3: 0.18, 4: 0.16} if top_n_grams is None else top_n_grams
        self.dup_n_grams = (
            {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10} if dup_n_grams is None else dup_n_grams
        )
        self.cjk_ngram_scale = cjk_ngram_scale

    def measure(self, texts: pl.Series, batch: pa.Table) -> pl.DataFrame:
        p = self.prefix
        size = texts.str.len_chars().clip(lower_bound=1).cast(pl.Float64).to_numpy()
        docs = pl.DataFrame([texts]).with_row_index("doc")
        out: dict[str, np.ndarray] = {}
        splits = {"para": pl.col("t").str.strip_chars().str.replace_all(r"\n{2,}", "\x00"),
                  "line": pl.col("t").str.replace_all(r"\n+", "\x00")}
        for kind, parts in splits.items():
            rows = docs.select("doc", parts.str.split("\x00").alias("part")).explode("part")
            repeat = ~pl.col("part").is_first_distinct().over("doc")
            per_doc = rows.group_by("doc", maintain_order=True).agg(
                pl.len().alias("n"), repeat.sum().alias("r"),
                pl.when(repeat).then(pl.col("part").str.len_chars()).otherwise(0).sum().alias("c"))
            out[f"{p}_dup_{kind}_frac"] = (per_doc["r"] / per_doc["n"]).to_numpy()
            out[f"{p}_dup_{kind}_char_frac"] = per_doc["c"].to_numpy() / size
        out.update(self._ngram_scores(texts, docs, size))
        order = ["dup_para_frac", "dup_para_char_frac", "dup_line_frac", "dup_line_char_frac"]
        return pl.DataFrame({f"{p}_{k}": out[f"{p}_{k}"] for k in order} |
                            {k: v for k, v in out.items() if "gram" in k})

    def _ngram_scores(self, texts: pl.Series, docs: pl.DataFrame, size: np.ndarray) -> dict[str, np.ndarray]:
        """Top and duplicated n-gram character fractions of every document, over the batch's flat tokens."""
        p, n_docs = self.prefix, len(texts)
        tokens = docs.select("doc", token_list(pl.col("t")).alias("w")).explode("w").drop_nulls("w")
        ids = tokens["w"].hash(seed=0).to_numpy()
        doc = tokens["doc"].cast(pl.Int64).to_numpy()
        starts = np.zeros(len(ids) + 1, np.int64)
        np.cumsum(tokens["w"].str.len_chars().to_numpy(), out=starts[1:])
        per_doc = np.bincount(doc, minlength=n_docs)
        end = np.cumsum(per_doc)[doc]  # one past each token's document
        cjk = texts.str.count_matches(f"[{CJK}]").to_numpy()
        scale = np.where((per_doc > 0) & (cjk * 2 >= per_doc), self.cjk_ngram_scale, 1)
        sep = (scale == 1).astype(np.int64)  # datatrove joins words with a space; characters need none
        wanted = {(n, s) for n in (*self.top_n_grams, *self.dup_n_grams) for s in set(scale.tolist())}
        keys = _ngram_keys(ids, {n * s for n, s in wanted if n * s <= len(ids)})
        tops = {n: np.zeros(n_docs) for n in self.top_n_grams}
        dups = {n: np.zeros(n_docs) for n in self.dup_n_grams}
        doc_start = np.cumsum(per_doc) - per_doc
        for s in sorted({s for _, s in wanted}):
            # An m-gram can only repeat where a shorter one repeats: each size scans the previous one's repeats.
            candidates = np.flatnonzero(scale[doc] == s)
            for n in sorted({n for n, s2 in wanted if s2 == s}):
                m = n * s
                if m not in keys:
                    break
                pos = candidates[(candidates < len(keys[m])) & (candidates + m <= end[candidates])]
                d = doc[pos]
                k = keys[m][pos] ^ (d.astype(np.uint64) * _MIX)
                _, first, inverse, counts = np.unique(k, return_index=True, return_inverse=True, return_counts=True)
                repeated = counts[inverse] > 1
                if n in tops:  # the most frequent n-gram, the earliest on ties (a document's first if none repeats)
                    has = (per_doc >= m) & (scale == s)
                    at = doc_start[has]
                    tops[n][has] = starts[at + m] - starts[at] + sep[has] * (m - 1)
                    many = counts > 1
                    if many.any():
                        fd, fat, fc = d[first][many], pos[first][many], counts[many]
                        order = np.lexsort((fat, -fc, fd))
                        best = order[np.r_[True, fd[order][1:] != fd[order][:-1]]]
                        bd, ba = fd[best], fat[best]
                        tops[n][bd] = (starts[ba + m] - starts[ba] + sep[bd] * (m - 1)) * fc[best]
                if n in dups:
                    i = np.flatnonzero(repeated)
                    _dup_ngram_chars(pos[i].tolist(), k[i].tolist(), (starts[pos[i] + m] - starts[pos[i]]).tolist(),
                                     d[i].tolist(), m, dups[n])
                candidates = pos[repeated]
        return {**{f"{p}_top_{n}_gram": v / size for n, v in tops.items()},
                **{f"{p}_duplicated_{n}_n_grams": v / size for n, v in dups.items()}}

    def rules(self) -> list[tuple[str, pl.Expr]]:
        c = self._col
        rules = [
            ("gopher_dup_para_frac", self.dup_para_frac),
            ("gopher_dup_para_char_frac", self.dup_para_char_frac),
            ("gopher_dup_line_frac", self.dup_line_frac),
            ("gopher_dup_line_char_frac", self.dup_line_char_frac),
            *((f"gopher_top_{n}_gram", v) for n, v in self.top_n_grams.items()),
            *((f"gopher_duplicated_{n}_n_grams", v) for n, v in self.dup_n_grams.items()),
        ]
        return [(reason, c(reason.removeprefix("gopher_")) > v) for reason, v in rules if v is not None]


# -- C4 -----------------------------------------------------------------------------------------------
_C4_END = "(?:[.?!\"']|[。！？．」』]|[。！？][”’])$"
_CITATION = r"\[\d*\]|\[edit\]|\[citation needed\]"
_POLICY = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")


def _sentences(line: pl.Expr) -> pl.Expr:
    """Sentences in each line as spaCy's rule-based sentencizer counts them: a new sentence starts at a word
    that follows a sentence-terminal token (``.``, ``?``, ``。`` ...) with only punctuation in between."""
    tokens = token_list(line)
    term = pl.element().str.contains(r"^\p{Sentence_Terminal}$").cast(pl.Int32).cum_sum()
    starts = tokens.list.eval(term.filter(pl.element().str.contains(IS_WORD)).diff(null_behavior="ignore"))
    first = tokens.list.eval(term.filter(pl.element().str.contains(IS_WORD)).first())
    return 1 + starts.list.eval((pl.element() > 0).sum()).list.first() + (first.list.first() > 0).cast(pl.Int32)
_LINE_BREAKS = "\r\n|[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]"


def _exploded(texts: pl.Series, breaks: str = _LINE_BREAKS) -> pl.DataFrame:
    """One row per line: ``doc`` (row number), ``n`` (line number), ``line``; lines end at ``breaks``."""
    return (
        pl.DataFrame([texts])
        .with_row_index("doc")
        .select("doc", pl.col("t").str.replace_all(breaks, "\n").str.split("\n").alias("line"))
        .explode("line")
        .with_columns(pl.int_range(pl.len()).over("doc").alias("n"))
    )


class C4Quality(_Heuristic):
    """C4's document rules (Raffel et al. 2020) as in its reference code and datatrove.

    Lines are kept only if they end in terminal punctuation, have at least ``min_words_per_line`` words,
    no word over ``max_word_length`` characters and mention neither javascript nor a cookie/terms policy;
    the document is dropped if a kept line says "lorem ipsum" (``c4_lorem_ipsum``) or has a curly bracket
    (``c4_curly_bracket``), if no line ends in terminal punctuation (``c4_no_terminal_punct``), if fewer
    than ``min_num_sentences`` sentences remain (``c4_too_few_sentences``) or if it contains one of
    ``bad_words`` (``c4_bad_words``): a list of words, or a language code naming the shipped LDNOOBW list
    C4 used (``bad_words: en``; off by default, as in datatrove). This filter only decides: the text is unchanged.

    ```yaml
    - c4_quality: {min_num_sentences: 5, min_words_per_line: 3, mode: filter}
    ```
    """

    name = "c4_quality"
    prefix = "c4"

    def __init__(
        self,
        *,
        field: str | None = None,
        mode: Mode = "filter",
        min_num_sentences: int | None = 5,
        min_words_per_line: int | None = 3,
        max_word_length: int | None = 1000,
        remove_citations: bool = True,
        filter_no_terminal_punct: bool = True,
        filter_lorem_ipsum: bool = True,
        filter_javascript: bool = True,
        filter_curly_bracket: bool = True,
        filter_policy: bool = True,
        bad_words: list[str] | str | None = None,
    ) -> None:
        _check_mode(mode)
        if isinstance(bad_words, str):
            _bad_word_list(bad_words)  # an unknown language is an error now, not at the first batch
        self.field = field
        self.mode = mode
        self.min_num_sentences = min_num_sentences
        self.min_words_per_line = min_words_per_line
        self.max_word_length = max_word_length
        self.remove_citations = remove_citations
        self.filter_no_terminal_punct = filter_no_terminal_punct
        self.filter_lorem_ipsum = filter_lorem_ipsum
        self.filter_javascript = filter_javascript
        self.filter_curly_bracket = filter_curly_bracket
        self.filter_policy = filter_policy
        self.bad_words = bad_words

    def measure(self, texts: pl.Series, batch: pa.Table) -> pl.DataFrame:
        raw = pl.col("line").str.strip_chars()
        lines = _exploded(texts).with_columns(raw.alias("line"))
        line = pl.col("line").str.replace_all(_CITATION, "") if self.remove_citations else pl.col("line")
        lower = line.str.to_lowercase()
        words = pl.col("line").str.count_matches(r"\S+") + pl.col("line").str.count_matches(f"[{CJK}]")
        ok = pl.lit(True)
        if self.max_word_length is not None:
            ok = ok & ~pl.col("line").str.contains(f"[^\\s{CJK}]{{{self.max_word_length + 1},}}")
        terminal = line.str.contains(_C4_END) & ~line.str.ends_with("...")
        if self.filter_no_terminal_punct:
            ok = ok & terminal
        if self.min_words_per_line is not None:
            ok = ok & (words >= self.min_words_per_line)
        lorem = ok & lower.str.contains("lorem ipsum", literal=True) if self.filter_lorem_ipsum else pl.lit(False)
        if self.filter_javascript:
            ok = ok & ~lower.str.contains("javascript", literal=True)
        curly = ok & line.str.contains("{", literal=True) if self.filter_curly_bracket else pl.lit(False)
        if self.filter_policy:
            ok = ok & ~pl.any_horizontal([lower.str.contains(p, literal=True) for p in _POLICY])
        never = 1 << 62
        p = self.prefix
        lines = lines.with_columns(
            ok=ok,
            clean=line,
            lorem=pl.when(lorem).then(pl.col("n")).otherwise(never),
            curly=pl.when(curly).then(pl.col("n")).otherwise(never),
            terminal=terminal,
        )
        sentences = (  # tokenised only for the lines C4 keeps
            lines.filter("ok").group_by("doc").agg(_sentences(pl.col("clean")).sum().alias(f"{p}_sentences"))
        )
        per_doc = (
            lines.group_by("doc", maintain_order=True)
            .agg(
                pl.col("terminal").any().alias(f"{p}_terminal_punct"),
                pl.col("lorem").min(),
                pl.col("curly").min(),
            )
            .join(sentences, on="doc", how="left", maintain_order="left")
            .with_columns(pl.col(f"{p}_sentences").fill_null(0))
            .select("doc", f"{p}_sentences", f"{p}_terminal_punct", "lorem", "curly")
        )
        first = pl.min_horizontal("lorem", "curly")
        per_doc = per_doc.with_columns(
            (first.eq(pl.col("lorem")) & (first < never)).alias(f"{p}_lorem_ipsum"),
            (first.eq(pl.col("curly")) & (first < pl.col("lorem"))).alias(f"{p}_curly_bracket"),
        ).drop("doc", "lorem", "curly")
        if self.bad_words:
            listed = _bad_word_list(self.bad_words) if isinstance(self.bad_words, str) else self.bad_words
            words = "|".join(re.escape(w) for w in listed)
            pattern = f"(?i)(?:^|[^\\w])(?:{words})(?:$|[^\\w])"  # no \b: slow in Rust
            per_doc = per_doc.with_columns(texts.str.contains(pattern).alias(f"{p}_bad_words"))
        return per_doc

    def rules(self) -> list[tuple[str, pl.Expr]]:
        c = self._col
        rules = [("c4_lorem_ipsum", c("lorem_ipsum")), ("c4_curly_bracket", c("curly_bracket"))]
        if self.filter_no_terminal_punct:
            rules.append(("c4_no_terminal_punct", ~c("terminal_punct")))
        if self.min_num_sentences is not None:
            rules.append(("c4_too_few_sentences", c("sentences") < self.min_num_sentences))
        if self.bad_words:
            rules.append(("c4_bad_words", c("bad_words")))
        return rules


def _bad_word_list(language: str) -> list[str]:
    """The LDNOOBW list of ``language`` shipped in ``instructkit/lexicons/toxicity``."""
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent / "lexicons" / "toxicity"
    path = folder / f"{language}.txt"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob("*.txt"))
        raise ValueError(f"bad_words: no shipped list for {language!r} (lists: {', '.join(known)})")
    lines = path.read_text(encoding="utf-8").splitlines()
    return [w.strip() for w in lines if w.strip() and not w.startswith("#")]


# -- FineWeb ------------------------------------------------------------------------------------------
class FineWebQuality(_Heuristic):
    """FineWeb's quality rules (Penedo et al. 2024) with their published thresholds.

    Over the non-blank lines: fewer than ``line_punct_thr`` ending in terminal punctuation
    (``fineweb_line_punct_ratio``), more than ``short_line_thr`` of at most ``short_line_length``
    characters (``fineweb_short_line_ratio``; a Han/Kana character counts as two), more than
    ``char_duplicates_ratio`` of the characters in repeated lines (``fineweb_char_dup_ratio``), more than
    ``new_line_ratio`` line breaks per word (``fineweb_newline_ratio``). Empty text: ``fineweb_empty``.

    ```yaml
    - fineweb_quality: {line_punct_thr: 0.12, short_line_thr: 0.67, mode: filter}
    ```
    """

    name = "fineweb_quality"
    prefix = "fineweb"

    def __init__(
        self,
        *,
        field: str | None = None,
        mode: Mode = "filter",
        line_punct_thr: float | None = 0.12,
        line_punct_exclude_zero: bool = False,
        short_line_thr: float | None = 0.67,
        short_line_length: int = 30,
        char_duplicates_ratio: float | None = 0.01,
        new_line_ratio: float | None = 0.3,
    ) -> None:
        _check_mode(mode)
        self.field = field
        self.mode = mode
        self.line_punct_thr = line_punct_thr
        self.line_punct_exclude_zero = line_punct_exclude_zero
        self.short_line_thr = short_line_thr
        self.short_line_length = short_line_length
        self.char_duplicates_ratio = char_duplicates_ratio
        self.new_line_ratio = new_line_ratio

    def measure(self, texts: pl.Series, batch: pa.Table) -> pl.DataFrame:
        p = self.prefix
        lines = _exploded(texts, breaks="\n")
        line = pl.col("line")
        width = line.str.len_chars() + line.str.count_matches(f"[{CJK}]")
        lines = lines.filter(line.str.strip_chars() != "").with_columns(
            punct=line.str.contains(r"\p{Sentence_Terminal}$"),
            short=width <= self.short_line_length,
            dup=pl.when(line.is_first_distinct().over("doc")).then(0).otherwise(line.str.len_chars()),
        )
        per_line = lines.group_by("doc").agg(
            pl.len().alias("n"), pl.col("punct").mean(), pl.col("short").mean(), pl.col("dup").sum()
        )
        docs = pl.DataFrame([texts]).with_row_index("doc").join(per_line, on="doc", how="left", maintain_order="left")
        t = pl.col("t")
        return docs.select(
            pl.col("n").fill_null(0).alias(f"{p}_lines"),
            pl.col("punct").alias(f"{p}_line_punct_ratio"),
            pl.col("short").alias(f"{p}_short_line_ratio"),
            (pl.col("dup") / t.str.replace_all("\n", "", literal=True).str.len_chars()).alias(f"{p}_char_dup_ratio"),
            (t.str.count_matches("\n", literal=True) / token_count(t)).alias(f"{p}_newline_ratio"),
        )

    def rules(self) -> list[tuple[str, pl.Expr]]:
        c = self._col
        rules = [("fineweb_empty", c("lines") == 0)]
        if self.line_punct_thr is not None:
            low = c("line_punct_ratio") < self.line_punct_thr
            if self.line_punct_exclude_zero:
                low = low & (c("line_punct_ratio") > 0)
            rules.append(("fineweb_line_punct_ratio", low))
        if self.short_line_thr is not None:
            rules.append(("fineweb_short_line_ratio", c("short_line_ratio") > self.short_line_thr))
        if self.char_duplicates_ratio is not None:
            rules.append(("fineweb_char_dup_ratio", c("char_dup_ratio") > self.char_duplicates_ratio))
        if self.new_line_ratio is not None:
            rules.append(("fineweb_newline_ratio", c("newline_ratio") > self.new_line_ratio))
        return rules
