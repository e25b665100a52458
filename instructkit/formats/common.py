"""What every format shares: the canonical roles and checks of a message list."""

from __future__ import annotations

from typing import Any

ROLES = ("system", "user", "assistant")


def check_messages(messages: Any) -> list[dict[str, str]]:
    """A clean copy of a canonical message list, or ``ValueError`` naming the first problem."""
    if not isinstance(messages, list) or not messages:
        raise ValueError("no turns: expected a non-empty list of {role, content} messages")
    out = []
    for n, m in enumerate(messages, start=1):
        if not isinstance(m, dict):
            raise ValueError(f"turn {n} is a {type(m).__name__}, expected an object with role and content")
        role, content = m.get("role"), m.get("content")
        if role not in ROLES:
            raise ValueError(f"turn {n} has role {role!r}; expected one of {', '.join(ROLES)}")
        if not isinstance(content, str):
            raise ValueError(f"turn {n} ({role}) has no text content (got {type(content).__name__})")
        out.append({"role": role, "content": content})
    return out


def metadata(record: dict[str, Any], used: tuple[str, ...]) -> dict[str, Any]:
    """The fields of ``record`` a format does not consume (kept on the canonical record)."""
    return {k: v for k, v in record.items() if k not in used}


def text_field(record: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = record.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        got = "missing" if key not in record else f"a {type(value).__name__}"
        raise ValueError(f"field {key!r} is {got}, expected a string")
    return value


def join_prompt(instruction: str, extra: str) -> str:
    """The user turn of an instruction with an optional input/context: separated by a blank line."""
    return f"{instruction}\n\n{extra}" if extra else instruction


def split_prompt(content: str, record: dict[str, Any], keys: tuple[str, ...]) -> tuple[str, str]:
    """Undo ``join_prompt`` when the record still carries the original input (under one of ``keys``,
    e.g. Alpaca's ``input`` or Dolly's ``context``); otherwise the whole turn is the instruction."""
    for key in keys:
        extra = record.get(key)
        if isinstance(extra, str) and extra and content.endswith("\n\n" + extra):
            return content[: -len(extra) - 2], extra
    return content, ""


def rest(record: dict[str, Any], used: tuple[str, ...]) -> dict[str, Any]:
    """Metadata to export: fields not consumed by the format, without nulls (absent in the source)."""
    return {k: v for k, v in record.items() if k != "messages" and k not in used and v is not None}


def pairs(messages: list[dict[str, str]], fmt: str) -> tuple[str, list[tuple[str, str]]]:
    """``(system, [(user, assistant), ...])`` for formats built on exchanges; ``ValueError`` otherwise."""
    messages = check_messages(messages)
    system = ""
    if messages[0]["role"] == "system":
        system, messages = messages[0]["content"], messages[1:]
    roles = [m["role"] for m in messages]
    if len(roles) < 2 or len(roles) % 2 or roles != ["user", "assistant"] * (len(roles) // 2):
        raise ValueError(
            f"{fmt} holds alternating user/assistant exchanges (an optional system turn first); this record "
            f"has turns {', '.join(roles) or '(none)'}"
        )
    return system, [(messages[i]["content"], messages[i + 1]["content"]) for i in range(0, len(messages), 2)]
