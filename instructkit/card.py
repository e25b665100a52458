"""The dataset card: ``stats.json`` -> a Hugging Face ``README.md`` with what was kept, dropped and why."""

from __future__ import annotations

from typing import Any

import yaml

_SIZES = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
          (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M")]


_BY_DESIGN = {"gopher_quality", "gopher_repetition", "c4_quality", "fineweb_quality", "language_id"}


def size_category(n: int) -> str:
    for bound, label in _SIZES:
        if n < bound:
            return label
    return "n>100M"


def render_card(stats: dict[str, Any]) -> str:
    """A dataset card in Hugging Face's format (YAML metadata block, then Markdown)."""
    totals = stats["totals"]
    meta: dict[str, Any] = {
        "pretty_name": stats["name"],
        "size_categories": [size_category(totals["records_kept"])],
        "tags": ["instructkit"],
        "configs": [{"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*"}]}],
    }
    languages = stats.get("languages")
    if languages:
        meta["language"] = sorted(languages)
    recipe = stats["recipe"]
    lines = [
        "---",
        yaml.safe_dump(meta, sort_keys=False, allow_unicode=True).rstrip(),
        "---",
        "",
        f"# {stats['name']}",
        "",
    ]
    if recipe.get("description"):
        lines += [recipe["description"].strip(), ""]
    kept, total = totals["records_kept"], totals["records_in"]
    share = f" ({kept / total:.1%})" if total else ""
    lines += [
        f"Curated with [instructkit](https://pypi.org/project/instructkit/) {stats['instructkit_version']}: "
        f"**{kept:,}** of {total:,} input records kept{share}; {totals['records_rejected']:,} rejected, each with "
        "the step and reason that dropped it (`rejected/`).",
        "",
    ]
    if languages:
        shown = ", ".join(f"{lang} {n:,}" for lang, n in list(languages.items())[:12])
        lines += [f"Languages of the kept records: {shown}.", ""]
    lines += ["## Source data", ""]
    for item in stats["inputs"]:
        if "hf_dataset" in item:
            lines.append(f"- Hugging Face dataset `{item['hf_dataset']}`")
        else:
            lines.append(f"- `{_short(item['path'])}` ({item['bytes']:,} bytes, sha256 `{item['sha256'][:16]}…`)")
    lines += ["", "## Processing", "", "| # | step | records in | records out | dropped | why |",
              "|---|---|---:|---:|---:|---|"]
    read = stats.get("read", {})
    if read.get("records_unreadable"):
        lines.append(f"| 0 | read | {totals['records_in']:,} | {read['records_read']:,} | "
                     f"{read['records_unreadable']:,} | unreadable or invalid input (see `rejected/`) |")
    for i, step in enumerate(stats["steps"], start=1):
        why = ", ".join(f"`{k}` {v:,}" for k, v in sorted(step["dropped"].items(), key=lambda kv: -kv[1]))
        lines.append(f"| {i} | `{step['step']}` | {step['records_in']:,} | {step['records_out']:,} | "
                     f"{step['dropped_total']:,} | {why or '—'} |")
    metrics = [line for s in stats["steps"] for line in _metric_lines(s["step"], s["metrics"])]
    if metrics:
        lines += ["", "Step metrics:", "", *metrics]
    if any(s["name"] in _BY_DESIGN for s in stats["steps"]):
        lines += ["", "Short documents (C4 and Gopher want at least 3-5 sentences or 50 words) and languages the recipe "
                  "does not keep are dropped by design; the table says how many, and `rejected/` holds each one."]
    lines.append("")
    for name, report in (stats.get("reports") or {}).items():
        if isinstance(report, dict) and report.get("markdown"):
            lines += [f"## Report: {name}", "", report["markdown"].strip(), ""]
    lines += [
        "## Files",
        "",
        "- `data/` — kept records (Parquet), all input fields preserved plus the scores steps add.",
        "- `rejected/` — dropped records with `drop_step` and `drop_reason`.",
        "- `stats.json` — the resolved recipe, input checksums, package versions, per-step statistics.",
        "",
        "## Reproduce",
        "",
        "```yaml",
        yaml.safe_dump(_recipe_for_card(recipe), sort_keys=False, allow_unicode=True).rstrip(),
        "```",
        "",
        f"Recipe fingerprint `{stats['recipe_fingerprint'][:16]}`; run with `instructkit curate RECIPE.yaml`.",
        "",
    ]
    return "\n".join(lines)


def _recipe_for_card(recipe: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in recipe.items() if v not in ("", [], None)}
    out.pop("executor", None)
    out["output"] = {k: v for k, v in out.get("output", {}).items() if k != "path"}  # a local path; not the data's
    return out


def _short(path: str) -> str:
    parts = path.replace("\\", "/").split("/")
    return "/".join(parts[-2:])


def _metric_lines(step: str, metrics: dict[str, Any]) -> list[str]:
    """One line per metric; a family of counts (``language_en``, ``language_zh``, ...) on one line, largest first."""
    families: dict[str, list[tuple[str, Any]]] = {}
    for name, value in metrics.items():
        head, _, tail = name.partition("_")
        families.setdefault(head if tail else name, []).append((tail or name, value))
    lines = []
    for head, members in families.items():
        if len(members) < 3:
            lines += [f"- `{step}` {head}_{m}: {_num(v)}" if m != head else f"- `{step}` {head}: {_num(v)}"
                      for m, v in members]
        else:
            ranked = sorted(members, key=lambda mv: (-mv[1], mv[0]))
            lines.append(f"- `{step}` {head}: " + ", ".join(f"{m} {_num(v)}" for m, v in ranked))
    return lines


def _num(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
