"""Cleaning mappers on real text: Unicode repair and forms, URLs and e-mails, boilerplate lines, HTML."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from instructkit.steps.clean import Clean, RemoveBoilerplate
from instructkit.steps.html import HtmlToText

DATA = Path(__file__).parent / "data" / "quality"
# A sentence of the Debian reference (zh-cn), as published, and the same bytes read as cp1252 (mojibake).
ZH = "主机名解析，目前也是由 NSS (名字服务转换 Name Service Switch) 机制来支持。"
FR = "Le système Linux est une plateforme informatique très performante pour un ordinateur connecté au réseau."


def test_clean_keeps_its_defaults():
    assert Clean().apply_text(" a\t\tb \r\n\n\n\nc\x07 ") == "a b\n\nc"


def test_fix_unicode_repairs_mojibake_only_when_asked():
    broken = FR.encode("utf-8").decode("cp1252", errors="replace")
    assert broken != FR
    assert Clean(fix_unicode=True).apply_text(broken) == FR
    assert Clean().apply_text(broken) == broken
    assert Clean(fix_unicode=True).apply_text(ZH) == ZH  # nothing to repair: untouched


def test_nfkc_safe_keeps_chinese_punctuation():
    text = "ＡＰＴ　１．９ 的用法：见 ﬁle 手册！"
    assert Clean(unicode_form="NFKC").apply_text(text) == "APT 1.9 的用法:见 file 手册!"
    assert Clean(unicode_form="NFKC_safe").apply_text(text) == "APT 1．9 的用法：见 file 手册！"  # 　 is a space
    assert Clean(unicode_form="NFKC_safe").apply_text(ZH) == ZH


def test_urls_and_emails():
    text = "See https://www.debian.org/doc/manuals/debian-reference/. Mail debian-doc@lists.debian.org now."
    assert Clean(urls="placeholder", emails="placeholder").apply_text(text) == "See <URL>. Mail <EMAIL> now."
    assert Clean(urls="remove", emails="remove").apply_text(text) == "See . Mail now."
    assert Clean().apply_text(text) == text
    with pytest.raises(ValueError, match="urls"):
        Clean(urls="mask")


def test_boilerplate_lines_of_a_python_docs_page():
    page = (DATA / "python-docs-page.txt").read_text(encoding="utf-8")
    step = RemoveBoilerplate()
    out = step.apply_text(page)
    lines = {line.strip() for line in out.splitlines()}
    for furniture in ("Navigation", "modules |", "next |", "Python »", "3.11.2 Documentation »", "Previous topic",
                      "Show Source", "© Copyright 2001-2026, Python Software Foundation."):
        assert furniture in page and furniture not in lines
    assert "The imghdr module determines the type of image contained in a file or" in lines
    assert ">>> import imghdr" in lines  # a doctest is content, even with its ">"
    assert out.count("imghdr — Determine the type of an image\n") == 1  # repeated header: first copy stays
    assert step.drain_metrics()["boilerplate_lines"] == 34


def test_boilerplate_chinese_and_cookie_lines():
    text = f"首页\n{ZH}\n阅读全文\n本网站使用 Cookie 以改善体验。\n返回顶部\n版权所有 © 2024 Debian"
    assert RemoveBoilerplate().apply_text(text) == ZH


def test_html_to_text_keeps_the_main_content():
    html = (DATA / "rust-book-derivable-traits.html").read_text(encoding="utf-8")
    out = HtmlToText().apply_text(html)
    assert "The derive attribute generates" in " ".join(out.split())
    assert "<div" not in out and "Keyboard shortcuts" not in out
    fast = HtmlToText(extractor="resiliparse").apply_text(html)
    assert "Appendix C: Derivable Traits" in fast and "<div" not in fast
    assert HtmlToText().apply_text(ZH) == ZH  # plain text passes through


def test_html_step_on_a_batch():
    html = (DATA / "rust-book-derivable-traits.html").read_text(encoding="utf-8")
    step = HtmlToText(extractor="selectolax")
    step.setup()
    out = step.apply(pa.table({"text": [html, FR], "id": ["a", "b"]}))
    assert out.column_names == ["text", "id"]
    assert out.column("text")[1].as_py() == FR and "Derivable Traits" in out.column("text")[0].as_py()
