"""Bias steps: counterfactual augmentation (gendered words swapped, English and Chinese) and an opt-in
filter of sentences that stereotype a group."""

from __future__ import annotations

import re
from typing import Literal

import pyarrow as pa

from instructkit.steps.base import Filter, Mapper, set_column
from instructkit.text import is_cjk_text

_EN_PAIRS = [
    ("he", "she"), ("him", "her"), ("himself", "herself"), ("man", "woman"), ("men", "women"),
    ("boy", "girl"), ("boys", "girls"), ("father", "mother"), ("fathers", "mothers"), ("son", "daughter"),
    ("sons", "daughters"), ("brother", "sister"), ("brothers", "sisters"), ("husband", "wife"),
    ("husbands", "wives"), ("king", "queen"), ("kings", "queens"), ("uncle", "aunt"), ("uncles", "aunts"),
    ("nephew", "niece"), ("grandfather", "grandmother"), ("grandson", "granddaughter"), ("boyfriend", "girlfriend"),
    ("gentleman", "lady"), ("gentlemen", "ladies"), ("male", "female"), ("males", "females"), ("mr", "ms"),
    ("dad", "mom"), ("sir", "madam"), ("prince", "princess"), ("actor", "actress"), ("waiter", "waitress"),
]
_ZH_PAIRS = [
    ("他们", "她们"), ("他們", "她們"), ("他", "她"), ("男人", "女人"), ("男性", "女性"), ("男孩", "女孩"),
    ("男生", "女生"), ("男子", "女子"), ("父亲", "母亲"), ("父親", "母親"), ("爸爸", "妈妈"), ("儿子", "女儿"),
    ("兒子", "女兒"), ("丈夫", "妻子"), ("哥哥", "姐姐"), ("弟弟", "妹妹"), ("兄弟", "姐妹"), ("爷爷", "奶奶"),
    ("叔叔", "阿姨"), ("国王", "女王"), ("國王", "女王"), ("王子", "公主"), ("老公", "老婆"), ("男朋友", "女朋友"),
]
# Words that contain 他 but are not "he": other, others, guitar, other places.
_ZH_KEEP = ["其他", "其它", "他人", "吉他", "他乡", "他鄉", "他日", "他时", "他時", "他国", "他國", "利他"]
# "her" is "his" before a noun and "him" otherwise; a following word from this list means "him".
_NOT_NOUN = set("a an the and or but to of in on at for with from by as is was that this it . , ; : ! ?".split())


def _swap_map(pairs: list[tuple[str, str]]) -> dict[str, str]:
    out = {}
    for a, b in pairs:
        out.setdefault(a, b)
        out.setdefault(b, a)
    return out


_EN = _swap_map(_EN_PAIRS) | {"his": "her", "hers": "his", "mrs": "mr"}
_EN_WORD = re.compile(r"\b(" + "|".join(sorted(map(re.escape, _EN), key=len, reverse=True)) + r")\b(\s*)(\S*)", re.I)
_ZH = _swap_map(_ZH_PAIRS) | {w: w for w in _ZH_KEEP}
_ZH_WORD = re.compile("|".join(sorted(map(re.escape, _ZH), key=len, reverse=True)))


def _cased(word: str, like: str) -> str:
    if like.isupper() and len(like) > 1:
        return word.upper()
    return word[:1].upper() + word[1:] if like[:1].isupper() else word


def swap_english(text: str) -> str:
    """Swap gendered English words, keeping their case.

    >>> swap_english("She gave him her book.")
    'He gave her his book.'
    """

    def repl(m: re.Match[str]) -> str:
        word, space, following = m.group(1), m.group(2), m.group(3)
        low = word.lower()
        if low == "her":
            nxt = re.sub(r"\W+$", "", following.lower())
            swapped = "his" if following and nxt and nxt not in _NOT_NOUN and following[:1].isalnum() else "him"
        else:
            swapped = _EN[low]
        # the following word may itself be gendered: swap it by matching the rest again
        return _cased(swapped, word) + space + _EN_WORD.sub(repl, following)

    return _EN_WORD.sub(repl, text)


def swap_chinese(text: str) -> str:
    """Swap gendered Chinese words (Simplified and Traditional), leaving 其他/吉他 alone.

    >>> swap_chinese("他的妈妈和其他人")
    '她的爸爸和其他人'
    """
    return _ZH_WORD.sub(lambda m: _ZH[m.group()], text)


def swap_gender(text: str, language: str = "auto") -> str:
    if language == "auto":
        language = "zh" if is_cjk_text(text) else "en"
    return swap_chinese(text) if language == "zh" else swap_english(text)


class CounterfactualGender(Mapper):
    """Counterfactual augmentation: swap gendered words (he/she, 他/她, father/mother, 儿子/女儿 ...).

    ``fields`` are text columns or ``messages`` conversations (every turn's content is swapped).
    ``mode: add`` keeps every record and adds, right after each record that has a gendered word, a copy
    with the words swapped (``counterfactual: true``); ``mode: replace`` swaps in place. ``language: auto``
    treats text that is mostly Han/Kana as Chinese, anything else as English.

    ```yaml
    - counterfactual_gender: {mode: add, fields: [text]}
    ```
    """

    name = "counterfactual_gender"
    expands = True

    def __init__(
        self,
        *,
        fields: list[str] | None = None,
        mode: Literal["add", "replace"] = "add",
        language: Literal["auto", "en", "zh"] = "auto",
    ) -> None:
        if fields is not None and not fields:
            raise ValueError("fields must name at least one field")
        self.fields = fields
        self.mode = mode
        self.language = language

    def apply(self, batch: pa.Table) -> pa.Table:
        fields = self.fields or [self.field_name()]
        missing = [f for f in fields if f not in batch.column_names]
        if missing:
            raise KeyError(f"step {self.name}: field(s) {missing} not in the records")
        rows = batch.to_pylist()
        out = []
        for row in rows:
            swapped = dict(row)
            for f in fields:
                if isinstance(row[f], str):
                    swapped[f] = swap_gender(row[f], self.language)
                elif isinstance(row[f], list):  # a conversation: swap every turn's content
                    swapped[f] = [
                        t | {"content": swap_gender(t["content"], self.language)}
                        if isinstance(t, dict) and isinstance(t.get("content"), str) else t
                        for t in row[f]
                    ]
            changed = any(swapped[f] != row[f] for f in fields)
            if self.mode == "replace":
                out.append(swapped | {"counterfactual": changed})
                continue
            out.append(row | {"counterfactual": False})
            if changed:
                out.append(swapped | {"counterfactual": True})
                self.count("counterfactual_added")
        schema = batch.schema
        if "counterfactual" not in schema.names:
            schema = schema.append(pa.field("counterfactual", pa.bool_()))
        if not out:
            return set_column(batch, "counterfactual", pa.array([], pa.bool_()))
        return pa.Table.from_pylist(out, schema=schema)


_COPULA = {
    "en": {"are", "is", "were", "was", "be", "being", "become", "becomes", "remain"},
    "zh": {"是", "都", "很", "太", "就是", "都是", "天生", "总是", "總是", "就", "真", "最", "都很", "比较", "比較"},
}
_PRONOUNS = {"he", "she", "him", "her", "his", "hers", "himself", "herself", "他", "她", "他们", "她们", "他們", "她們"}
_SENTENCE = re.compile(r"[^.!?;。！？；\n]+")


class Stereotypes(Filter):
    """Drop records with a sentence that generalises about a group with a derogatory word: a group term,
    then a copula (are/is, 是/都/很 ...), then a word from the lexicon's ``negative`` list within
    ``window`` words ("Woman is the greatest evil", "女人都很笨"). Reason ``stereotype:<group.subgroup>``.
    English and Chinese (instructkit/lexicons/bias); a bias *filter* runs only when a recipe asks for it:
    read the ``bias_audit`` report first.

    ```yaml
    - stereotypes: {groups: [gender, religion, nationality_ethnicity], window: 6}
    ```
    """

    name = "stereotypes"

    def __init__(self, *, field: str | None = None, groups: list[str] | None = None, window: int = 6) -> None:
        from instructkit.reports.bias import load_lexicon

        known = set(load_lexicon("en")["groups"])
        unknown = sorted(set(groups or ()) - known)
        if unknown:
            raise ValueError(f"unknown group(s) {unknown}; known: {', '.join(sorted(known))}")
        if window < 1:
            raise ValueError("window must be at least 1")
        self.field = field
        self.groups = groups
        self.window = window

    def find(self, text: str) -> str | None:
        """``group.subgroup`` of the first stereotyping sentence in ``text``, else None."""
        from instructkit.reports.bias import _index, load_lexicon, words

        lang = "zh" if is_cjk_text(text) else "en"
        single, _, _ = _index(lang)
        negative = set(load_lexicon(lang)["negative"])
        copula = _COPULA[lang]
        for sentence in _SENTENCE.findall(text):
            tokens = words(sentence, lang)
            for i, token in enumerate(tokens):
                key = single.get(token)
                if key is None or token in _PRONOUNS or (self.groups and key[0] not in self.groups):
                    continue
                after = tokens[i + 1 : i + 1 + self.window]
                at = next((j for j, t in enumerate(after) if t in copula), None)
                if at is not None and negative.intersection(tokens[i + 2 + at : i + 2 + at + self.window]):
                    return f"{key[0]}.{key[1]}"
        return None

    def check_text(self, text: str) -> str | None:
        found = self.find(text)
        return f"stereotype:{found}" if found else None
