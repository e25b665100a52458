"""Alpaca: ``{"instruction", "input", "output"}``, with the optional ``system`` and ``history`` fields of
LLaMA-Factory's Alpaca variant (``history``: earlier ``[instruction, response]`` pairs).

The user turn is the instruction, followed by a blank line and the input when there is one. The input
stays on the record as metadata so that export can split the turn again (lossless round trip); if a
step changed the input's text since, export puts the whole turn in ``instruction`` (nothing is lost).
"""

from __future__ import annotations

from typing import Any

from instructkit.formats.common import join_prompt, metadata, pairs, rest, split_prompt, text_field

FIELDS = ("instruction", "input", "output", "system", "history")


def convert(record: dict[str, Any]) -> dict[str, Any]:
    instruction = text_field(record, "instruction")
    extra = text_field(record, "input", required=False)
    output = text_field(record, "output")
    system = text_field(record, "system", required=False)
    messages = [{"role": "system", "content": system}] if system else []
    history = record.get("history") or []
    if not isinstance(history, list):
        raise ValueError(f"field 'history' is a {type(history).__name__}, expected a list of [instruction, response]")
    for n, pair in enumerate(history, start=1):
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(s, str) for s in pair)):
            raise ValueError(f"history item {n} is not an [instruction, response] pair of strings")
        messages += [{"role": "user", "content": pair[0]}, {"role": "assistant", "content": pair[1]}]
    messages += [{"role": "user", "content": join_prompt(instruction, extra)},
                 {"role": "assistant", "content": output}]
    out = {"messages": messages, **metadata(record, FIELDS)}
    if extra:
        out["input"] = extra
    return out


def export(record: dict[str, Any]) -> dict[str, Any]:
    system, exchanges = pairs(record.get("messages"), "alpaca")
    *history, (prompt, output) = exchanges
    instruction, extra = split_prompt(prompt, record, ("input", "context"))
    out = rest(record, (*FIELDS, "context"))
    out.update(instruction=instruction, input=extra, output=output)
    if system:
        out["system"] = system
    if history:
        out["history"] = [list(p) for p in history]
    return out
