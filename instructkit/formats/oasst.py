"""OpenAssistant (OASST1/2) message trees, flattened into conversations along ranked paths.

Two layouts are read: tree records (``{"message_tree_id", "prompt": {"text", "role", "replies": [...]}}``,
the ``*.trees.jsonl`` exports) and flat message records (``message_id``, ``parent_id``, ``role``, ``text``,
``rank``, ``message_tree_id``), which ``convert_stream`` groups by tree. With ``paths="top"`` (the default)
each tree gives one conversation: from the prompt, follow the best-ranked reply (``rank`` 0 first; unranked
replies after ranked ones, in input order), skipping deleted messages and those that failed review, and stop
at the last assistant reply. With ``paths="all"`` every root-to-leaf path gives a conversation (each ending at
its last assistant reply, duplicates once), best-ranked first, numbered in ``oasst_path`` (0 is the top path).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from instructkit.formats.common import check_messages, rest

ROLE = {"prompter": "user", "assistant": "assistant"}
KEEP = ("message_tree_id", "lang", "tree_state")
PATHS = ("top", "all")


def _usable(node: dict[str, Any]) -> bool:
    return not node.get("deleted") and node.get("review_result") is not False


def _ranked(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Usable replies, best-ranked first (unranked after ranked, in input order)."""
    ranked = [(r.get("rank") if isinstance(r.get("rank"), (int, float)) else float("inf"), i, r)
              for i, r in enumerate(replies) if isinstance(r, dict) and _usable(r)]
    return [r for *_, r in sorted(ranked, key=lambda t: t[:2])]


def _paths(node: dict[str, Any], children, top_only: bool) -> Iterator[list[dict[str, Any]]]:
    """Root-to-leaf paths of messages below ``node``, best-ranked first."""
    replies = _ranked(children(node))
    if not replies:
        yield [node]
        return
    for reply in replies[:1] if top_only else replies:
        for path in _paths(reply, children, top_only):
            yield [node, *path]


def _conversations(root: dict[str, Any], children, tree_id: Any, paths: str) -> list[dict[str, Any]]:
    if not isinstance(root, dict) or not _usable(root):
        raise ValueError(f"tree {tree_id}: the prompt is missing, deleted or failed review")
    out, seen = [], set()
    for nodes in _paths(root, children, paths == "top"):
        turns = []
        for node in nodes:
            role = ROLE.get(node.get("role"))
            if role is None:
                raise ValueError(f"tree {tree_id}: message {node.get('message_id')} has role {node.get('role')!r}")
            turns.append({"role": role, "content": node.get("text")})
        while turns and turns[-1]["role"] != "assistant":
            turns.pop()
        key = tuple(id(n) for n in nodes[: len(turns)])
        if not turns or key in seen:
            continue
        seen.add(key)
        conversation = {"messages": check_messages(turns)}
        conversation.update({k: root[k] for k in KEEP if k in root})
        if tree_id is not None:
            conversation["message_tree_id"] = tree_id
        if paths == "all":
            conversation["oasst_path"] = len(out)
        out.append(conversation)
    if not out:
        raise ValueError(f"tree {tree_id}: no assistant reply")
    return out


def convert(record: dict[str, Any]) -> dict[str, Any]:
    """One tree record -> its top-ranked conversation."""
    return convert_tree(record, "top")[0]


def convert_tree(record: dict[str, Any], paths: str = "top") -> list[dict[str, Any]]:
    """One tree record -> its conversations (``paths``: ``top`` or ``all``)."""
    if "prompt" not in record:
        raise ValueError("not an OASST tree record (no 'prompt'); flat message exports need convert_stream")
    tree_id = record.get("message_tree_id")
    out = _conversations(record["prompt"], lambda n: n.get("replies") or [], tree_id, paths)
    extra = {k: v for k, v in record.items() if k not in ("prompt", "message_tree_id")}
    return [{**c, **extra} for c in out]


def convert_stream(records: Iterable[dict[str, Any]], paths: str = "top") -> Iterator[dict[str, Any] | ValueError]:
    if paths not in PATHS:
        raise ValueError(f"oasst paths must be one of {', '.join(PATHS)}, not {paths!r}")
    trees: dict[Any, list[dict[str, Any]]] = {}
    for record in records:
        if "prompt" in record:
            try:
                yield from convert_tree(record, paths)
            except ValueError as exc:
                yield exc
        elif "message_id" in record and "message_tree_id" in record:
            trees.setdefault(record["message_tree_id"], []).append(record)
        else:
            yield ValueError("not an OASST record: expected a tree (prompt) or a message (message_id, "
                             "message_tree_id)")
    for tree_id, messages in trees.items():
        kids: dict[Any, list[dict[str, Any]]] = {}
        for m in messages:
            kids.setdefault(m.get("parent_id"), []).append(m)
        roots = kids.get(None, [])
        try:
            if len(roots) != 1:
                raise ValueError(f"tree {tree_id}: {len(roots)} root prompts (expected 1)")
            yield from _conversations(roots[0], lambda n, kids=kids: kids.get(n.get("message_id"), []), tree_id,
                                      paths)
        except ValueError as exc:
            yield exc


def export(record: dict[str, Any]) -> dict[str, Any]:
    """A conversation as a one-path OASST tree record."""
    messages = check_messages(record.get("messages"))
    if any(m["role"] == "system" for m in messages):
        raise ValueError("oasst has no system role; this record has a system turn")
    node: dict[str, Any] | None = None
    for m in reversed(messages):
        node = {"text": m["content"], "role": "prompter" if m["role"] == "user" else "assistant",
                "replies": [node] if node else []}
    if node["role"] != "prompter":
        raise ValueError("an oasst tree starts with a prompter message; this record starts with the assistant")
    out = rest(record, ())
    out["prompt"] = node
    return out
