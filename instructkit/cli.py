"""The ``instructkit`` command. Exit codes: 0 ok, 2 recipe or usage error (nothing read or written), 1 run failure."""

from __future__ import annotations

import inspect
import os
import sys
from pathlib import Path

import click

from instructkit.errors import InputError, RecipeError, RunError


def main() -> None:
    cli(prog_name="instructkit")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="instructkit")
def cli() -> None:
    """Curate clean, deduplicated, documented training sets for language models."""


@cli.command()
@click.argument("recipe", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--input", "input_path", metavar="PATH", help="Input file, glob, directory, sample:NAME or hf:NAME.")
@click.option("--output", "output_path", metavar="DIR", help="Output directory (replaces output.path).")
@click.option("--set", "overrides", multiple=True, metavar="STEP.PARAM=VALUE",
              help="Override a parameter, e.g. --set minhash_dedup.threshold=0.7 (repeatable).")
@click.option("--resume", is_flag=True, help="Continue an interrupted run from its finished parts.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output directory.")
@click.option("--strict", is_flag=True, help="Stop at the first unreadable record instead of quarantining it.")
@click.option("--workers", type=click.IntRange(min=1), help="Worker processes (default: all cores).")
@click.option("--plan", is_flag=True, help="Print the stages and the memory/disk estimates, then stop.")
def curate(recipe: Path, input_path, output_path, overrides, resume, overwrite, strict, workers, plan) -> None:
    """Run RECIPE.yaml: read, clean, filter, deduplicate, write data/, rejected/, stats.json and README.md."""
    pipe = _load(recipe, overrides, input_path, output_path)
    if plan:
        _print_plan(pipe)
        return
    try:
        result = pipe.run(resume=resume, overwrite=overwrite, strict=strict, workers=workers)
    except RecipeError as exc:
        _fail(exc, 2)
    except (InputError, RunError) as exc:
        _fail(exc, 1)
    except KeyboardInterrupt:
        click.echo("interrupted; continue with --resume", err=True)
        sys.exit(130)
    t = result.stats["totals"]
    click.echo(f"{result.output}: kept {t['records_kept']:,} of {t['records_in']:,} records, "
               f"rejected {t['records_rejected']:,} ({', '.join(f'{k} {v:,}' for k, v in t['dropped_by_step'].items()) or 'none'})"
               f" in {result.stats['wall_seconds']:.1f}s")


@cli.command()
@click.argument("recipe", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="STEP.PARAM=VALUE")
def validate(recipe: Path, overrides) -> None:
    """Check RECIPE.yaml (steps, parameters, input and reference paths) without reading any data."""
    pipe = _load(recipe, overrides, None, None)
    try:
        resolved = pipe.preflight()
    except RecipeError as exc:
        _fail(exc, 2)
    n = f"{len(resolved)} input file(s)" if isinstance(resolved, list) else f"hf dataset {resolved}"
    click.echo(f"{recipe}: ok — {len(pipe.steps)} steps, {n}")


@cli.command()
@click.option("--markdown", is_flag=True, help="Print the recipe reference as Markdown (as in the README).")
def steps(markdown: bool) -> None:
    """List every step with its parameters, defaults and summary."""
    from instructkit.docs import step_reference

    if markdown:
        click.echo(step_reference())
        return
    from instructkit.steps.base import iter_steps, kind_of, type_name

    for name, cls in iter_steps():
        click.echo(f"{name} ({kind_of(cls)}): {_summary(cls)}")
        for param, (tp, default) in cls.param_specs().items():
            d = "required" if default is inspect.Parameter.empty else f"default {default!r}"
            click.echo(f"    {param}: {type_name(tp)}, {d}")


@cli.command()
@click.argument("output", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--stdout", "to_stdout", is_flag=True, help="Print the card instead of writing OUTPUT/README.md.")
def card(output: Path, to_stdout: bool) -> None:
    """Render the dataset card of a finished OUTPUT directory again from its stats.json."""
    import json

    from instructkit.card import render_card

    stats_path = output / "stats.json"
    if not stats_path.is_file():
        _fail(RecipeError(f"{output} has no stats.json: not a finished instructkit output"), 2)
    text = render_card(json.loads(stats_path.read_text(encoding="utf-8")))
    if to_stdout:
        click.echo(text, nl=False)
    else:
        (output / "README.md").write_text(text, encoding="utf-8")
        click.echo(f"wrote {output / 'README.md'}")


@cli.command()
@click.argument("output", type=click.Path(file_okay=False, path_type=Path))
@click.option("--repo", "repo_id", required=True, metavar="ORG/NAME", help="Dataset repository on the Hub.")
@click.option("--private", is_flag=True, help="Create the repository private.")
@click.option("--with-rejected", is_flag=True, help="Upload rejected/ too (default: counts only, in the card).")
@click.option("--revision", metavar="BRANCH", help="Branch to push to (default: main).")
@click.option("--message", metavar="TEXT", help="Commit message.")
@click.option("--dry-run", is_flag=True, help="Show what would be uploaded, upload nothing.")
def publish(output: Path, repo_id, private, with_rejected, revision, message, dry_run) -> None:
    """Upload a curated OUTPUT directory with its data card to the Hugging Face Hub.

    The token is read from HF_TOKEN or `huggingface-cli login`, never from the command line.
    """
    from instructkit import publish as pub

    try:
        plan = pub.plan(output, repo_id, with_rejected=with_rejected)
        if dry_run:
            click.echo(f"would upload to datasets/{repo_id}:")
            for f in plan.files:
                click.echo(f"  {f}")
            return
        url = pub.publish(output, repo_id, private=private, with_rejected=with_rejected, revision=revision,
                          message=message)
    except RecipeError as exc:
        _fail(exc, 2)
    except pub.PublishError as exc:
        _fail(exc, 1)
    click.echo(f"published {len(plan.files)} files to {url}")


@cli.command()
@click.argument("output", type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "fmt", required=True, type=click.Choice(["alpaca", "sharegpt", "messages", "dolly", "oasst"]),
              help="Instruction format to write.")
@click.option("--to", "to", type=click.Path(dir_okay=False, path_type=Path),
              help="JSONL file to write (.gz compresses; default OUTPUT/export/FORMAT.jsonl).")
@click.option("--rejected", is_flag=True, help="Export rejected/ instead of data/.")
def export(output: Path, fmt: str, to, rejected: bool) -> None:
    """Write the curated conversations of OUTPUT as JSONL in an instruction format.

    Records the format cannot express are listed, with the reason, in FILE.unexportable.jsonl.
    """
    from instructkit.export import export_output

    try:
        result = export_output(output, fmt, to, split="rejected" if rejected else "data")
    except RecipeError as exc:
        _fail(exc, 2)
    click.echo(str(result))


def _summary(cls) -> str:
    return (inspect.getdoc(cls) or "").split("\n\n")[0].replace("\n", " ")


def _load(recipe: Path, overrides, input_path, output_path):
    from instructkit.pipeline import Pipeline

    try:
        return Pipeline.from_recipe(recipe, overrides=list(overrides), input=input_path, output=output_path)
    except RecipeError as exc:
        _fail(exc, 2)


def _print_plan(pipe) -> None:
    from instructkit.io.readers import estimate_size, resolve_input

    try:
        files = resolve_input(pipe.recipe.input["path"], pipe.recipe.base_dir)
    except RecipeError as exc:
        _fail(exc, 2)
    size, records = estimate_size(files)
    n_files = len(files) if isinstance(files, list) else "hf"
    click.echo(f"input: {pipe.recipe.input['path']} ({n_files} files, ~{size / 2**20:,.1f} MiB uncompressed, "
               f"~{records or 0:,} records)")
    batch = pipe.recipe.executor
    click.echo(f"parts: ~{max(1, records // batch['batch_size'], size // batch['batch_bytes']):,} "
               f"(batch_size {batch['batch_size']:,}, batch_bytes {batch['batch_bytes'] / 2**20:,.0f} MiB)")
    workers = pipe.recipe.executor["workers"] or os.cpu_count() or 1
    click.echo(f"memory: ~{(110 + 20 * batch['batch_bytes'] / 2**20):,.0f} MiB per worker process x {workers} "
               "(libraries ~110 MiB + ~20x batch_bytes for a part in flight), plus each global step's fit below")
    for stage in pipe.stages():
        names = [label for label, _ in stage.steps]
        if stage.global_step:
            names.append(f"{stage.global_step[0]} (index)")
        click.echo(f"stage {stage.index + 1}: " + (" → ".join(names) or "(apply decisions)"))
        if stage.global_step and hasattr(stage.global_step[1], "estimate"):
            est = stage.global_step[1].estimate(size, records)
            for key, value in est.items():
                shown = f"{value / 2**20:,.0f} MiB" if isinstance(value, int) and key.endswith("bytes") else value
                click.echo(f"    {key}: {shown}")


def _fail(exc: Exception, code: int) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(code)


def _register_training() -> None:
    """``instructkit train`` and ``instructkit bench`` (TRL; heavy imports happen only when they run)."""
    from instructkit.train.cli import bench, train

    cli.add_command(train)
    cli.add_command(bench)


_register_training()

if __name__ == "__main__":
    main()
