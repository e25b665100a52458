"""Toxicity: offline, multilingual. Annotates ``toxicity`` (0..1), ``toxicity_categories`` and
``toxicity_terms``; drops records scoring above ``max_score`` (reason ``toxic``).

English is scored by alt-profanity-check (a linear model that pip installs with its weights; the optional
``toxicity`` extra); every language with a word list in ``instructkit/lexicons/toxicity`` (25 languages
from LDNOOBW, CC-BY-4.0, Chinese included) is matched word by word, or by substring in scripts written
without spaces. A transformers text-classification model can be added where users have one (``model``).
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from functools import cache
from importlib import resources
from typing import Literal

import pyarrow as pa

from instructkit.steps.base import Filter, set_column

_NO_SPACES = {"zh", "ja", "ko", "th"}
_WORD = re.compile(r"\w+")


def fold(text: str, lang: str = "") -> str:
    """Case-, width- and accent-insensitive form used on both sides of the match (scripts without
    spaces keep their marks: が is not か)."""
    if lang in _NO_SPACES:
        return unicodedata.normalize("NFKC", text).casefold()
    text = unicodedata.normalize("NFKD", text.casefold())
    return unicodedata.normalize("NFC", "".join(c for c in text if unicodedata.category(c) != "Mn"))


@cache
def lexicon_languages() -> tuple[str, ...]:
    folder = resources.files("instructkit") / "lexicons" / "toxicity"
    return tuple(sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".txt")))


@cache
def load_lexicon(lang: str) -> tuple[frozenset[str], int] | re.Pattern[str]:
    """A language's terms: a regex for scripts without spaces, else (folded phrases, longest phrase)."""
    path = resources.files("instructkit") / "lexicons" / "toxicity" / f"{lang}.txt"
    terms = sorted({fold(t.strip(), lang) for t in path.read_text(encoding="utf-8").splitlines() if t.strip()})
    if lang in _NO_SPACES:
        return re.compile("|".join(re.escape(t) for t in sorted(terms, key=lambda t: (-len(t), t))))
    phrases = frozenset(" ".join(_WORD.findall(t)) for t in terms)
    return phrases, max(len(p.split()) for p in phrases)


def _base(code: str | None) -> str:
    """``zh-cn``/``zh_TW``/``EN`` -> ``zh``/``zh``/``en``."""
    return re.split(r"[-_]", code)[0].lower() if code else "und"


def _plural_of(word: str, phrases: frozenset[str]) -> bool:
    return (word.endswith("s") and word[:-1] in phrases) or (word.endswith("es") and word[:-2] in phrases)


def lexicon_terms(text: str, lang: str) -> list[str]:
    """Lexicon terms of ``lang`` found in ``text`` (in order, repeats kept)."""
    if lang not in lexicon_languages():
        return []
    lexicon = load_lexicon(lang)
    folded = fold(text, lang)
    if isinstance(lexicon, re.Pattern):
        matches = list(lexicon.finditer(folded))
        cuts = _word_boundaries(folded, lang) if matches else None
        return [m.group() for m in matches if cuts is None or (m.start() in cuts and m.end() in cuts)]
    phrases, longest = lexicon
    words = _WORD.findall(folded)
    found, i = [], 0
    while i < len(words):
        step = 1
        for n in range(min(longest, len(words) - i), 0, -1):
            gram = " ".join(words[i : i + n])
            if gram in phrases or (n == 1 and len(gram) > 4 and _plural_of(gram, phrases)):
                found.append(gram)
                step = n
                break
        i += step
    return found


_KATAKANA = re.compile(r"[\u30a0-\u30ff]+|[^\u30a0-\u30ff]")


@cache
def _zh_tokenizer():  # jieba.Tokenizer
    """A private jieba tokenizer that segments the Traditional forms of the list's words like their
    Simplified forms (jieba's dictionary is Simplified: 他媽的給 would otherwise be one word)."""
    import jieba

    jieba.setLogLevel(60)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    path = resources.files("instructkit") / "lexicons" / "toxicity" / "zh_variants.tsv"
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            traditional, simplified = line.split("\t")
            pairs = [(traditional, simplified), *zip(traditional, simplified, strict=False)]
            for t, s in pairs:  # the word and each of its characters
                if t != s and tokenizer.FREQ.get(s) and tokenizer.FREQ.get(t, 0) < tokenizer.FREQ[s]:
                    tokenizer.add_word(t, tokenizer.FREQ[s])
    return tokenizer


def _word_boundaries(text: str, lang: str) -> set[int] | None:
    """Offsets where a word may start or end: jieba's words for Chinese (so 叫做爱 is not 做爱), whole
    katakana runs for Japanese (so クローン is not クロ); None (anywhere) for other scripts."""
    if lang == "zh":
        return {0, len(text)} | {cut for _, start, end in _zh_tokenizer().tokenize(text) for cut in (start, end)}
    if lang == "ja":
        cuts, pos = {0}, 0
        for m in _KATAKANA.finditer(text):
            pos = m.end()
            cuts.add(pos)
        return cuts
    return None


class Toxicity(Filter):
    """Score toxicity offline in many languages and drop records above ``max_score`` (reason ``toxic``).

    The score is the largest of: alt-profanity-check's probability (English; the English word list is
    used only without it); ``1 - 0.25**hits`` for word-list hits in the record's language (the
    ``language`` column from ``language_id``, else detected), so one hit scores 0.75 and two 0.94; and the
    optional ``model``'s probability of the label ``model_label`` (a transformers text-classification
    model name or local path). ``toxicity_categories`` says which fired (``profanity_model``, ``lexicon``,
    ``classifier``), ``toxicity_terms`` which words matched. ``per_turn`` scores each turn of a
    conversation and keeps the worst. ``mode: annotate`` writes the columns and drops nothing (choose
    ``max_score`` from their distribution); ``mode: filter`` drops without writing them.

    ```yaml
    - toxicity: {max_score: 0.7}
    ```
    """

    name = "toxicity"
    _unpicklable = ("_english", "_classifier", "_langid")

    def __init__(
        self,
        *,
        field: str | None = None,
        max_score: float = 0.7,
        english_model: bool = True,
        languages: list[str] | None = None,
        model: str | None = None,
        model_label: str = "toxic",
        mode: Literal["both", "filter", "annotate"] = "both",
    ) -> None:
        if not 0.0 <= max_score <= 1.0:
            raise ValueError(f"max_score must be within 0..1, got {max_score}")
        unknown = sorted(set(languages or ()) - set(lexicon_languages()))
        if unknown:
            raise ValueError(f"no toxicity word list for {unknown}; available: {', '.join(lexicon_languages())}")
        self.field = field
        self.max_score = max_score
        self.english_model = english_model
        self.languages = languages
        self.model = model
        self.model_label = model_label
        self.mode = mode

    def requires(self) -> dict[str, str]:
        return {"transformers": "train"} if self.model else {}

    def setup(self) -> None:
        self._english = None
        if self.english_model:
            try:
                import profanity_check

                self._english = profanity_check.predict_prob
            except ImportError:
                warnings.warn(
                    "toxicity: alt-profanity-check is not installed (pip install 'instructkit[toxicity]'); "
                    "English is scored by its word list only",
                    stacklevel=2,
                )
        self._classifier = None
        if self.model:
            from transformers import pipeline

            self._classifier = pipeline("text-classification", model=self.model, top_k=None, truncation=True)
        from instructkit.steps.language import LanguageId

        self._langid = LanguageId()
        self._langid.setup()

    def _ready(self) -> None:
        if "_langid" not in self.__dict__:
            self.setup()

    def score(self, texts: list[str], langs: list[str]) -> list[tuple[float, list[str], list[str]]]:
        """``(score, categories, terms)`` per text."""
        self._ready()
        english = [0.0] * len(texts)
        en_rows = [i for i, lang in enumerate(langs) if lang == "en"]
        if self._english is not None and en_rows:
            probs = self._english([texts[i] for i in en_rows])
            for i, p in zip(en_rows, probs, strict=False):
                english[i] = float(p)
        classified = [0.0] * len(texts)
        if self._classifier is not None:
            label = self.model_label.casefold()
            for i, labels in enumerate(self._classifier(texts)):
                classified[i] = sum(x["score"] for x in labels if x["label"].casefold() == label)
        wanted = set(self.languages) if self.languages else None
        out = []
        for text, lang, p_en, p_model in zip(texts, langs, english, classified, strict=False):
            use_lexicon = (wanted is None or lang in wanted) and not (lang == "en" and self._english is not None)
            terms = lexicon_terms(text, lang) if use_lexicon else []
            p_lex = 1.0 - 0.25 ** len(terms)
            categories = [
                name
                for name, p in (("profanity_model", p_en), ("lexicon", p_lex), ("classifier", p_model))
                if p > self.max_score
            ]
            out.append((round(max(p_en, p_lex, p_model), 4), categories, sorted(set(terms))))
        return out

    def annotate(self, batch: pa.Table) -> pa.Table:
        return batch if self.mode == "filter" else self.score_batch(batch)

    def score_batch(self, batch: pa.Table) -> pa.Table:
        """``batch`` with the score columns added."""
        self._ready()
        if self.per_turn:  # each targeted turn of a conversation on its own; a record gets its worst turn
            groups = [turns or [""] for turns in self.turn_texts(batch)]
        else:
            groups = [[t if isinstance(t, str) else ""] for t in self.texts(batch)]
        given = batch.column("language").to_pylist() if "language" in batch.column_names else None
        texts, langs, owner = [], [], []
        for i, turns in enumerate(groups):
            for t in turns:
                texts.append(t)
                langs.append(_base(given[i]) if given else self._langid.detect(t)[0])
                owner.append(i)
        merged: list[tuple[float, set[str], set[str]]] = [(0.0, set(), set()) for _ in groups]
        for i, (score, categories, terms) in zip(owner, self.score(texts, langs), strict=True):
            best, cats, found = merged[i]
            merged[i] = (max(best, score), cats | set(categories), found | set(terms))
        batch = set_column(batch, "toxicity", pa.array([s for s, _, _ in merged], pa.float64()))
        categories = [sorted(c) for _, c, _ in merged]
        batch = set_column(batch, "toxicity_categories", pa.array(categories, pa.list_(pa.string())))
        return set_column(batch, "toxicity_terms", pa.array([sorted(t) for _, _, t in merged], pa.list_(pa.string())))

    def check(self, batch: pa.Table) -> list[str | None]:
        if self.mode == "annotate":
            return [None] * batch.num_rows
        if self.mode == "filter" or "toxicity" not in batch.column_names:
            batch = self.score_batch(batch)
        return ["toxic" if s is not None and s > self.max_score else None for s in batch.column("toxicity").to_pylist()]
