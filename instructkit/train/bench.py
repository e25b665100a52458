"""Benchmarks: evaluate models on a held-out set, and compare training on raw versus curated data.

``evaluate_model`` scores a model on eval examples: mean loss per token (nats), perplexity, bits per UTF-8
byte (comparable across tokenizers), overall and per language when the records have a ``lang`` column.

``compare`` answers "what did curation do to the model?":

1. the curate recipe runs twice on the same input: with its steps (``curated``) and with none (``raw``: the
   same records read and converted the same way, nothing cleaned, filtered or deduplicated);
2. an eval set is held out from the *curated* records (a stable hash of the id), and every raw or curated
   record equal to an eval record (ANSI escapes, case, width, punctuation and whitespace ignored), or
   rejected as a duplicate of one, is removed from both training sets;
3. one tokenizer is trained on the raw training texts and the same tiny model (same seed) is trained on each
   set with the same steps, batch size and sequence length: plain text is packed into full blocks, so both
   runs see exactly ``max_steps * batch_size * max_length`` tokens;
4. both models (and the untrained initialisation) are evaluated on the same clean eval set;
   ``compare.json`` and ``compare.md`` are written to the output directory.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Any

from instructkit.errors import RecipeError, RunError
from instructkit.train import data as D


def evaluate_model(model, tokenizer, values: list[Any], langs: list[str | None] | None = None, *,
                   max_length: int = 128, batch_size: int = 16) -> dict[str, Any]:
    """Token-weighted eval loss of ``model`` on ``values`` (texts or conversations), overall and per language."""
    import torch
    import torch.nn.functional as F

    langs = list(langs) if langs is not None else [None] * len(values)
    encoded = [D.encode_eval(tokenizer, v, max_length) for v in values]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    sums: dict[str, list[float]] = {}

    def add(key: str, nll: float, n: int, nbytes: int) -> None:
        s = sums.setdefault(key, [0.0, 0, 0, 0])
        s[0] += nll
        s[1] += n
        s[2] += nbytes
        s[3] += 1

    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        for start in range(0, len(encoded), batch_size):
            chunk = encoded[start:start + batch_size]
            width = max(len(ids) for ids, _, _ in chunk)
            ids = torch.full((len(chunk), width), pad, dtype=torch.long)
            attn = torch.zeros((len(chunk), width), dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.bool)
            for i, (x, m, _) in enumerate(chunk):
                ids[i, :len(x)] = torch.tensor(x)
                attn[i, :len(x)] = 1
                mask[i, :len(m)] = torch.tensor(m, dtype=torch.bool)
            logits = model(input_ids=ids.to(device), attention_mask=attn.to(device)).logits.float()
            nll = F.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)), ids[:, 1:].reshape(-1).to(device),
                                  reduction="none").view(len(chunk), width - 1)
            target = mask[:, 1:].to(device)
            per_example = (nll * target).sum(dim=1).tolist()
            counts = target.sum(dim=1).tolist()
            for j, (total, n) in enumerate(zip(per_example, counts, strict=True)):
                if n == 0:
                    continue
                nbytes = chunk[j][2]
                add("all", total, n, nbytes)
                lang = langs[start + j]
                if lang:
                    add(str(lang), total, n, nbytes)
    if was_training:
        model.train()

    def summary(s: list[float]) -> dict[str, Any]:
        loss = s[0] / s[1] if s[1] else float("nan")
        return {"loss": round(loss, 4), "perplexity": round(math.exp(min(loss, 50)), 2),
                "bits_per_byte": round(s[0] / math.log(2) / s[2], 4) if s[2] else None,
                "tokens": int(s[1]), "examples": int(s[3])}

    result = summary(sums.get("all", [0.0, 0, 0, 0]))
    result["by_lang"] = {k: summary(v) for k, v in sorted(sums.items()) if k != "all"}
    return result


def evaluate(models: list[str], eval_data: str | Path, *, text_field: str | None = None,
             max_records: int | None = 200, max_length: int = 128, batch_size: int = 16,
             held_out: tuple[float, int] | None = None) -> dict[str, Any]:
    """Evaluate model directories (or names ``from_pretrained`` loads) on a curated output directory.

    ``held_out=(fraction, seed)`` scores only the records ``train`` held out of the same directory with the
    same ``eval.fraction``, ``seed`` and ``eval.max_records`` (the records the model never trained on);
    ``None`` scores the first ``max_records`` records.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from instructkit.train.sft import _quiet

    _quiet()
    records = D.read_records(eval_data)
    field = D.text_field_of(eval_data, records, text_field)
    if held_out is not None:
        _, records = D.split(records, field, fraction=held_out[0], seed=held_out[1], max_eval=max_records)
    elif max_records is not None:
        records = records[:max_records]
    values = [D.example(r, field) for r in records]
    langs = [r.get("lang") for r in records]
    out: dict[str, Any] = {"eval_data": str(eval_data), "eval_examples": len(values),
                           "held_out": list(held_out) if held_out else None, "models": {}}
    for name in models:
        try:
            tok = AutoTokenizer.from_pretrained(name)
            model = AutoModelForCausalLM.from_pretrained(name)
        except (OSError, ValueError) as exc:
            raise RunError(f"model {name!r}: cannot load ({type(exc).__name__}: {str(exc).splitlines()[0]})") from exc
        out["models"][str(name)] = evaluate_model(model, tok, values, langs, max_length=max_length,
                                                  batch_size=batch_size)
    return out


# -- raw versus curated -----------------------------------------------------------------------------------
def prepare_compare(curate_recipe: str | Path, workdir: str | Path, *, overrides: list[str] | tuple[str, ...] = (),
                    input_path: str | None = None, workers: int | None = 1) -> tuple[Path, Path]:
    """Run the curate recipe with its steps (``workdir/curated``) and without (``workdir/raw``)."""
    from instructkit.pipeline import Pipeline
    from instructkit.recipe import load_recipe

    workdir = Path(workdir)
    recipe = load_recipe(curate_recipe, overrides=overrides, input_path=input_path)
    raw = dataclasses.replace(recipe, steps=[], reports=[], input=dict(recipe.input), output=dict(recipe.output),
                              name=recipe.name + "-raw")
    curated = dataclasses.replace(recipe, input=dict(recipe.input), output=dict(recipe.output))
    for r, sub in ((raw, "raw"), (curated, "curated")):
        r.output["path"] = str(workdir / sub)
        Pipeline.from_recipe(r).run(overwrite=True, workers=workers, progress=False)
    return workdir / "raw", workdir / "curated"


def compare(raw_dir: str | Path, curated_dir: str | Path, config, *, text_field: str | None = None
            ) -> dict[str, Any]:
    """Train the same tiny model on raw and on curated records; evaluate both on one clean held-out set.

    ``config`` is a ``TrainConfig`` (its ``data`` is ignored; ``output_dir`` receives ``raw/``, ``curated/``,
    ``compare.json`` and ``compare.md``).
    """
    from instructkit.train import tiny
    from instructkit.train.sft import _config_dict, _quiet, fit

    if config.model != "tiny":
        raise RecipeError("compare trains the same fresh model on both sets: model must be 'tiny' "
                          "(a pretrained model would carry what it already learned into both)")
    if config.lora is not None:
        raise RecipeError("compare: lora is not used (both runs train the whole tiny model); remove it")
    _quiet()
    started = time.time()
    raw_records = D.read_records(raw_dir)
    cur_records = D.read_records(curated_dir)
    field = D.text_field_of(curated_dir, cur_records, text_field)
    raw_field = D.text_field_of(raw_dir, raw_records, text_field or field)
    if config.max_records is not None:
        raw_records = raw_records[: config.max_records]
        raw_ids = {str(r.get("id")) for r in raw_records}
        cur_records = [r for r in cur_records if str(r.get("id")) in raw_ids]
    cur_train, eval_records = D.split(cur_records, field, fraction=config.eval.fraction, seed=config.seed,
                                      max_eval=config.eval.max_records)
    eval_ids = {str(r.get("id")) for r in eval_records}
    eval_keys = {D.content_key(D.example(r, field)) for r in eval_records}
    # raw copies of eval records the curation dropped as their duplicates
    dup_ids = {str(r.get("id")) for r in D.read_rejected(curated_dir)
               if str(r.get("drop_reason") or "").partition(":")[2] in eval_ids}
    raw_train = [r for r in raw_records
                 if str(r.get("id")) not in eval_ids and str(r.get("id")) not in dup_ids
                 and D.content_key(D.example(r, raw_field)) not in eval_keys]
    raw_values = [D.example(r, raw_field) for r in raw_train]
    cur_values = [D.example(r, field) for r in cur_train]
    eval_values = [D.example(r, field) for r in eval_records]
    eval_langs = [r.get("lang") for r in eval_records]

    vocab = int(config.tiny.get("vocab_size", tiny.TINY_DEFAULTS["vocab_size"]))
    tokenizer = tiny.build_tokenizer([D.plain_text(v) for v in raw_values], vocab_size=vocab)
    shape = {k: v for k, v in config.tiny.items() if k != "vocab_size"}
    init = tiny.build_model(tokenizer, seed=config.seed, **shape)
    out = Path(config.output_dir)
    runs: dict[str, Any] = {}
    for name, values in (("raw", raw_values), ("curated", cur_values)):
        cfg = dataclasses.replace(config, output_dir=out / name)
        model = tiny.build_model(tokenizer, seed=config.seed, **shape)
        res = fit(cfg, model, tokenizer, values, eval_values, eval_langs)
        runs[name] = {
            "train_records": len(values),
            "train_bytes": sum(len(D.plain_text(v).encode("utf-8")) for v in values),
            "train_tokens": res.train_tokens,
            "steps": res.steps,
            "train_loss_first": res.train_loss[0] if res.train_loss else None,
            "train_loss_last": res.train_loss[-1] if res.train_loss else None,
            "eval": res.eval_after,
            "model_dir": str(res.model_dir),
        }
    untrained = evaluate_model(init, tokenizer, eval_values, eval_langs, max_length=config.max_length,
                               batch_size=config.eval.batch_size)
    r, c = runs["raw"]["eval"], runs["curated"]["eval"]
    report = {
        "raw_dir": str(raw_dir),
        "curated_dir": str(curated_dir),
        "kind": "messages" if field == "messages" else "text",
        "eval_examples": len(eval_values),
        "eval_langs": dict(sorted(_counts(eval_langs).items())),
        "untrained": untrained,
        "raw": runs["raw"],
        "curated": runs["curated"],
        "eval_loss_ratio_curated_over_raw": round(c["loss"] / r["loss"], 4) if r["loss"] else None,
        "perplexity_ratio_curated_over_raw": round(c["perplexity"] / r["perplexity"], 4) if r["perplexity"] else None,
        "config": {k: v for k, v in _config_dict(config).items() if k not in ("data",)},
        "seconds": round(time.time() - started, 1),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    (out / "compare.md").write_text(render_compare(report), encoding="utf-8")
    return report


def _counts(values: list[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for v in values:
        counts[str(v)] = counts.get(str(v), 0) + 1
    return counts


def render_compare(report: dict[str, Any]) -> str:
    """The comparison as Markdown: one row per model, per-language columns."""
    langs = sorted(set(report["raw"]["eval"]["by_lang"]) | set(report["curated"]["eval"]["by_lang"]))
    head = ["model", "train records", "train tokens", "eval loss", "perplexity", "bits/byte"] + \
        [f"loss {lang}" for lang in langs]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    rows = [("untrained", None, report["untrained"]), ("raw", report["raw"], report["raw"]["eval"]),
            ("curated", report["curated"], report["curated"]["eval"])]
    for name, run, ev in rows:
        cells = [name, f"{run['train_records']:,}" if run else "-", f"{run['train_tokens']:,}" if run else "-",
                 f"{ev['loss']:.4f}", f"{ev['perplexity']:.2f}", f"{ev['bits_per_byte']:.4f}"]
        cells += [f"{ev['by_lang'][lang]['loss']:.4f}" if lang in ev["by_lang"] else "-" for lang in langs]
        lines.append("| " + " | ".join(cells) + " |")
    cfg = report["config"]
    return "\n".join([
        "# Raw versus curated: what curation did to the model",
        "",
        f"Same tiny model (seed {cfg['seed']}), same tokenizer, {cfg['max_steps']} steps x {cfg['batch_size']} "
        + (f"x {cfg['max_length']} tokens each (packed text)" if report["kind"] == "text" else
           f"conversations of at most {cfg['max_length']} tokens (loss on the assistant's tokens)")
        + f"; evaluated on {report['eval_examples']} held-out curated records "
        f"({', '.join(f'{k}: {v}' for k, v in report['eval_langs'].items())}) that neither training set contains.",
        "",
        *lines,
        "",
        f"Eval loss ratio curated/raw: **{report['eval_loss_ratio_curated_over_raw']}** "
        f"(perplexity ratio {report['perplexity_ratio_curated_over_raw']}; below 1 means curation helped).",
        "",
    ])


def summary_line(report: dict[str, Any]) -> str:
    r, c = report["raw"]["eval"], report["curated"]["eval"]
    return (f"eval loss raw {r['loss']:.4f} (ppl {r['perplexity']:.2f}), curated {c['loss']:.4f} "
            f"(ppl {c['perplexity']:.2f}), ratio curated/raw {report['eval_loss_ratio_curated_over_raw']}")
