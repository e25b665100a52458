"""Instruction-data formats: import Alpaca, ShareGPT, OpenAI/TRL messages, Dolly and OASST records into one
canonical record, and export it back.

The canonical record is ``{"messages": [{"role", "content"}, ...], **metadata}`` with roles ``system``
(first turn only), ``user`` and ``assistant``. Fields a format does not use (``id``, ``category``, ``lang``,
...) are kept as metadata. A record that cannot be converted raises ``ValueError`` with the reason; it is
reported, never mangled.

>>> rec = convert({"instruction": "Name a colour.", "input": "", "output": "Blue."}, "alpaca")
>>> rec["messages"]
[{'role': 'user', 'content': 'Name a colour.'}, {'role': 'assistant', 'content': 'Blue.'}]
>>> export(rec, "sharegpt")["conversations"][1]
{'from': 'gpt', 'value': 'Blue.'}
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from instructkit.errors import InputError
from instructkit.formats import alpaca, dolly, messages, oasst, sharegpt
from instructkit.formats.common import ROLES, check_messages

__all__ = ["FORMATS", "ROLES", "UnknownFormat", "check_messages", "convert", "convert_stream", "detect_format",
           "export", "export_stream"]

_MODULES = {"alpaca": alpaca, "sharegpt": sharegpt, "messages": messages, "dolly": dolly, "oasst": oasst}
FORMATS = tuple(_MODULES)
"""Formats that import to and export from the canonical record (``auto`` detects one of them)."""


class UnknownFormat(InputError, ValueError):
    """``input.format: auto`` found no instruction format in the first records."""


def _module(fmt: str):
    try:
        return _MODULES[fmt]
    except KeyError:
        raise ValueError(f"unknown instruction format {fmt!r}; expected one of {', '.join(FORMATS)}") from None


def convert(record: dict[str, Any], fmt: str) -> dict[str, Any]:
    """One record of format ``fmt`` -> the canonical record (``ValueError`` with the reason if impossible).

    OASST message trees span many records: use ``convert_stream`` for flat OASST message exports.
    """
    return _module(fmt).convert(record)


def convert_stream(records: Iterable[dict[str, Any]], fmt: str, *,
                   oasst_paths: str = "top") -> Iterator[dict[str, Any] | ValueError]:
    """Canonical records, or a ``ValueError`` per record that cannot be converted, in input order.

    Every format yields one result per input record, except OASST: a tree yields its top-ranked path
    (``oasst_paths="all"``: every path, best first), and flat message exports are grouped by tree, each
    tree converted after its last message.
    """
    module = _module(fmt)
    if fmt == "oasst":
        yield from module.convert_stream(records, oasst_paths)
        return
    for record in records:
        try:
            yield module.convert(record)
        except ValueError as exc:
            yield exc


def export(record: dict[str, Any], fmt: str) -> dict[str, Any]:
    """The canonical ``record`` in format ``fmt``; ``ValueError`` if the format cannot express it."""
    return _module(fmt).export(record)


def export_stream(records: Iterable[dict[str, Any]], fmt: str) -> Iterator[dict[str, Any] | ValueError]:
    """``export`` over many records: a ``ValueError`` in place of each record the format cannot express."""
    module = _module(fmt)
    for record in records:
        try:
            yield module.export(record)
        except ValueError as exc:
            yield exc


def detect_format(sample: list[dict[str, Any]]) -> str:
    """The instruction format most records of ``sample`` have (``UnknownFormat``, a ``ValueError``, if none)."""
    votes: dict[str, int] = {}
    for record in sample:
        fmt = _detect_one(record)
        if fmt:
            votes[fmt] = votes.get(fmt, 0) + 1
    if not votes:
        keys = sorted({k for r in sample[:5] for k in r})
        raise UnknownFormat(
            "input.format auto: the records match no instruction format (alpaca: instruction/input/output, "
            "sharegpt: conversations, messages: messages, dolly: instruction/context/response, "
            f"oasst: message trees); the first records have fields {', '.join(keys) or '(none)'}"
        )
    return max(FORMATS, key=lambda f: votes.get(f, 0))


def _detect_one(record: dict[str, Any]) -> str | None:
    if isinstance(record.get("messages"), list):
        return "messages"
    if isinstance(record.get("conversations"), list):
        return "sharegpt"
    if "message_tree_id" in record or isinstance(record.get("prompt"), dict) and "replies" in record["prompt"]:
        return "oasst"
    if "instruction" in record and "response" in record:
        return "dolly"
    if "instruction" in record and "output" in record:
        return "alpaca"
    return None
