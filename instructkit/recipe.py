"""Recipes: YAML -> a validated ``Recipe``. Everything is checked before any data is read.

```yaml
name: quickstart
input:
  path: data/*.jsonl.gz     # file, glob or directory (jsonl[.gz|.zst], parquet, csv), sample:NAME or hf:ORG/NAME
  text_field: text
steps:
  - clean: {}
  - exact_dedup: {}
output:
  path: out/quickstart
```
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from instructkit.errors import RecipeError
from instructkit.steps.base import Step, conforms, get_step, type_name

FORMATS = ("text", "auto", "alpaca", "sharegpt", "messages", "dolly", "oasst")

SECTIONS: dict[str, dict[str, tuple[Any, Any]]] = {
    "input": {
        "path": (str, None),
        "text_field": (str, "text"),
        "format": (str, "text"),
        "split": (str, "train"),
        "oasst_paths": (str, "top"),
    },
    "output": {
        "path": (str, None),
        "shard_rows": (int, 500_000),
    },
    "executor": {
        "type": (str, "local"),
        "workers": (int | None, None),
        "batch_size": (int, 10_000),
        "batch_bytes": (int, 4 << 20),
    },
}
TOP_LEVEL = ("name", "description", "input", "steps", "output", "executor", "reports")


@dataclass
class Recipe:
    """A validated recipe: steps built, every section filled with its defaults."""

    name: str
    steps: list[tuple[str, Step]]
    input: dict[str, Any]
    output: dict[str, Any]
    executor: dict[str, Any] = field(default_factory=lambda: _defaults("executor"))
    reports: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    description: str = ""
    base_dir: Path = field(default_factory=Path.cwd)

    def resolved(self) -> dict[str, Any]:
        """The recipe with every default filled in (what stats.json and the card record)."""
        return {
            "name": self.name,
            "description": self.description,
            "input": dict(self.input),
            "steps": [{name_of(step): step.get_params()} for _, step in self.steps],
            "output": dict(self.output),
            "executor": dict(self.executor),
            "reports": [{n: p} for n, p in self.reports],
        }

    def fingerprint(self) -> str:
        """Hash of everything that decides the output bytes (not the output path nor the worker count)."""
        r = self.resolved()
        r["output"] = {k: v for k, v in r["output"].items() if k != "path"}
        r["executor"] = {k: v for k, v in r["executor"].items() if k not in ("workers", "type")}
        r.pop("description")
        return hashlib.sha256(json.dumps(r, sort_keys=True, default=str).encode()).hexdigest()


def name_of(step: Step) -> str:
    return type(step).name or type(step).__name__


def label_steps(steps: list[Step]) -> list[tuple[str, Step]]:
    """Name steps for stats and ``drop_step``: the step name, with ``#2``, ``#3`` for repeats."""
    seen: dict[str, int] = {}
    labelled = []
    for step in steps:
        name = name_of(step)
        seen[name] = seen.get(name, 0) + 1
        labelled.append((name if seen[name] == 1 else f"{name}#{seen[name]}", step))
    return labelled


def read_yaml(source: str | Path | dict[str, Any]) -> tuple[Any, Path, str]:
    """``(parsed YAML, folder relative paths resolve against, name for errors)`` of a recipe file or dict."""
    if isinstance(source, dict):
        return copy.deepcopy(source), Path.cwd(), "recipe"
    path = Path(source)
    if not path.is_file():
        raise RecipeError(f"recipe {path}: no such file")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RecipeError(f"recipe {path}: not valid YAML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise RecipeError(f"recipe {path}: not UTF-8 text ({exc})") from exc
    return raw, path.resolve().parent, str(path)


def load_recipe(
    source: str | Path | dict[str, Any],
    *,
    overrides: list[str] | tuple[str, ...] = (),
    input_path: str | None = None,
    output_path: str | None = None,
) -> Recipe:
    """Load and validate a recipe file (or an already parsed dict) with command-line overrides applied."""
    raw, base_dir, origin = read_yaml(source)
    if not isinstance(raw, dict):
        raise RecipeError(f"{origin}: a recipe is a YAML mapping with keys {', '.join(TOP_LEVEL)}")
    for key in raw:
        if key not in TOP_LEVEL:
            raise RecipeError(f"{origin}: unknown key {key!r}{_hint(key, TOP_LEVEL)}. Valid keys: {', '.join(TOP_LEVEL)}")
    raw.setdefault("input", {})
    raw.setdefault("output", {})
    raw.setdefault("executor", {})
    for section in SECTIONS:
        if raw[section] is None:
            raw[section] = {}
        if not isinstance(raw[section], dict):
            raise RecipeError(f"{origin}: {section!r} must be a mapping, got {type(raw[section]).__name__}")
    steps_raw = raw.get("steps") or []
    if not isinstance(steps_raw, list):
        raise RecipeError(f"{origin}: 'steps' must be a list of `- step_name: {{param: value}}` entries")
    steps_raw = [_parse_step_entry(entry, i, origin) for i, entry in enumerate(steps_raw, start=1)]
    _apply_overrides(raw, steps_raw, overrides, origin)
    if input_path is not None:  # given on the command line: relative to where the user is, not to the recipe
        local = not str(input_path).startswith(("hf:", "sample:"))
        raw["input"]["path"] = os.path.abspath(os.path.expanduser(input_path)) if local else input_path
    if output_path is not None:
        raw["output"]["path"] = output_path

    if raw["input"].get("format", "text") != "text":
        raw["input"].setdefault("text_field", "messages")  # instruction formats import to `messages`
    sections = {s: _check_section(raw[s], s, origin) for s in SECTIONS}
    if sections["input"]["format"] not in FORMATS:
        raise RecipeError(f"{origin}: input.format {sections['input']['format']!r} is not one of {', '.join(FORMATS)}")
    if sections["input"]["oasst_paths"] not in ("top", "all"):
        raise RecipeError(f"{origin}: input.oasst_paths must be 'top' (each tree's best-ranked path) or 'all'")
    if sections["executor"]["type"] not in ("local", "ray"):
        raise RecipeError(f"{origin}: executor.type must be 'local' or 'ray'")
    if sections["executor"]["type"] == "ray" and importlib.util.find_spec("ray") is None:
        raise RecipeError(f"{origin}: executor.type ray needs ray, which is not installed: pip install 'instructkit[ray]'")
    for key in ("batch_size", "batch_bytes", "workers"):
        value = sections["executor"][key]
        if value is not None and value < 1:
            raise RecipeError(f"{origin}: executor.{key} must be at least 1")
    if sections["output"]["shard_rows"] < 1:
        raise RecipeError(f"{origin}: output.shard_rows must be at least 1")

    steps = []
    for i, (name, params) in enumerate(steps_raw, start=1):
        where = f"{origin}: step {i} ({name})"
        step = get_step(name, where=f"{origin}: step {i}").from_params(params, where=where)
        step.base_dir = base_dir
        steps.append(step)
    return Recipe(
        name=str(raw.get("name") or (Path(origin).stem if origin != "recipe" else "instructkit-run")),
        description=str(raw.get("description") or ""),
        steps=label_steps(steps),
        input=sections["input"],
        output=sections["output"],
        executor=sections["executor"],
        reports=_parse_reports(raw.get("reports"), origin),
        base_dir=base_dir,
    )


def _parse_step_entry(entry: Any, index: int, origin: str) -> tuple[str, dict[str, Any]]:
    if isinstance(entry, str):
        return entry, {}
    if isinstance(entry, dict) and len(entry) == 1:
        name, params = next(iter(entry.items()))
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise RecipeError(f"{origin}: step {index} ({name}): parameters must be a mapping, "
                              f"got {type(params).__name__} {params!r}")
        return str(name), dict(params)
    raise RecipeError(f"{origin}: step {index}: write each step as `- step_name: {{param: value}}`, got {entry!r}")


def _parse_reports(raw: Any, origin: str) -> list[tuple[str, dict[str, Any]]]:
    if not raw:
        return []
    from instructkit.reports import load_reports

    known = load_reports()
    entries = [_parse_step_entry(e, i, origin) for i, e in enumerate(raw, start=1)] if isinstance(raw, list) else None
    if entries is None:
        raise RecipeError(f"{origin}: 'reports' must be a list like `- bias_audit: {{}}`")
    for name, _ in entries:
        if name not in known:
            raise RecipeError(f"{origin}: unknown report {name!r}{_hint(name, known)}. Valid reports: "
                              f"{', '.join(sorted(known)) or 'none'}")
    return entries


def _check_section(values: dict[str, Any], section: str, origin: str) -> dict[str, Any]:
    spec = SECTIONS[section]
    out = {}
    for key, value in values.items():
        if key not in spec:
            raise RecipeError(f"{origin}: unknown key {section}.{key}{_hint(key, spec)}. Valid keys: {', '.join(spec)}")
        tp = spec[key][0]
        if not conforms(value, tp):
            raise RecipeError(f"{origin}: {section}.{key} expects {type_name(tp)}, got {type(value).__name__} {value!r}")
        out[key] = value
    return {key: out.get(key, default) for key, (_, default) in spec.items()}


def _defaults(section: str) -> dict[str, Any]:
    return {key: default for key, (_, default) in SECTIONS[section].items()}


def _apply_overrides(raw: dict[str, Any], steps: list[tuple[str, dict[str, Any]]], overrides, origin: str) -> None:
    """``--set STEP.PARAM=VALUE`` (STEP: a step name, or its 1-based position) and ``--set input.path=...``."""
    for item in overrides:
        target, sep, value_text = item.partition("=")
        where, dot, param = target.partition(".")
        if not sep or not dot or not param:
            raise RecipeError(f"--set {item!r}: write STEP.PARAM=VALUE, e.g. --set minhash_dedup.threshold=0.7")
        try:
            value = yaml.safe_load(value_text) if value_text.strip() else ""
        except yaml.YAMLError:
            value = value_text
        if where in SECTIONS:
            raw[where][param] = value
            continue
        if where.isdigit():
            index = int(where) - 1
            if not 0 <= index < len(steps):
                raise RecipeError(f"--set {item!r}: the recipe has {len(steps)} steps")
        else:
            matches = [i for i, (name, _) in enumerate(steps) if name == where]
            if not matches:
                names = [n for n, _ in steps] + list(SECTIONS)
                raise RecipeError(f"--set {item!r}: no step {where!r} in {origin}{_hint(where, names)}")
            if len(matches) > 1:
                raise RecipeError(f"--set {item!r}: {where!r} occurs {len(matches)} times; use its position, "
                                  f"e.g. --set {matches[1] + 1}.{param}=...")
            index = matches[0]
        steps[index][1][param] = value


def _hint(key: str, choices) -> str:
    close = difflib.get_close_matches(str(key), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
