"""Text normalisation (Unicode repair and form, control characters, whitespace, URLs and e-mails) and
boilerplate-line removal."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from typing import Literal

from instructkit.steps.base import Mapper

# C0/C1 controls except tab and newline; zero-width and bidi marks that carry no text; ANSI escapes.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2060\ufeff\ufffe]")
_INLINE_SPACE = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")
# Full-width punctuation and the ideographic space are how CJK text is written: NFKC would make them ASCII.
_CJK_PUNCT = re.compile("[^\u3000\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]+")
_URL = re.compile(r"\b(?:https?://|ftp://|www\.)[^\s<>\"'，。、）]+[^\s<>\"'.,;:!?)\]}，。、）]", re.I)
_EMAIL = re.compile(r"(?<![0-9A-Za-z_.%+-])[0-9A-Za-z_.%+-]+@[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*\.[A-Za-z]{2,}\b")

# UTF-8 read as Latin-1/cp1252 leaves a lead byte (Ã, â, Â ...) before a continuation byte: only then run ftfy.
_MOJIBAKE = re.compile("[\xc2-\xf4][\x80-\xbf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
                       "\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]")

Replace = Literal["keep", "remove", "placeholder"]


class Clean(Mapper):
    """Repair and normalise Unicode, remove control characters and ANSI escapes, tidy whitespace.

    Line breaks are kept (paragraphs matter to later quality rules); runs of spaces and tabs become one
    space, lines are stripped, and more than one empty line in a row becomes one. ``fix_unicode`` repairs
    mojibake with ftfy (``CafÃ©`` -> ``Café``). ``unicode_form: NFKC_safe`` applies NFKC (full-width
    letters and digits, ligatures, compatibility forms) but keeps full-width CJK punctuation (``，。！``) as
    written. ``urls`` / ``emails``: ``keep``, ``remove`` or ``placeholder`` (``<URL>``, ``<EMAIL>``).

    ```yaml
    - clean: {unicode_form: NFC, strip_control: true, whitespace: true}
    ```
    """

    name = "clean"

    def __init__(
        self,
        *,
        field: str | None = None,
        unicode_form: Literal["NFC", "NFKC", "none", "NFKC_safe"] = "NFC",
        strip_control: bool = True,
        whitespace: bool = True,
        fix_unicode: bool = False,
        urls: Replace = "keep",
        emails: Replace = "keep",
    ) -> None:
        for name, value in (("urls", urls), ("emails", emails)):
            if value not in ("keep", "remove", "placeholder"):
                raise ValueError(f"{name} must be keep, remove or placeholder, not {value!r}")
        self.field = field
        self.unicode_form = unicode_form
        self.strip_control = strip_control
        self.whitespace = whitespace
        self.fix_unicode = fix_unicode
        self.urls = urls
        self.emails = emails

    def apply_text(self, text: str) -> str:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if self.fix_unicode and _MOJIBAKE.search(text):
            import ftfy

            # Repair encoding only: width, quotes and ligatures are left to ``unicode_form``.
            text = ftfy.fix_text(text, normalization=None, fix_line_breaks=False, uncurl_quotes=False,
                                 fix_character_width=False, fix_latin_ligatures=False)
        if self.unicode_form == "NFKC_safe":
            text = _CJK_PUNCT.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
        elif self.unicode_form != "none":
            text = unicodedata.normalize(self.unicode_form, text)
        if self.strip_control:
            text = _CONTROL.sub("", _ANSI.sub("", text))
        for pattern, mode, placeholder in ((_URL, self.urls, "<URL>"), (_EMAIL, self.emails, "<EMAIL>")):
            if mode != "keep":
                text = pattern.sub("" if mode == "remove" else placeholder, text)
        if self.whitespace:
            text = "\n".join(_INLINE_SPACE.sub(" ", line).strip() for line in text.split("\n"))
            text = _BLANK_LINES.sub("\n\n", text).strip()
        return text


# Whole lines that are page furniture, not content (matched on the stripped, lower-cased line).
_BOILERPLATE_LINE = re.compile(
    r"(?:skip to (?:main )?content|(?:main )?(?:menu|navigation)|toggle navigation|home|search(?: \.\.\.)?"
    r"|log ?in|log ?out|sign (?:in|up|out)|register|subscribe(?: now)?|newsletter|share(?: this(?: page| post)?)?"
    r"|share on (?:facebook|twitter|x|linkedin|reddit|whatsapp|email)|tweet|print(?: this page)?"
    r"|read more|continue reading|more\.\.\.|load more|show more|back to top|scroll to top|next|previous"
    r"|« ?previous|next ?»|(?:previous|next) (?:topic|page|post|article|chapter)|older posts|newer posts"
    r"|table of contents|on this page|this page|show source|view source|edit on github|report a bug|leave a (?:comment|reply)|\d+ comments?|all rights reserved\.?"
    r"|(?:©|\(c\)|copyright)(?: ?(?:©|\(c\)|copyright))* ?\d{4}.*|powered by .{1,40}|accept(?: all)?(?: cookies)?|reject all"
    r"|cookie (?:settings|preferences|policy)|privacy policy|terms (?:of (?:use|service)|and conditions)"
    r"|首页|主页|导航|菜单|登录|注册|退出|搜索|分享|分享到.{0,20}|阅读(?:更多|全文)|查看(?:更多|全文)|更多|加载更多"
    r"|返回顶部|回到顶部|上一页|下一页|上一篇.{0,60}|下一篇.{0,60}|版权所有.{0,60}|隐私政策|使用条款|打印|收藏"
    r"|相关文章|热门文章|发表评论|\d+ ?条评论)"
)
# Lines that mention cookies/consent (C4 drops them too); breadcrumbs ("Python » 3.11 »") and menu items
# ending in a bar ("modules |"); ">" and inner bars are left alone: shell pipes and doctests use them.
_COOKIE = re.compile(r"\b(?:we use cookies|uses cookies|use of cookies|accept (?:all )?cookies|cookie consent)\b"
                     r"|使用\s*cookie|使用\s*Cookie")
_CRUMB = re.compile(r"^(?:[^»›]{0,60}[»›]\s*)+[^»›]{0,60}$|^.{0,60}\s\|$|^\|$")


class RemoveBoilerplate(Mapper):
    """Remove page-furniture lines: navigation, "read more", share/login/cookie lines, breadcrumbs, and
    short lines repeated inside the document (headers and footers); English and Chinese patterns.

    A line is furniture when it *is* a menu item or notice (``Read more``, ``Skip to content``,
    ``返回顶部``, ``© 2024 ...``), a cookie notice shorter than ``max_line_length``, a breadcrumb or menu line
    (``Python » 3.11 Documentation »``, ``index | modules |``), or a line of at most ``max_line_length``
    characters that appears at least ``min_repeats`` times in the document (page headers and footers; the
    first copy stays; ``min_repeats: 0`` turns this off). Removed lines are counted as ``boilerplate_lines``.

    ```yaml
    - remove_boilerplate: {min_repeats: 3, max_line_length: 100}
    ```
    """

    name = "remove_boilerplate"

    def __init__(
        self,
        *,
        field: str | None = None,
        min_repeats: int = 3,
        max_line_length: int = 100,
    ) -> None:
        if max_line_length < 1 or min_repeats < 0:
            raise ValueError("max_line_length must be positive and min_repeats not negative")
        self.field = field
        self.min_repeats = min_repeats
        self.max_line_length = max_line_length

    def is_boilerplate(self, line: str) -> bool:
        s = line.strip()
        if not s or len(s) > self.max_line_length:
            return False
        low = s.lower()
        return bool(_BOILERPLATE_LINE.fullmatch(low) or _COOKIE.search(low) or _CRUMB.match(s))

    def apply_text(self, text: str) -> str:
        lines = text.split("\n")
        counts = Counter(line.strip() for line in lines) if self.min_repeats else Counter()
        seen: set[str] = set()
        kept, removed = [], 0
        for line in lines:
            key = line.strip()
            repeat = key in seen and counts[key] >= self.min_repeats and len(key) <= self.max_line_length \
                and any(c.isalnum() for c in key)
            if key and (repeat or self.is_boilerplate(line)):
                removed += 1
                continue
            seen.add(key)
            kept.append(line)
        if removed:
            self.count("boilerplate_lines", removed)
        return _BLANK_LINES.sub("\n\n", "\n".join(kept)).strip()
