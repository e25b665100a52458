"""PII redaction: e-mail, IP addresses, phone numbers, Chinese resident IDs, payment and bank cards."""

from __future__ import annotations

import ipaddress
import re

from instructkit.steps.base import Mapper

PII_TYPES = ("email", "ip_address", "cn_id", "credit_card", "bank_card", "phone")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# Boundaries are ASCII-only: Chinese characters are \w, and a number right after 是 or before ， is still PII.
_A = "0-9A-Za-z_"
_PATTERN = re.compile(
    rf"(?P<email>(?<![{_A}.%+-])[{_A}.%+-]+@[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*\.[A-Za-z]{{2,}}(?![{_A}]))"
    rf"|(?P<ipv6>(?<![{_A}:])(?:[0-9A-Fa-f]{{0,4}}:){{2,7}}[0-9A-Fa-f]{{0,4}}(?![{_A}:]))"
    rf"|(?P<ipv4>(?<![{_A}.])(?:\d{{1,3}}\.){{3}}\d{{1,3}}(?![{_A}.]))"  # "6.2.4.4." is a section
    rf"|(?P<cn_id>(?<![{_A}])[1-9]\d{{5}}(?:18|19|20)\d{{2}}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{{3}}[\dXx]"
    rf"(?![{_A}]))"
    rf"|(?P<card>(?<![{_A}.-])\d{{4}}(?:[ -]?\d{{4}}){{2}}(?:[ -]?\d{{4}})?(?:[ -]?\d{{1,3}})?(?![{_A}-]|\.\d))"
    rf"|(?P<cn_mobile>(?<![{_A}+])(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{{4}}[ -]?\d{{4}}(?![{_A}]))"
    rf"|(?P<phone>(?<![{_A}+])(?:\+\d{{1,3}}[ .-]?(?:\(\d{{1,4}}\)[ .-]?)?\d{{1,4}}(?:[ .-]\d{{2,4}}){{1,4}}"
    rf"|\(\d{{3}}\)[ .-]?\d{{3}}[ .-]\d{{4}}|\d{{3}}[.-]\d{{3}}[.-]\d{{4}}|0\d{{2,3}}-\d{{7,8}})(?![{_A}-]|\.\d))"
)


def luhn(digits: str) -> bool:
    """Whether a digit string passes the Luhn checksum (payment cards, most bank cards)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def cn_id_valid(number: str) -> bool:
    """Whether an 18-character resident identity number has a valid ISO 7064 MOD 11-2 check character."""
    total = sum(int(c) * w for c, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == number[17].upper()


def _card_type(digits: str) -> str | None:
    if digits.startswith("62") and 16 <= len(digits) <= 19:
        return "bank_card"  # China UnionPay: not every issuer uses the Luhn digit
    if 13 <= len(digits) <= 19 and luhn(digits) and re.match(r"4|5[1-5]|2[2-7]|3[47]|6(?:011|5)|35", digits):
        return "credit_card"
    return None


class PiiRedact(Mapper):
    """Replace personal data with typed placeholders (``<EMAIL>``, ``<PHONE>`` ...); counts per type go to stats.

    Types: ``email``; ``ip_address`` (IPv4 and IPv6; loopback, private, multicast and documentation ranges
    are kept unless ``redact_private_ips``; ``6.2.4.4.`` followed by a dot is a section number); ``phone`` (international ``+CC ...``, North American, mainland-China
    mobile ``1[3-9]x xxxx xxxx`` with optional ``+86``, Chinese landline ``0xx-xxxxxxxx``); ``cn_id``
    (18-character resident ID with a valid check character); ``credit_card`` (13-19 digits, card prefix,
    Luhn); ``bank_card`` (16-19-digit UnionPay ``62...`` numbers). Numbers that fail their checksum stay.

    ```yaml
    - pii_redact: {types: [email, ip_address, phone, cn_id, credit_card, bank_card]}
    ```
    """

    name = "pii_redact"

    def __init__(
        self,
        *,
        field: str | None = None,
        types: list[str] | None = None,
        placeholder: str = "<{TYPE}>",
        redact_private_ips: bool = False,
    ) -> None:
        unknown = set(types or ()) - set(PII_TYPES)
        if unknown:
            raise ValueError(f"unknown PII type(s) {sorted(unknown)}; valid: {', '.join(PII_TYPES)}")
        if "{TYPE}" not in placeholder and "{type}" not in placeholder:
            raise ValueError("placeholder must contain {TYPE} or {type}")
        self.field = field
        self.types = types
        self.placeholder = placeholder
        self.redact_private_ips = redact_private_ips

    def _classify(self, m: re.Match) -> str | None:
        kind = m.lastgroup
        text = m.group()
        if kind in ("ipv4", "ipv6"):
            try:
                ip = ipaddress.ip_address(text)
            except ValueError:
                return None
            return "ip_address" if self.redact_private_ips or (ip.is_global and not ip.is_multicast) else None
        if kind == "cn_id":
            return "cn_id" if cn_id_valid(text) else None
        if kind == "card":
            return _card_type(re.sub(r"[ -]", "", text))
        if kind == "cn_mobile":
            return "phone"
        if kind == "phone":
            return "phone" if 7 <= sum(c.isdigit() for c in text) <= 15 else None
        return kind

    def _replace(self, m: re.Match) -> str:
        kind = self._classify(m)
        if kind is None or (self.types is not None and kind not in self.types):
            return m.group()
        self.count(f"pii_{kind}")
        return self.placeholder.replace("{TYPE}", kind.upper()).replace("{type}", kind)

    def apply_text(self, text: str) -> str:
        return _PATTERN.sub(self._replace, text)
