"""Training and benchmark recipes: YAML -> validated settings, checked before any model or data is loaded.

A training recipe (``instructkit train RECIPE.yaml``):

```yaml
name: train-sft
model: tiny                 # `tiny` (from-config Llama + BPE trained on the data), a local model directory,
                            # or a name AutoModelForCausalLM.from_pretrained loads
data: out/quickstart        # a curated output directory, or a curate recipe (.yaml) run first into
                            # OUTPUT_DIR/data
lora: {r: 8, alpha: 16, dropout: 0.0, target_modules: [q_proj, v_proj]}   # omit for full fine-tuning
max_steps: 60
learning_rate: 0.003
batch_size: 8
max_length: 128
seed: 0
output_dir: out/train-sft
eval: {fraction: 0.1, max_records: 200}   # or data: another curated output directory
# bench `models:` mode scores eval.data's held-out records (same fraction, seed and max_records as training);
# `eval: {held_out: false}` scores its first max_records records instead
```

A benchmark recipe (``instructkit bench RECIPE.yaml``) has the same training keys (they set the budget of
each run) and either ``compare`` (train on raw and on curated data and compare) or ``models`` (evaluate
model directories on ``eval.data``):

```yaml
name: bench-quickstart
compare: {recipe: quickstart.yaml, max_records: 2000}
model: tiny
max_steps: 60
output_dir: out/bench-quickstart
```

Relative curate-recipe paths resolve against the recipe's folder (like curate inputs); data directories and
``output_dir`` against the current directory (like curate outputs).
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from instructkit.errors import RecipeError
from instructkit.recipe import read_yaml
from instructkit.steps.base import conforms, type_name

TRAIN_KEYS: dict[str, tuple[Any, Any]] = {
    "name": (str, None),
    "description": (str, ""),
    "model": (str, "tiny"),
    "tiny": (dict, {}),
    "data": (str, None),
    "text_field": (str | None, None),
    "max_records": (int | None, None),
    "lora": (dict | None, None),
    "max_steps": (int, 60),
    "learning_rate": (float, 3e-3),
    "batch_size": (int, 8),
    "max_length": (int, 128),
    "seed": (int, 0),
    "warmup_steps": (int, 0),
    "threads": (int, 1),
    "output_dir": (str, None),
    "eval": (dict, {}),
}
LORA_KEYS: dict[str, tuple[Any, Any]] = {
    "r": (int, 8),
    "alpha": (int, 16),
    "dropout": (float, 0.0),
    "target_modules": (list[str], ["q_proj", "k_proj", "v_proj", "o_proj"]),
}
EVAL_KEYS: dict[str, tuple[Any, Any]] = {
    "data": (str | None, None),
    "fraction": (float, 0.1),
    "max_records": (int | None, 200),
    "batch_size": (int, 16),
    "held_out": (bool, True),
}
COMPARE_KEYS: dict[str, tuple[Any, Any]] = {
    "recipe": (str, None),
    "input": (str | None, None),
    "set": (list[str], []),
}
BENCH_ONLY: dict[str, tuple[Any, Any]] = {
    "compare": (dict | None, None),
    "models": (list[str] | None, None),
}
TINY_KEYS = ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
             "num_key_value_heads", "max_position_embeddings", "vocab_size")


@dataclass
class TrainRecipe:
    """A validated training or benchmark recipe."""

    name: str
    config: Any                     # instructkit.train.sft.TrainConfig (data may still be a curate recipe)
    data_recipe: Path | None = None  # a curate recipe to run first
    compare: dict[str, Any] | None = None
    models: list[str] | None = None
    base_dir: Path = field(default_factory=Path.cwd)
    raw: dict[str, Any] = field(default_factory=dict)


def load_train_recipe(source: str | Path | dict[str, Any], *, kind: str = "train",
                      overrides: list[str] | tuple[str, ...] = ()) -> TrainRecipe:
    """Load and validate a ``train`` or ``bench`` recipe; ``overrides`` are ``KEY=VALUE`` / ``lora.r=16``."""
    from instructkit.train.sft import EvalSettings, LoraSettings, TrainConfig

    raw, base_dir, origin = read_yaml(source)
    spec = dict(TRAIN_KEYS, **BENCH_ONLY) if kind == "bench" else dict(TRAIN_KEYS)
    if not isinstance(raw, dict):
        raise RecipeError(f"{origin}: a {kind} recipe is a YAML mapping with keys {', '.join(spec)}")
    _apply_overrides(raw, overrides)
    values = _check(raw, spec, origin, "")
    lora = None
    if values["lora"] is not None:
        lora = LoraSettings(**_check(values["lora"], LORA_KEYS, origin, "lora."))
        if lora.r < 1 or lora.alpha < 1:
            raise RecipeError(f"{origin}: lora.r and lora.alpha must be at least 1")
        if not 0 <= lora.dropout < 1:
            raise RecipeError(f"{origin}: lora.dropout must be in [0, 1)")
        if not lora.target_modules:
            raise RecipeError(f"{origin}: lora.target_modules must name at least one module, e.g. [q_proj, v_proj]")
    ev = _check(values["eval"] or {}, EVAL_KEYS, origin, "eval.")
    if not 0 < ev["fraction"] < 1:
        raise RecipeError(f"{origin}: eval.fraction must be between 0 and 1, got {ev['fraction']}")
    tiny = values["tiny"] or {}
    for key, value in tiny.items():
        if key not in TINY_KEYS:
            raise RecipeError(f"{origin}: unknown key tiny.{key}{_hint(key, TINY_KEYS)}. Valid keys: {', '.join(TINY_KEYS)}")
        if not conforms(value, int) or value < 1:
            raise RecipeError(f"{origin}: tiny.{key} expects a positive int, got {value!r}")
    for key in ("max_steps", "batch_size", "max_length", "threads", "eval.batch_size"):
        v = ev["batch_size"] if key == "eval.batch_size" else values[key]
        if v < 1:
            raise RecipeError(f"{origin}: {key} must be at least 1, got {v}")
    if values["learning_rate"] <= 0:
        raise RecipeError(f"{origin}: learning_rate must be positive, got {values['learning_rate']}")
    if values["max_length"] < 8:
        raise RecipeError(f"{origin}: max_length must be at least 8 tokens, got {values['max_length']}")
    if not values["output_dir"]:
        raise RecipeError(f"{origin}: no output_dir: set `output_dir: out/{kind}-run` (or pass --output DIR)")

    compare = models = None
    data_recipe = None
    if kind == "bench":
        has_compare, has_models = values.get("compare") is not None, values.get("models") is not None
        if has_compare == has_models:
            raise RecipeError(f"{origin}: a bench recipe has exactly one of `compare: {{recipe: CURATE.yaml}}` "
                              "(train on raw and on curated data, compare) or `models: [DIR, ...]` (evaluate)")
        if has_compare:
            compare = _check(values["compare"], COMPARE_KEYS, origin, "compare.")
            if not compare["recipe"]:
                raise RecipeError(f"{origin}: compare.recipe: the curate recipe whose input is the raw data")
            compare["recipe"] = str(_resolve(compare["recipe"], base_dir, origin, "compare.recipe"))
            if values["data"] is not None:
                raise RecipeError(f"{origin}: compare builds its own data from compare.recipe; remove `data`")
        else:
            models = list(values["models"])
            if not models:
                raise RecipeError(f"{origin}: models: list at least one model directory")
            if not ev["data"]:
                raise RecipeError(f"{origin}: models: set eval.data, the curated output directory to evaluate on")
    elif not values["data"]:
        raise RecipeError(f"{origin}: no data: set `data:` to a curated output directory or a curate recipe (.yaml)")
    data = values["data"]
    if data and str(data).endswith((".yaml", ".yml")):
        data_recipe = _resolve(data, base_dir, origin, "data")
        data = str(Path(values["output_dir"]) / "data")
    config = TrainConfig(
        data=data or "", output_dir=values["output_dir"], model=values["model"], text_field=values["text_field"],
        lora=lora, max_steps=values["max_steps"], learning_rate=float(values["learning_rate"]),
        batch_size=values["batch_size"], max_length=values["max_length"], seed=values["seed"],
        warmup_steps=values["warmup_steps"], max_records=values["max_records"], threads=values["threads"],
        tiny=dict(tiny), eval=EvalSettings(**ev),
    )
    name = values["name"] or (Path(origin).stem if origin != "recipe" else f"instructkit-{kind}")
    return TrainRecipe(name=name, config=config, data_recipe=data_recipe, compare=compare, models=models,
                       base_dir=base_dir, raw=raw)


def _check(values: Any, spec: dict[str, tuple[Any, Any]], origin: str, prefix: str) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise RecipeError(f"{origin}: {prefix.rstrip('.') or 'recipe'} must be a mapping, got {type(values).__name__}")
    out = {}
    for key, value in values.items():
        if key not in spec:
            raise RecipeError(f"{origin}: unknown key {prefix}{key}{_hint(str(key), spec)}. "
                              f"Valid keys: {', '.join(spec)}")
        tp = spec[key][0]
        if tp is float and isinstance(value, str):  # YAML 1.1 reads 3e-3 as a string
            try:
                value = float(value)
            except ValueError:
                pass
        if not conforms(value, tp):
            raise RecipeError(f"{origin}: {prefix}{key} expects {type_name(tp)}, got {type(value).__name__} {value!r}")
        out[key] = value
    return {key: out.get(key, copy.deepcopy(default)) for key, (_, default) in spec.items()}


def _resolve(path: str, base_dir: Path, origin: str, key: str) -> Path:
    p = Path(path).expanduser()
    if not p.is_absolute():
        p = base_dir / p
    if not p.is_file():
        raise RecipeError(f"{origin}: {key}: curate recipe {p} not found")
    return p


def _apply_overrides(raw: dict[str, Any], overrides) -> None:
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise RecipeError(f"--set {item!r}: write KEY=VALUE, e.g. --set max_steps=100 or --set lora.r=16")
        try:
            value = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError:
            value = text
        section, dot, sub = key.partition(".")
        if dot:
            if raw.get(section) is None:
                raw[section] = {}
            if not isinstance(raw[section], dict):
                raise RecipeError(f"--set {item!r}: {section} is not a mapping")
            raw[section][sub] = value
        else:
            raw[key] = value


def _hint(key: str, choices) -> str:
    close = difflib.get_close_matches(str(key), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
