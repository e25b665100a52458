"""Language identification: annotate ``language`` (ISO 639-1) and ``language_score``, keep some languages.

The default backend, ``auto``, reads the script first and asks a statistical model only what the script
leaves open: Hangul is Korean, Han with Kana is Japanese, Han alone is Chinese (Simplified and
Traditional are both ``zh``), and a script used by few languages (Greek, Hebrew, Thai, Devanagari,
Cyrillic, Arabic...) limits the model's choice to those languages. The model is py3langid (langid.py's
model, numpy-fast); short texts (< 120 characters) where it is unsure (p < 0.6) get a second opinion
from langdetect (seeded, so deterministic) and the two probability lists are averaged.
``benchmarks/langid.py`` measures every backend on the same text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from typing import Literal

import pyarrow as pa

from instructkit.steps.base import Filter, set_column

Backend = Literal["auto", "py3langid", "langid", "langdetect", "lingua"]
UNDETERMINED = "und"

# Scripts that decide the language, or the languages a script can be written in (statistical
# models otherwise label short Cyrillic or Arabic-script text with languages of other scripts).
_SCRIPTS: dict[str, tuple[str, ...]] = {
    "HANGUL": ("ko",),
    "HIRAGANA": ("ja",),
    "KATAKANA": ("ja",),
    "CJK": ("zh",),
    "GREEK": ("el",),
    "HEBREW": ("he", "yi"),
    "THAI": ("th",),
    "LAO": ("lo",),
    "KHMER": ("km",),
    "GEORGIAN": ("ka",),
    "ARMENIAN": ("hy",),
    "ETHIOPIC": ("am",),
    "TAMIL": ("ta",),
    "TELUGU": ("te",),
    "KANNADA": ("kn",),
    "MALAYALAM": ("ml",),
    "GUJARATI": ("gu",),
    "GURMUKHI": ("pa",),
    "ORIYA": ("or",),
    "SINHALA": ("si",),
    "TIBETAN": ("bo", "dz"),
    "MYANMAR": ("my",),
    "BENGALI": ("bn", "as"),
    "DEVANAGARI": ("hi", "mr", "ne", "sa"),
    "ARABIC": ("ar", "fa", "ur", "ps", "ku", "ug", "sd"),
    "CYRILLIC": ("ru", "uk", "bg", "be", "sr", "mk", "kk", "ky", "mn", "tg", "tt"),
}
# Codes the backends use beyond ISO 639-1 -> the ISO 639-1 language they belong to (py3langid >= 0.4 labels
# Cantonese and Wu, Egyptian and Moroccan Arabic, ... apart; a Chinese dataset is one `zh` slice).
_CODE_FIX = {"zh-cn": "zh", "zh-tw": "zh", "wuu": "zh", "yue": "zh", "cmn": "zh", "lzh": "zh", "gan": "zh",
             "hak": "zh", "nan": "zh", "arz": "ar", "ary": "ar", "uzs": "uz", "sdh": "ku", "kik": "ki",
             "hbo": "he", "gug": "gn", "zxx": "und"}


def _merged(ranked: Iterable[tuple[str, float]]) -> list[tuple[str, float]]:
    """``ranked`` with codes mapped by ``_CODE_FIX`` and their probabilities summed, best first."""
    merged: dict[str, float] = {}
    for lang, p in ranked:
        lang = _CODE_FIX.get(lang, lang)
        merged[lang] = merged.get(lang, 0.0) + float(p)
    return sorted(merged.items(), key=lambda kv: -kv[1])


_SCRIPT_RANGES = {
    "LATIN": "A-Za-z\u00c0-\u024f\u1e00-\u1eff", "CJK": "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef",
    "HIRAGANA": "\u3040-\u309f", "KATAKANA": "\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f",
    "HANGUL": "\uac00-\ud7af\u1100-\u11ff\u3130-\u318f", "GREEK": "\u0370-\u03ff\u1f00-\u1fff",
    "CYRILLIC": "\u0400-\u052f", "ARMENIAN": "\u0530-\u058f", "HEBREW": "\u0590-\u05ff",
    "ARABIC": "\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff",
    "DEVANAGARI": "\u0900-\u097f", "BENGALI": "\u0980-\u09ff", "GURMUKHI": "\u0a00-\u0a7f",
    "GUJARATI": "\u0a80-\u0aff", "ORIYA": "\u0b00-\u0b7f", "TAMIL": "\u0b80-\u0bff", "TELUGU": "\u0c00-\u0c7f",
    "KANNADA": "\u0c80-\u0cff", "MALAYALAM": "\u0d00-\u0d7f", "SINHALA": "\u0d80-\u0dff", "THAI": "\u0e00-\u0e7f",
    "LAO": "\u0e80-\u0eff", "TIBETAN": "\u0f00-\u0fff", "MYANMAR": "\u1000-\u109f", "GEORGIAN": "\u10a0-\u10ff",
    "ETHIOPIC": "\u1200-\u137f", "KHMER": "\u1780-\u17ff",
}
_SAMPLE = 6000


@lru_cache(maxsize=1)
def _script_table() -> tuple[dict[int, str | None], dict[str, str]]:
    """str.translate table: each letter -> one character standing for its script, anything else removed."""
    codes = {name: chr(0x41 + i) for i, name in enumerate(_SCRIPT_RANGES)}
    table: dict[int, str | None] = {}
    for name, ranges in _SCRIPT_RANGES.items():
        for lo, hi in re.findall(r"(.)-(.)", ranges):
            for cp in range(ord(lo), ord(hi) + 1):
                table[cp] = codes[name]
    for cp in range(0x30000):
        if not chr(cp).isalpha():
            table[cp] = None
        else:
            table.setdefault(cp, "~")
    return table, {code: name for name, code in codes.items()} | {"~": "OTHER"}


def script_counts(text: str) -> Counter[str]:
    """Letters per script (``CJK`` for Han; ``OTHER`` for scripts not listed). Texts longer than 6,000
    characters are judged on their beginning, middle and end."""
    if len(text) > _SAMPLE:
        third, mid = _SAMPLE // 3, len(text) // 2
        text = text[:third] + text[mid - third // 2 : mid + third // 2] + text[-third:]
    table, names = _script_table()
    return Counter({names.get(code, "OTHER"): n for code, n in Counter(text.translate(table)).items()})


def script_decision(text: str) -> tuple[str | None, tuple[str, ...] | None, float]:
    """(language if the script decides it, languages the script allows, share of letters in it; a
    CJK character counts as three letters)."""
    counts = script_counts(text)
    letters = sum(counts.values())
    if not letters:
        return UNDETERMINED, None, 0.0
    han, kana, hangul = counts["CJK"], counts["HIRAGANA"] + counts["KATAKANA"], counts["HANGUL"]
    cjk = han + kana + hangul

    def weighted(x: int) -> float:  # a Han/Kana/Hangul character says as much as a short Latin word
        return 3 * x / (3 * x + letters - x)

    if weighted(cjk) >= 0.35:
        if hangul >= max(kana, 0.3 * cjk):
            return "ko", None, weighted(hangul)
        if kana and (kana >= 2 or kana >= 0.1 * (han + kana)):
            return "ja", None, weighted(han + kana)
        if han:
            return "zh", None, weighted(han)
    script, n = counts.most_common(1)[0]
    langs = _SCRIPTS.get(script)
    if n >= 0.5 * letters and langs:
        return (langs[0] if len(langs) == 1 else None), langs, n / letters
    return None, None, n / letters


class LanguageId(Filter):
    """Annotate ``language`` (ISO 639-1, else 639-3; ``und`` when there are no letters) and ``language_score``;
    drop languages not in ``keep`` (``language_not_kept``) or scores under ``min_score``
    (``language_low_score``). ``level: paragraph`` scores each paragraph and adds ``languages``, the
    share of letters per language, for mixed documents; the document's language is the largest share.
    ``mode: annotate`` writes the columns and drops nothing; ``mode: filter`` drops without writing them.
    With ``per_turn`` (conversations) every targeted turn must pass on its own.

    ```yaml
    - language_id: {keep: [en, zh], min_score: 0.5, backend: auto}
    ```
    """

    name = "language_id"
    _unpicklable = ("_model", "_langdetect", "_lingua")

    def __init__(
        self,
        *,
        field: str | None = None,
        backend: Backend = "auto",
        keep: list[str] | None = None,
        min_score: float = 0.0,
        level: Literal["document", "paragraph"] = "document",
        script_rules: bool = True,
        seed: int = 0,
        mode: Literal["both", "filter", "annotate"] = "both",
    ) -> None:
        if not 0.0 <= min_score <= 1.0:
            raise ValueError(f"min_score must be within 0..1, got {min_score}")
        self.field = field
        self.backend = backend
        self.keep = keep
        self.min_score = min_score
        self.level = level
        self.script_rules = script_rules
        self.seed = seed
        self.mode = mode

    def requires(self) -> dict[str, str]:
        return {"lingua": "lingua"} if self.backend == "lingua" else {"langid": "langid"} if self.backend == "langid" else {}

    # -- models ---------------------------------------------------------------------------------------
    def setup(self) -> None:
        if self.backend in ("auto", "py3langid"):
            import py3langid.langid as pl

            self._model = pl.LanguageIdentifier.from_model_file(pl.MODEL_FILE, norm_probs=True)
        elif self.backend == "langid":
            from langid.langid import LanguageIdentifier, model

            self._model = LanguageIdentifier.from_modelstring(model, norm_probs=True)
        if self.backend in ("auto", "langdetect"):
            from langdetect.detector_factory import init_factory

            init_factory()
            from langdetect.detector_factory import _factory

            self._langdetect = _factory
        if self.backend == "lingua":
            from lingua import LanguageDetectorBuilder

            self._lingua = LanguageDetectorBuilder.from_all_languages().build()

    def _ready(self) -> None:
        if not any(k in self.__dict__ for k in self._unpicklable):
            self.setup()

    def _ranked(self, text: str) -> list[tuple[str, float]]:
        """Languages with probabilities, best first, from the configured statistical backend."""
        if self.backend in ("py3langid", "langid"):
            return _merged(self._model.rank(text))
        if self.backend == "langdetect":
            return self._langdetect_ranked(text)
        if self.backend == "lingua":
            out = []
            for v in self._lingua.compute_language_confidence_values(text):
                out.append((v.language.iso_code_639_1.name.lower(), float(v.value)))
            return out
        return self._auto_ranked(text)

    def _langdetect_ranked(self, text: str) -> list[tuple[str, float]]:
        from langdetect.lang_detect_exception import LangDetectException

        detector = self._langdetect.create()
        detector.seed = self.seed  # langdetect samples n-grams at random: seeding makes it deterministic
        detector.append(text)
        try:
            found = detector.get_probabilities()
        except LangDetectException:
            return []
        return _merged((item.lang, item.prob) for item in found)

    def _auto_ranked(self, text: str) -> list[tuple[str, float]]:
        ranked = _merged(self._model.rank(text))
        if len(text) >= 120 or (ranked and ranked[0][1] >= 0.6):  # both chosen by benchmarks/langid.py
            return ranked
        second = dict(self._langdetect_ranked(text))
        if not second:
            return ranked
        mixed = {lang: 0.5 * p + 0.5 * second.get(lang, 0.0) for lang, p in ranked}
        return sorted(mixed.items(), key=lambda kv: -kv[1])

    def detect(self, text: str) -> tuple[str, float]:
        """``(language, score)`` for one text."""
        self._ready()
        allowed: tuple[str, ...] | None = None
        if self.script_rules:
            lang, allowed, share = script_decision(text)
            if lang is not None:
                return lang, round(share, 4) if lang != UNDETERMINED else 0.0
        elif not any(ch.isalpha() for ch in text):
            return UNDETERMINED, 0.0
        ranked = self._ranked(text)
        if allowed:
            ranked = [(lang, p) for lang, p in ranked if lang in allowed] or ranked
            total = sum(p for _, p in ranked) or 1.0
            ranked = [(lang, p / total) for lang, p in ranked]
        if not ranked:
            return UNDETERMINED, 0.0
        lang, p = ranked[0]
        return lang, round(min(max(p, 0.0), 1.0), 4)

    def detect_paragraphs(self, text: str) -> list[tuple[str, float]]:
        """Share of letters per language over the paragraphs of ``text``, largest first."""
        paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
        if len(paragraphs) < 2:
            paragraphs = [p for p in text.splitlines() if p.strip()]
        weights: Counter[str] = Counter()
        for p in paragraphs:
            letters = sum(ch.isalpha() for ch in p)
            if letters:
                weights[self.detect(p)[0]] += letters
        total = sum(weights.values())
        return [(lang, round(n / total, 4)) for lang, n in weights.most_common()] if total else []

    # -- step -------------------------------------------------------------------------------------------
    def annotate(self, batch: pa.Table) -> pa.Table:
        return batch if self.mode == "filter" else self.score_batch(batch)

    def score_batch(self, batch: pa.Table) -> pa.Table:
        """``batch`` with the score columns added."""
        self._ready()
        languages, scores, mixes = [], [], []
        for text in self.texts(batch):
            text = text if isinstance(text, str) else ""
            if self.level == "paragraph":
                mix = self.detect_paragraphs(text)
                lang, share = mix[0] if mix else (UNDETERMINED, 0.0)
                score = round(share * self.detect(text)[1], 4) if mix else 0.0
                mixes.append([{"language": k, "share": v} for k, v in mix])
            else:
                lang, score = self.detect(text)
            languages.append(lang)
            scores.append(score)
        batch = set_column(batch, "language", pa.array(languages, pa.string()))
        batch = set_column(batch, "language_score", pa.array(scores, pa.float64()))
        if self.level == "paragraph":
            mix_type = pa.list_(pa.struct([("language", pa.string()), ("share", pa.float64())]))
            batch = set_column(batch, "languages", pa.array(mixes, mix_type))
        return batch

    def check(self, batch: pa.Table) -> list[str | None]:
        if self.mode == "annotate":
            return [None] * batch.num_rows
        if self.per_turn:  # every targeted turn of a conversation must pass on its own
            return self.check_texts(batch, lambda text: self.decide(*self.detect(text)))
        if self.mode == "filter" or "language" not in batch.column_names or "language_score" not in batch.column_names:
            batch = self.score_batch(batch)
        languages, scores = batch.column("language").to_pylist(), batch.column("language_score").to_pylist()
        reasons = [self.decide(lang, score) for lang, score in zip(languages, scores, strict=True)]
        for lang, reason in zip(languages, reasons, strict=True):
            if reason is None:
                self.count(f"language_{lang}")
        return reasons

    def decide(self, language: str | None, score: float | None) -> str | None:
        if score is None or score < self.min_score:
            return "language_low_score"
        if self.keep and language not in self.keep:
            return "language_not_kept"
        return None
