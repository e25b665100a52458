"""Script-aware text primitives shared by the steps: CJK detection, tokens, normalisation for hashing.

Chinese and Japanese are written without spaces, so a "word" there is a character (or a segmenter's
word); splitting on whitespace would turn a whole paragraph into one token. These helpers treat each
Han/Kana character as a token and keep space-delimited words (Latin, Cyrillic, Hangul, ...) whole.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import lru_cache

# Han (CJK unified + extension A + compatibility), Hiragana, Katakana, CJK symbols used as letters.
_CJK_RANGES = "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_CHAR = re.compile(f"[{_CJK_RANGES}]")
_TOKEN = re.compile(f"[{_CJK_RANGES}]|[^\\s{_CJK_RANGES}]+")
_SPACES = re.compile(r"\s+")


def is_cjk(ch: str) -> bool:
    return bool(_CJK_CHAR.match(ch))


def cjk_ratio(text: str) -> float:
    """Share of non-space characters that are Han or Kana."""
    letters = len(text) - sum(text.count(c) for c in " \n\t\r")
    return len(_CJK_CHAR.findall(text)) / letters if letters else 0.0


def is_cjk_text(text: str, threshold: float = 0.3) -> bool:
    return cjk_ratio(text) >= threshold


@lru_cache(maxsize=1)
def _punctuation_table() -> dict[int, str]:
    """Every Unicode punctuation and symbol code point -> space."""
    return {
        cp: " "
        for cp in range(sys.maxunicode + 1)
        if unicodedata.category(chr(cp))[0] in "PS"
    }


def strip_punctuation(text: str) -> str:
    return text.translate(_punctuation_table())


def normalize_for_hash(text: str) -> str:
    """Case-, width-, punctuation- and whitespace-insensitive form of ``text`` (for dedup keys).

    >>> normalize_for_hash("Hello,  World!") == normalize_for_hash("hello world")
    True
    >>> normalize_for_hash("你好，世界！") == normalize_for_hash("你好 世界")
    True
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(strip_punctuation(text).split())


def tokens(text: str) -> list[str]:
    """Words of space-delimited scripts, single characters of Han/Kana (punctuation removed).

    >>> tokens("Python 3.11 是一种编程语言")
    ['python', '3', '11', '是', '一', '种', '编', '程', '语', '言']
    """
    return _TOKEN.findall(normalize_for_hash(text))


def collapse_spaces(text: str) -> str:
    return _SPACES.sub(" ", text).strip()
