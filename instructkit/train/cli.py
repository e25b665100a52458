"""``instructkit train RECIPE.yaml`` and ``instructkit bench RECIPE.yaml``.

Registered in ``instructkit/cli.py`` with ``cli.add_command(train)`` and ``cli.add_command(bench)``; also
runnable alone as ``python -m instructkit.train.cli train RECIPE.yaml``.
Exit codes: 0 done, 2 recipe or usage error (nothing trained), 1 the run failed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from instructkit.errors import InputError, RecipeError, RunError


def run_train(recipe) -> Any:
    """Run a loaded training recipe: the curate recipe first when ``data`` is one, then ``train``."""
    from instructkit.train.sft import train

    if recipe.data_recipe is not None:
        from instructkit.pipeline import Pipeline

        Pipeline.from_recipe(recipe.data_recipe, output=str(recipe.config.data)).run(overwrite=True, progress=False)
    return train(recipe.config)


def run_bench(recipe) -> dict[str, Any]:
    """Run a loaded bench recipe: ``compare`` (raw vs curated) or ``models`` (evaluate)."""
    from instructkit.train import bench

    cfg = recipe.config
    out = Path(cfg.output_dir)
    if recipe.compare is not None:
        raw_dir, cur_dir = bench.prepare_compare(recipe.compare["recipe"], out / "data",
                                                 overrides=recipe.compare["set"], input_path=recipe.compare["input"])
        return bench.compare(raw_dir, cur_dir, cfg)
    report = bench.evaluate(recipe.models, cfg.eval.data, text_field=cfg.text_field, max_records=cfg.eval.max_records,
                            max_length=cfg.max_length, batch_size=cfg.eval.batch_size,
                            held_out=(cfg.eval.fraction, cfg.seed) if cfg.eval.held_out else None)
    out.mkdir(parents=True, exist_ok=True)
    (out / "eval.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    return report


def _load(path: Path, kind: str, overrides, output: str | None):
    from instructkit.train.recipe import load_train_recipe

    if output:
        overrides = [*overrides, f"output_dir={output}"]
    try:
        return load_train_recipe(path, kind=kind, overrides=list(overrides))
    except RecipeError as exc:
        _fail(exc, 2)


def _guarded(fn, recipe):
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
        import trl  # noqa: F401
    except ImportError as exc:
        _fail(RecipeError(f"training needs the train extra: pip install 'instructkit[train]' ({exc})"), 2)
    try:
        return fn(recipe)
    except RecipeError as exc:
        _fail(exc, 2)
    except (InputError, RunError) as exc:
        _fail(exc, 1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


@click.command()
@click.argument("recipe", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a recipe key, e.g. --set max_steps=100 --set lora.r=16 (repeatable).")
@click.option("--output", metavar="DIR", help="Output directory (replaces output_dir).")
@click.option("--check", is_flag=True, help="Validate the recipe and stop.")
def train(recipe: Path, overrides, output, check) -> None:
    """Fine-tune a model (full SFT or LoRA) on curated data with TRL, as RECIPE.yaml says."""
    loaded = _load(recipe, "train", overrides, output)
    if check:
        click.echo(f"{recipe}: ok — model {loaded.config.model}, {'lora' if loaded.config.lora else 'full'} SFT, "
                   f"{loaded.config.max_steps} steps")
        return
    res = _guarded(run_train, loaded)
    before, after = res.eval_before, res.eval_after
    langs = ", ".join(f"{k} {v['loss']:.3f}" for k, v in after["by_lang"].items())
    click.echo(f"{res.model_dir}: {res.mode} SFT on {res.kind} ({res.loss_on}), {res.steps} steps, "
               f"{res.train_tokens:,} tokens, {res.trainable_parameters:,} of {res.total_parameters:,} parameters "
               f"trained in {res.seconds:.1f}s; eval loss {before['loss']:.3f} -> {after['loss']:.3f} "
               f"(perplexity {after['perplexity']:.1f}{'; ' + langs if langs else ''})")


@click.command()
@click.argument("recipe", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a recipe key, e.g. --set max_steps=100 (repeatable).")
@click.option("--output", metavar="DIR", help="Output directory (replaces output_dir).")
@click.option("--check", is_flag=True, help="Validate the recipe and stop.")
def bench(recipe: Path, overrides, output, check) -> None:
    """Benchmark: train on raw vs curated data and compare eval loss, or evaluate models on a held-out set."""
    from instructkit.train.bench import render_compare, summary_line

    loaded = _load(recipe, "bench", overrides, output)
    if check:
        click.echo(f"{recipe}: ok — {'compare' if loaded.compare else 'evaluate'}")
        return
    report = _guarded(run_bench, loaded)
    out = Path(loaded.config.output_dir)
    if loaded.compare is not None:
        click.echo(render_compare(report))
        click.echo(f"{out}: {summary_line(report)}")
    else:
        for name, ev in report["models"].items():
            langs = ", ".join(f"{k} {v['loss']:.3f}" for k, v in ev["by_lang"].items())
            click.echo(f"{name}: eval loss {ev['loss']:.4f}, perplexity {ev['perplexity']:.2f}, "
                       f"{ev['bits_per_byte']} bits/byte{' (' + langs + ')' if langs else ''}")
        click.echo(f"{out / 'eval.json'}")


@click.group()
def main() -> None:
    """instructkit training commands (also available as `instructkit train` / `instructkit bench`)."""


main.add_command(train)
main.add_command(bench)


def _fail(exc: Exception, code: int) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
