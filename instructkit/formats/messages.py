"""OpenAI / TRL conversational: ``{"messages": [{"role", "content"}, ...]}`` (the canonical form itself).

Content given as a list of parts is accepted when every part is text; tool calls and non-text parts
are not supported and are reported.
"""

from __future__ import annotations

from typing import Any

from instructkit.formats.common import check_messages, metadata, rest


def _content(m: Any, n: int) -> Any:
    if not isinstance(m, dict):
        return m
    if m.get("tool_calls") or m.get("function_call"):
        raise ValueError(f"turn {n} is a tool call; tool use is not supported")
    content = m.get("content")
    if isinstance(content, list):
        parts = []
        for part in content:
            if not (isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)):
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise ValueError(f"turn {n} has a {kind!r} content part; only text is supported")
            parts.append(part["text"])
        content = "".join(parts)
    return {"role": m.get("role"), "content": content}


def convert(record: dict[str, Any]) -> dict[str, Any]:
    raw = record.get("messages")
    if not isinstance(raw, list):
        raise ValueError("field 'messages' is missing or not a list")
    messages = check_messages([_content(m, n) for n, m in enumerate(raw, start=1)])
    return {"messages": messages, **metadata(record, ("messages",))}


def export(record: dict[str, Any]) -> dict[str, Any]:
    return {**rest(record, ()), "messages": check_messages(record.get("messages"))}
