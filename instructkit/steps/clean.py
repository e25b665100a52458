"""Text normalisation: Unicode form, control characters, whitespace."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from instructkit.steps.base import Mapper

# C0/C1 controls except tab and newline; zero-width and bidi marks that carry no text; ANSI escapes.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2060\ufeff\ufffe]")
_INLINE_SPACE = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")


class Clean(Mapper):
    """Normalise Unicode, remove control characters and ANSI escapes, tidy whitespace.

    Line breaks are kept (paragraphs matter to later quality rules); runs of spaces and tabs become one
    space, lines are stripped, and more than one empty line in a row becomes one.

    ```yaml
    - clean: {unicode_form: NFC, strip_control: true, whitespace: true}
    ```
    """

    name = "clean"

    def __init__(
        self,
        *,
        field: str | None = None,
        unicode_form: Literal["NFC", "NFKC", "none"] = "NFC",
        strip_control: bool = True,
        whitespace: bool = True,
    ) -> None:
        self.field = field
        self.unicode_form = unicode_form
        self.strip_control = strip_control
        self.whitespace = whitespace

    def apply_text(self, text: str) -> str:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if self.unicode_form != "none":
            text = unicodedata.normalize(self.unicode_form, text)
        if self.strip_control:
            text = _CONTROL.sub("", _ANSI.sub("", text))
        if self.whitespace:
            text = "\n".join(_INLINE_SPACE.sub(" ", line).strip() for line in text.split("\n"))
            text = _BLANK_LINES.sub("\n\n", text).strip()
        return text
