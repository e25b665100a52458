"""PII redaction: real addresses from Debian documentation; synthetic numbers with valid checksums."""

from __future__ import annotations

import pyarrow as pa
import pytest

from instructkit.steps.pii import PiiRedact, cn_id_valid, luhn

# Lines as published in the Debian reference / FAQ (GPL-2+).
DEBIAN_EN = "Please send bug reports to the debian-devel@lists.debian.org mailing list."
DEBIAN_ZH = "请发送邮件到 debian-user-chinese-gb@lists.debian.org 参与讨论。"
ID = "11010519491231002X"  # synthetic: a valid check character, not a person


def redact(text: str, **params) -> tuple[str, dict]:
    step = PiiRedact(**params)
    return step.apply_text(text), step.drain_metrics()


def test_checksums():
    assert cn_id_valid(ID) and not cn_id_valid(ID[:-1] + "1")
    assert luhn("4111111111111111") and not luhn("4111111111111112")


def test_real_email_addresses():
    assert redact(DEBIAN_EN) == ("Please send bug reports to the <EMAIL> mailing list.", {"pii_email": 1})
    assert redact(DEBIAN_ZH)[0] == "请发送邮件到 <EMAIL> 参与讨论。"


def test_chinese_numbers_next_to_han_characters():
    text = f"我的手机号是13812345678，座机010-12345678，身份证号{ID}。"
    out, counts = redact(text)
    assert out == "我的手机号是<PHONE>，座机<PHONE>，身份证号<CN_ID>。"
    assert counts == {"pii_phone": 2, "pii_cn_id": 1}


def test_invalid_checksums_are_kept():
    text = f"订单号 {ID[:-1]}1 与卡号 4111 1111 1111 1112 不是个人信息。"
    assert redact(text) == (text, {})


def test_cards_ips_and_international_phones():
    text = ("Card 4111 1111 1111 1111, UnionPay 6222 0202 0000 1234 567, call +44 20 7946 0958 or "
            "(555) 123-4567; server 8.8.8.8 and 2001:4860:4860::8888; LAN 192.168.1.1, ::1.")
    out, counts = redact(text)
    assert out == ("Card <CREDIT_CARD>, UnionPay <BANK_CARD>, call <PHONE> or <PHONE>; server <IP_ADDRESS> "
                   "and <IP_ADDRESS>; LAN 192.168.1.1, ::1.")
    assert counts == {"pii_credit_card": 1, "pii_bank_card": 1, "pii_phone": 2, "pii_ip_address": 2}
    assert "<IP_ADDRESS>, <IP_ADDRESS>" in redact(text, redact_private_ips=True)[0]


def test_things_that_look_like_numbers_are_kept():
    text = "Python 3.11.2, section 6.2.4.4. covers it; see bug #719621, run at 12:30:45 on 2023-01-15."
    assert redact(text) == (text, {})


def test_types_and_placeholder():
    out, counts = redact(f"{DEBIAN_EN} ID {ID}", types=["cn_id"], placeholder="[{type}]")
    assert out == f"{DEBIAN_EN} ID [cn_id]" and counts == {"pii_cn_id": 1}
    with pytest.raises(ValueError, match="unknown PII type"):
        PiiRedact(types=["passport"])


def test_batch_keeps_fields():
    step = PiiRedact()
    out = step.apply(pa.table({"id": ["a", "b"], "text": [DEBIAN_EN, None]}))
    assert out.column_names == ["id", "text"]
    assert out.column("text").to_pylist() == ["Please send bug reports to the <EMAIL> mailing list.", None]
