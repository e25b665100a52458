"""Small word lists used by the quality rules; sources and licences are in ``README.md`` beside this file."""

from __future__ import annotations

# Gopher's English stop words (Rae et al. 2021, "Scaling Language Models", appendix A); other lists are
# the eight-to-sixteen most frequent function words of each language, chosen the same way.
# Languages written without spaces are matched as substrings, the others as whole words.
STOP_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("the", "be", "to", "of", "and", "that", "have", "with"),
    "de": ("der", "die", "und", "das", "ist", "nicht", "mit", "zu", "den", "ein"),
    "fr": ("le", "la", "les", "et", "des", "est", "que", "une", "dans", "pour"),
    "es": ("el", "la", "los", "que", "y", "en", "las", "por", "una", "con"),
    "it": ("il", "che", "di", "la", "e", "per", "una", "non", "sono", "con"),
    "pt": ("o", "que", "de", "os", "uma", "em", "para", "com", "não", "as"),
    "nl": ("de", "het", "een", "en", "van", "is", "dat", "niet", "met", "zijn"),
    "ru": ("и", "в", "не", "на", "что", "с", "по", "это", "как", "для"),
    "zh": ("的", "了", "是", "在", "和", "有", "我", "这", "不", "也", "就", "他", "们", "个", "要", "以"),
    "ja": ("の", "に", "は", "を", "た", "が", "で", "て", "と", "し", "な", "る"),
}
UNSEGMENTED = frozenset({"zh", "ja", "th"})
"""Languages whose stop words are matched anywhere, not between word boundaries."""
