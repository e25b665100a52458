"""HTML to text: keep a page's main content, drop markup, scripts, navigation and footers."""

from __future__ import annotations

import re
from typing import Literal

from instructkit.steps.base import Mapper

_LOOKS_LIKE_HTML = re.compile(r"<(?:html|body|div|p|br|span|a|h[1-6]|table|ul|li|head|title|!doctype)\b", re.I)
_BLANK_LINES = re.compile(r"\n\s*\n\s*(?:\n\s*)+")


class HtmlToText(Mapper):
    """Turn HTML into plain text with a real extractor; text that is not HTML passes through unchanged.

    ``trafilatura`` (default: the cleanest main text; when it finds none, the selectolax rendering is
    kept), ``resiliparse`` (20x faster, but keeps more page furniture: on 195 Rust book pages it left the
    help overlay in 113, trafilatura in none; ``benchmarks/quality.py --html``) or ``selectolax`` (all visible text minus script, style and,
    with ``main_content``, nav/header/footer/aside/form). Needs ``pip install instructkit[html]``.

    ```yaml
    - html_to_text: {extractor: trafilatura, main_content: true}
    ```
    """

    name = "html_to_text"
    _unpicklable = ("_extract",)

    def __init__(
        self,
        *,
        field: str | None = None,
        extractor: Literal["trafilatura", "resiliparse", "selectolax"] = "trafilatura",
        main_content: bool = True,
    ) -> None:
        if extractor not in ("resiliparse", "trafilatura", "selectolax"):
            raise ValueError(f"extractor must be resiliparse, trafilatura or selectolax, not {extractor!r}")
        self.field = field
        self.extractor = extractor
        self.main_content = main_content

    def requires(self) -> dict[str, str]:
        return {self.extractor: "html"}

    def setup(self) -> None:
        self._extract = getattr(self, f"_{self.extractor}")

    def apply_text(self, text: str) -> str:
        if not _LOOKS_LIKE_HTML.search(text):
            return text
        if "_extract" not in self.__dict__:
            self.setup()
        out = self._extract(text)
        self.count("html_documents")
        return _BLANK_LINES.sub("\n\n", out).strip()

    def _resiliparse(self, html: str) -> str:
        from resiliparse.extract.html2text import extract_plain_text

        return extract_plain_text(html, main_content=self.main_content, alt_texts=False, links=False,
                                  form_fields=False, noscript=False)

    def _trafilatura(self, html: str) -> str:
        import trafilatura

        out = trafilatura.extract(html, include_comments=False, include_tables=True, deduplicate=False,
                                  favor_precision=self.main_content, favor_recall=not self.main_content)
        return out if out else self._selectolax(html)

    def _selectolax(self, html: str) -> str:
        from selectolax.lexbor import LexborHTMLParser

        tree = LexborHTMLParser(html)
        junk = ["script", "style", "noscript", "template", "svg"]
        if self.main_content:
            junk += ["nav", "header", "footer", "aside", "form"]
        tree.strip_tags(junk)
        root = tree.body or tree.root
        return root.text(separator="\n", strip=True) if root is not None else ""
