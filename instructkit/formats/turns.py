"""Reading and rewriting the turns of a ``messages`` column: what ``Step.texts`` uses to let any step
target a role (``role: assistant``) or each turn on its own (``per_turn: true``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa

from instructkit.formats.common import ROLES

#: Field names that stand for the turns of one role when the records have no such column but do
#: have ``messages`` (``field: instruction`` reads the user turns of an imported Alpaca set).
ROLE_FIELDS = {"system": "system", "user": "user", "prompt": "user", "instruction": "user",
               "assistant": "assistant", "response": "assistant", "output": "assistant", "completion": "assistant"}
SEPARATOR = "\n\n"


def check_role(role: str | None) -> None:
    if role is not None and role not in ROLES:
        raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")


def is_messages_type(t: pa.DataType) -> bool:
    """Whether an Arrow type is a list of ``{role, content}`` structs."""
    if not (pa.types.is_list(t) or pa.types.is_large_list(t)) or not pa.types.is_struct(t.value_type):
        return False
    names = {t.value_type.field(i).name for i in range(t.value_type.num_fields)}
    return {"role", "content"} <= names


def resolve(batch: pa.Table, field: str, role: str | None) -> tuple[str, str | None, bool]:
    """``(column, role, is_messages)`` for a step's field and role on this batch."""
    if field not in batch.column_names and field in ROLE_FIELDS and "messages" in batch.column_names:
        field, role = "messages", role or ROLE_FIELDS[field]
    if field not in batch.column_names:
        return field, role, False
    return field, role, is_messages_type(batch.schema.field(field).type)


def select(turns: list[dict[str, Any]] | None, role: str | None) -> list[str] | None:
    """Contents of the turns of ``role`` (all turns when ``None``)."""
    if turns is None:
        return None
    return [t.get("content") or "" for t in turns if role is None or t.get("role") == role]


def join(contents: list[str] | None) -> str | None:
    return None if contents is None else SEPARATOR.join(contents)


def rewrite(turns: list[dict[str, Any]] | None, role: str | None, fn: Callable[[str], str]) -> Any:
    """``turns`` with ``fn`` applied to the content of each turn of ``role`` (every turn when ``None``)."""
    if turns is None:
        return None
    return [{**t, "content": fn(t["content"])} if isinstance(t.get("content"), str)
            and (role is None or t.get("role") == role) else t for t in turns]
