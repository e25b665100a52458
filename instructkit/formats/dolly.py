"""Dolly (databricks-dolly-15k): ``{"instruction", "context", "response", "category"}``, one exchange.

The user turn is the instruction followed by a blank line and the context; ``context`` and ``category``
stay on the record as metadata, so export restores them.
"""

from __future__ import annotations

from typing import Any

from instructkit.formats.common import join_prompt, metadata, pairs, rest, split_prompt, text_field

FIELDS = ("instruction", "context", "response")


def convert(record: dict[str, Any]) -> dict[str, Any]:
    instruction = text_field(record, "instruction")
    context = text_field(record, "context", required=False)
    response = text_field(record, "response")
    out = {"messages": [{"role": "user", "content": join_prompt(instruction, context)},
                        {"role": "assistant", "content": response}], **metadata(record, FIELDS)}
    if context:
        out["context"] = context
    return out


def export(record: dict[str, Any]) -> dict[str, Any]:
    system, exchanges = pairs(record.get("messages"), "dolly")
    if system:
        raise ValueError("dolly has no system prompt; this record starts with a system turn")
    if len(exchanges) > 1:
        raise ValueError(f"dolly holds one exchange; this record has {len(exchanges)}")
    instruction, context = split_prompt(exchanges[0][0], record, ("context", "input"))
    out = rest(record, (*FIELDS, "input"))
    out.update(instruction=instruction, context=context, response=exchanges[0][1])
    out.setdefault("category", None)
    return out
