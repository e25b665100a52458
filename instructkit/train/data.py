"""Training data from a curated output directory: records, held-out splits, packing and eval examples.

A curated directory (``data/train-*.parquet``) holds either plain text (a ``text`` column, or the recipe's
``input.text_field``) trained as language modelling, or conversations (a ``messages`` column of
``{role, content}``) trained as conversational SFT.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from pathlib import Path
from typing import Any

from instructkit.errors import RecipeError, RunError

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def data_files(output_dir: str | Path) -> list[Path]:
    root = Path(output_dir)
    files = sorted((root / "data").glob("train-*.parquet")) if (root / "data").is_dir() else []
    if not files:
        raise RecipeError(f"{root}: not a curated output directory (no data/train-*.parquet); "
                          "run `instructkit curate RECIPE.yaml` first, or give `data:` a curate recipe")
    return files


def read_records(output_dir: str | Path) -> list[dict[str, Any]]:
    """Every kept record of a curated output directory, in order."""
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    for f in data_files(output_dir):
        rows.extend(pq.read_table(f).to_pylist())
    return rows


def read_rejected(output_dir: str | Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    root = Path(output_dir) / "rejected"
    rows: list[dict[str, Any]] = []
    for f in sorted(root.glob("rejected-*.parquet")) if root.is_dir() else []:
        rows.extend(pq.read_table(f, columns=[c for c in ("id", "drop_reason") if c in pq.read_schema(f).names])
                    .to_pylist())
    return rows


def text_field_of(output_dir: str | Path, records: list[dict[str, Any]], text_field: str | None = None) -> str:
    """``messages`` when the records are conversations, else the recipe's text field (default ``text``)."""
    if text_field:
        if records and text_field not in records[0]:
            raise RecipeError(f"{output_dir}: no column {text_field!r}; columns: {', '.join(records[0])}")
        return text_field
    if records and "messages" in records[0]:
        return "messages"
    stats = Path(output_dir) / "stats.json"
    if stats.is_file():
        field = json.loads(stats.read_text(encoding="utf-8")).get("recipe", {}).get("input", {}).get("text_field")
        if field and records and field in records[0] and isinstance(records[0][field], str):
            return field
    if records and "text" not in records[0]:
        raise RecipeError(f"{output_dir}: no 'text' or 'messages' column; set text_field")
    return "text"


def conversation(value: Any) -> list[dict[str, str]]:
    """A ``messages`` cell as a list of ``{role, content}`` (extra keys dropped, empty turns skipped)."""
    return [{"role": str(m["role"]), "content": str(m.get("content") or "")} for m in value or []
            if m and m.get("role")]


def example(record: dict[str, Any], field: str) -> str | list[dict[str, str]]:
    return conversation(record[field]) if field == "messages" else str(record.get(field) or "")


def plain_text(value: str | list[dict[str, str]]) -> str:
    """The text of an example (a conversation's turns joined) for tokenizer training and keys."""
    if isinstance(value, str):
        return value
    return "\n".join(m["content"] for m in value)


def content_key(value: str | list[dict[str, str]]) -> str:
    """Near-exact identity of a text: ANSI escapes, case, width, punctuation and whitespace ignored.

    Used to keep every copy of an eval record (including its raw, uncleaned duplicates) out of training.
    """
    from instructkit.text import normalize_for_hash

    text = ANSI.sub("", plain_text(value))
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in "\n\t ")
    return hashlib.sha1(normalize_for_hash(unicodedata.normalize("NFKC", text)).encode("utf-8")).hexdigest()


def is_held_out(key: str, fraction: float, seed: int) -> bool:
    """Stable split on a record's id: the same records are held out on every run with the same seed."""
    h = int.from_bytes(hashlib.sha256(f"{seed}:{key}".encode()).digest()[:8], "big")
    return h / 2**64 < fraction


def record_id(record: dict[str, Any], index: int, value: Any) -> str:
    rid = record.get("id")
    return str(rid) if rid not in (None, "") else f"#{index}:{content_key(value)}"


def split(records: list[dict[str, Any]], field: str, *, fraction: float, seed: int, max_eval: int | None = None
          ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(train, eval) by a stable hash of each record's id; train loses every record equal to an eval record."""
    flags = [is_held_out(record_id(r, i, example(r, field)), fraction, seed) for i, r in enumerate(records)]
    if max_eval is not None:  # the held-out records past max_eval go back to training
        kept = 0
        for i, flag in enumerate(flags):
            if flag:
                kept += 1
                flags[i] = kept <= max_eval
    held = [r for r, f in zip(records, flags, strict=True) if f]
    keys = {content_key(example(r, field)) for r in held}
    train = [r for r, f in zip(records, flags, strict=True) if not f and content_key(example(r, field)) not in keys]
    if not train or not held:
        raise RunError(f"cannot split {len(records)} records into train and eval (fraction {fraction}); "
                       "use more data or another eval.fraction")
    return train, held


def pack(tokenizer, texts: list[str], max_length: int) -> list[list[int]]:
    """Tokenize texts, each followed by EOS, concatenate and cut into blocks of exactly ``max_length`` tokens.

    Every optimizer step then sees exactly ``batch_size * max_length`` tokens, whatever the data: the token
    budget of two runs with the same steps is identical.
    """
    ids: list[int] = []
    eos = tokenizer.eos_token_id
    for enc in tokenizer(texts, add_special_tokens=False)["input_ids"]:
        ids.extend(enc)
        ids.append(eos)
    return [ids[i:i + max_length] for i in range(0, len(ids) - max_length + 1, max_length)]


def encode_eval(tokenizer, value: str | list[dict[str, str]], max_length: int) -> tuple[list[int], list[int], int]:
    """(input_ids, loss mask, utf-8 bytes scored) of one eval example, truncated to ``max_length`` tokens.

    Text: every token after the first (plus a final EOS). Conversations: the assistant tokens when the chat
    template marks them with ``{% generation %}``, else every token.
    """
    if isinstance(value, str):
        ids = tokenizer(value, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        ids = ids[:max_length]
        mask = [1] * len(ids)
        scored = tokenizer.decode(ids[1:], skip_special_tokens=True)
    else:
        out = tokenizer.apply_chat_template(value, tokenize=True, return_dict=True,
                                            return_assistant_tokens_mask=has_generation(tokenizer))
        ids = list(out["input_ids"])[:max_length]
        mask = list(out.get("assistant_masks") or [1] * len(ids))[:max_length]
        scored = tokenizer.decode([t for t, m in zip(ids[1:], mask[1:], strict=True) if m], skip_special_tokens=True)
    mask[0] = 0  # nothing predicts the first token
    return ids, mask, max(1, len(scored.encode("utf-8")))


def has_generation(tokenizer) -> bool:
    template = getattr(tokenizer, "chat_template", None) or ""
    return isinstance(template, str) and "{% generation %}" in template.replace("{%-", "{%").replace("-%}", "%}")
