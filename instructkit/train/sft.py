"""Fine-tune a causal LM on a curated output directory with TRL's ``SFTTrainer``: full SFT or LoRA (peft).

```python
from instructkit.train import TrainConfig, train

result = train(TrainConfig(model="tiny", data="out/quickstart", output_dir="out/train-sft", max_steps=60))
print(result.eval_before["loss"], "->", result.eval_after["loss"])
```

Plain-text data (a ``text`` column) is language modelling: texts are tokenized, joined with EOS and cut into
blocks of exactly ``max_length`` tokens, so every step sees ``batch_size * max_length`` tokens. Conversations
(a ``messages`` column) are conversational SFT; the loss covers only the assistant's tokens when the chat
template marks them with ``{% generation %}`` (the tiny tokenizer's does), else every token (``loss_on`` in the
result says which). ``model`` is ``tiny`` (a from-config Llama and a BPE tokenizer trained on the training
texts, see ``tiny.py``) or anything ``AutoModelForCausalLM.from_pretrained`` loads: a local directory, or a
Hub name where the Hub is reachable. Output: ``OUTPUT_DIR/model`` (a full model directory; LoRA: merged),
``OUTPUT_DIR/adapter`` (LoRA), ``OUTPUT_DIR/base`` (LoRA on ``tiny``: the untouched base) and
``OUTPUT_DIR/train_result.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from instructkit.errors import RecipeError, RunError
from instructkit.train import data as D

DEFAULT_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj"]


@dataclass
class LoraSettings:
    r: int = 8
    alpha: int = 16
    dropout: float = 0.0
    target_modules: list[str] = field(default_factory=lambda: list(DEFAULT_TARGETS))


@dataclass
class EvalSettings:
    data: str | None = None
    """A curated output directory to evaluate on; default: hold out ``fraction`` of the training data."""
    fraction: float = 0.1
    max_records: int | None = 200
    batch_size: int = 16
    held_out: bool = True
    """bench ``models``: score only the records training held out of ``data`` (same fraction/seed/max)."""


@dataclass
class TrainConfig:
    data: str | Path
    output_dir: str | Path
    model: str = "tiny"
    text_field: str | None = None
    lora: LoraSettings | None = None
    max_steps: int = 60
    learning_rate: float = 3e-3
    batch_size: int = 8
    max_length: int = 128
    seed: int = 0
    warmup_steps: int = 0
    max_records: int | None = None
    threads: int = 1
    """torch CPU threads; 1 is fastest for tiny models on a shared machine."""
    tiny: dict[str, Any] = field(default_factory=dict)
    eval: EvalSettings = field(default_factory=EvalSettings)


@dataclass
class TrainResult:
    output_dir: Path
    model_dir: Path
    kind: str                      # "text" or "messages"
    mode: str                      # "full" or "lora"
    loss_on: str                   # "all_tokens" or "assistant_tokens"
    steps: int
    train_tokens: int              # tokens the optimizer saw (text: exactly steps * batch * max_length)
    train_examples: int
    eval_examples: int
    trainable_parameters: int
    total_parameters: int
    train_loss: list[float]
    eval_before: dict[str, Any]
    eval_after: dict[str, Any]
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["output_dir"], d["model_dir"] = str(self.output_dir), str(self.model_dir)
        return d


def train(config: TrainConfig) -> TrainResult:
    """Split the curated data into train/eval, fine-tune, evaluate before and after, save everything."""
    records = D.read_records(config.data)
    if config.max_records is not None:
        records = records[: config.max_records]
    field_name = D.text_field_of(config.data, records, config.text_field)
    if config.eval.data:
        eval_records = D.read_records(config.eval.data)
        eval_field = D.text_field_of(config.eval.data, eval_records, config.text_field)
        if config.eval.max_records is not None:
            eval_records = eval_records[: config.eval.max_records]
        keys = {D.content_key(D.example(r, eval_field)) for r in eval_records}
        train_records = [r for r in records if D.content_key(D.example(r, field_name)) not in keys]
    else:
        train_records, eval_records = D.split(records, field_name, fraction=config.eval.fraction, seed=config.seed,
                                              max_eval=config.eval.max_records)
        eval_field = field_name
    train_values = [D.example(r, field_name) for r in train_records]
    eval_values = [D.example(r, eval_field) for r in eval_records]
    eval_langs = [r.get("lang") for r in eval_records]
    model, tokenizer, base_dir = load_model(config, train_values)
    return fit(config, model, tokenizer, train_values, eval_values, eval_langs, base_dir=base_dir)


def load_model(config: TrainConfig, texts: list[Any]):
    """(model, tokenizer, base_dir): ``tiny`` builds both from the texts; anything else is loaded."""
    from instructkit.train import tiny

    _quiet()
    if config.model == "tiny":
        known = set(tiny.TINY_DEFAULTS)
        unknown = sorted(set(config.tiny) - known)
        if unknown:
            raise RecipeError(f"tiny: unknown key {unknown[0]!r}. Valid keys: {', '.join(sorted(known))}")
        vocab = int(config.tiny.get("vocab_size", tiny.TINY_DEFAULTS["vocab_size"]))
        tokenizer = tiny.build_tokenizer([D.plain_text(t) for t in texts], vocab_size=vocab)
        model = tiny.build_model(tokenizer, seed=config.seed,
                                 **{k: v for k, v in config.tiny.items() if k != "vocab_size"})
        return model, tokenizer, None
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(config.model)
        model = AutoModelForCausalLM.from_pretrained(config.model)
    except (OSError, ValueError) as exc:
        raise RunError(f"model {config.model!r}: cannot load ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
                       "give a local model directory or `tiny`") from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer, config.model


def fit(config: TrainConfig, model, tokenizer, train_values: list[Any], eval_values: list[Any],
        eval_langs: list[str | None], *, base_dir: str | None = None) -> TrainResult:
    """Train ``model`` on ``train_values`` with the config's budget; evaluate on ``eval_values`` before and after."""
    import torch

    threads = torch.get_num_threads()
    try:
        return _fit(config, model, tokenizer, train_values, eval_values, eval_langs, base_dir=base_dir)
    finally:
        torch.set_num_threads(threads)  # the caller's process keeps its own setting


def _fit(config: TrainConfig, model, tokenizer, train_values: list[Any], eval_values: list[Any],
         eval_langs: list[str | None], *, base_dir: str | None = None) -> TrainResult:
    import torch
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from instructkit.train.bench import evaluate_model

    started = time.time()
    _quiet()
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    kind = "messages" if train_values and isinstance(train_values[0], list) else "text"
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    eval_before = evaluate_model(model, tokenizer, eval_values, eval_langs, max_length=config.max_length,
                                 batch_size=config.eval.batch_size)

    assistant_only = kind == "messages" and D.has_generation(tokenizer)
    if kind == "text":
        blocks = D.pack(tokenizer, train_values, config.max_length)
        if not blocks:
            raise RunError(f"{len(train_values)} training texts give fewer than max_length={config.max_length} "
                           "tokens; use more data or a smaller max_length")
        dataset = Dataset.from_dict({"input_ids": _budget(blocks, config)})
    else:
        convs = [c for c in train_values if any(m["role"] == "assistant" for m in c)]
        if not convs:
            raise RunError("no conversation with an assistant turn to train on")
        dataset = Dataset.from_dict({"messages": _budget(convs, config)})

    mode = "full"
    base_state = None
    if config.lora is not None:
        from peft import LoraConfig, get_peft_model

        mode = "lora"
        if base_dir is None:  # tiny: the base exists only in memory; keep it next to the adapter
            model.save_pretrained(out / "base")
            tokenizer.save_pretrained(out / "base")
            base_dir = str((out / "base").absolute())
        names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
        missing = [t for t in config.lora.target_modules if t not in names]
        if missing:
            raise RecipeError(f"lora.target_modules: the model has no module {missing[0]!r}; "
                              f"linear layers: {', '.join(sorted(n for n in names if n.endswith('proj')))}")
        model = get_peft_model(model, LoraConfig(
            r=config.lora.r, lora_alpha=config.lora.alpha, lora_dropout=config.lora.dropout,
            target_modules=list(config.lora.target_modules), task_type="CAUSAL_LM"))
        base_state = {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" not in n}

    args = SFTConfig(
        output_dir=str(out / "checkpoints"),
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=1,
        learning_rate=config.learning_rate,
        warmup_steps=config.warmup_steps,
        lr_scheduler_type="cosine",
        seed=config.seed,
        data_seed=config.seed,
        max_length=config.max_length,
        packing=False,
        assistant_only_loss=assistant_only,
        logging_steps=max(1, config.max_steps // 20),
        save_strategy="no",
        eval_strategy="no",
        report_to="none",
        gradient_checkpointing=False,
        bf16=False,
        fp16=False,
        use_cpu=True,
        dataloader_num_workers=0,
        disable_tqdm=True,
        dataset_num_proc=None,
    )
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)
    loader_tokens = _count_tokens(trainer, config)
    try:
        trainer.train()
    except Exception as exc:  # noqa: BLE001 - a run failure, reported with exit code 1
        raise RunError(f"training failed: {type(exc).__name__}: {exc}") from exc
    shutil.rmtree(out / "checkpoints", ignore_errors=True)
    model = trainer.model
    model.eval()
    losses = [round(e["loss"], 4) for e in trainer.state.log_history if "loss" in e]
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    extra: dict[str, Any] = {}
    if config.lora is not None:
        changed = [n for n, p in model.named_parameters() if "lora_" not in n and not torch.equal(p, base_state[n])]
        extra["base_parameters_changed"] = len(changed)
        model.save_pretrained(out / "adapter")
        tokenizer.save_pretrained(out / "adapter")
        _point_adapter_at(out / "adapter", base_dir)
        model = model.merge_and_unload()
    eval_after = evaluate_model(model, tokenizer, eval_values, eval_langs, max_length=config.max_length,
                                batch_size=config.eval.batch_size)
    model.save_pretrained(out / "model")
    tokenizer.save_pretrained(out / "model")
    result = TrainResult(
        output_dir=out, model_dir=out / "model", kind=kind, mode=mode,
        loss_on="assistant_tokens" if assistant_only else "all_tokens",
        steps=trainer.state.global_step, train_tokens=loader_tokens, train_examples=len(dataset),
        eval_examples=len(eval_values), trainable_parameters=trainable, total_parameters=total,
        train_loss=losses, eval_before=eval_before, eval_after=eval_after,
        seconds=round(time.time() - started, 2), extra=extra,
    )
    (out / "train_result.json").write_text(json.dumps({"config": _config_dict(config), **result.to_dict()},
                                                      indent=2, ensure_ascii=False), encoding="utf-8")
    return result


def _budget(items: list[Any], config: TrainConfig) -> list[Any]:
    """A seeded shuffle of the examples, cut to what ``max_steps`` batches use (all of them when fewer)."""
    import random

    order = list(range(len(items)))
    random.Random(config.seed).shuffle(order)
    need = config.max_steps * config.batch_size
    return [items[i] for i in order[:need]]


def _count_tokens(trainer, config: TrainConfig) -> int:
    """Tokens the optimizer will see: the padded-away tokens excluded."""
    ds = trainer.train_dataset
    lengths = [len(x) for x in ds["input_ids"]]
    if len(set(lengths)) == 1:  # packed text blocks
        return config.max_steps * config.batch_size * lengths[0]
    mean = sum(lengths) / len(lengths)
    return int(config.max_steps * config.batch_size * mean)


def _point_adapter_at(adapter_dir: Path, base: str) -> None:
    cfg_path = adapter_dir / "adapter_config.json"
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    cfg["base_model_name_or_path"] = base
    cfg_path.write_text(json.dumps(cfg, indent=2), encoding="utf-8")


def _config_dict(config: TrainConfig) -> dict[str, Any]:
    d = asdict(config)
    d["data"], d["output_dir"] = str(config.data), str(config.output_dir)
    return d


def _quiet() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import warnings

    warnings.filterwarnings("ignore", message=".*gradient_checkpointing.*is deprecated.*")
    try:
        import datasets
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        datasets.disable_progress_bars()
    except ImportError:  # pragma: no cover
        pass
