"""ShareGPT: ``{"conversations": [{"from": "human" | "gpt" | "system", "value"}, ...]}``.

``user``/``assistant`` are accepted as ``from`` values too, and a top-level ``system`` field becomes the
system turn. Other speakers (``function_call``, ``observation``, ...) are reported. Export writes
``human``/``gpt``/``system``.
"""

from __future__ import annotations

from typing import Any

from instructkit.formats.common import check_messages, metadata, rest

FROM = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "chatgpt": "assistant",
        "bard": "assistant", "bing": "assistant", "model": "assistant", "system": "system"}
TO = {"user": "human", "assistant": "gpt", "system": "system"}


def convert(record: dict[str, Any]) -> dict[str, Any]:
    turns = record.get("conversations")
    if not isinstance(turns, list):
        raise ValueError("field 'conversations' is missing or not a list")
    messages = []
    system = record.get("system")
    if isinstance(system, str) and system:
        messages.append({"role": "system", "content": system})
    for n, turn in enumerate(turns, start=1):
        if not isinstance(turn, dict):
            raise ValueError(f"turn {n} is a {type(turn).__name__}, expected an object with from and value")
        speaker = turn.get("from")
        if speaker not in FROM:
            raise ValueError(f"turn {n} is from {speaker!r}; expected one of human, gpt, system")
        messages.append({"role": FROM[speaker], "content": turn.get("value")})
    return {"messages": check_messages(messages), **metadata(record, ("conversations", "system"))}


def export(record: dict[str, Any]) -> dict[str, Any]:
    messages = check_messages(record.get("messages"))
    out = rest(record, ())
    out["conversations"] = [{"from": TO[m["role"]], "value": m["content"]} for m in messages]
    return out
