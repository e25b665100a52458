"""The Pipeline: named steps, split into stages at global steps, run part by part with crash-safe output.

```python
from instructkit import Pipeline
from instructkit.steps import Clean, ExactDedup

Pipeline([Clean(), ExactDedup()]).run(input="data/*.jsonl.gz", output="out/run")
Pipeline.from_recipe("recipes/quickstart.yaml").run()
```

How a run goes. The input is cut into *parts* (``batch_size`` records or ``batch_bytes`` of text, in input
order). A *stage* is the local steps up to and including the next global step; the workers run a stage
over every part (a global step only *indexes* there), then the main process *fits* the global step and writes
its drops part by part, and each worker applies its part's drops at the start of the next stage. Every part's
result is written atomically into ``OUTPUT.partial/`` with a completion marker, so ``--resume`` redoes only
unfinished parts. When all is
done, ``data/``, ``rejected/``, ``stats.json`` and ``README.md`` are assembled there and the directory is
renamed to ``OUTPUT`` in one step: a killed run never leaves a directory that looks complete.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import pickle
import platform
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from instructkit.errors import InputError, RecipeError, RunError
from instructkit.executors import make_executor
from instructkit.io.readers import (
    Bad,
    ParquetRows,
    RawLine,
    Record,
    describe_inputs,
    iter_items,
    parquet_parts,
    read_parquet_rows,
    resolve_input,
    to_table,
    validate,
)
from instructkit.io.writers import conform, unify_schema, write_json, write_parquet, write_shards
from instructkit.recipe import SECTIONS, Recipe, label_steps, load_recipe
from instructkit.stats import StepStats, merge, reason_code
from instructkit.steps.base import Filter, GlobalStep, Mapper, Step

READ = "read"
"""``drop_step`` of input records that could not be read or validated."""
REJECT_COLUMNS = ("drop_step", "drop_reason", "source_file", "source_line", "raw")
"""Columns ``rejected/`` adds after the record's own fields."""


@dataclass
class Stage:
    index: int
    steps: list[tuple[str, Step]]
    global_step: tuple[str, GlobalStep] | None = None
    #: label of the global step (end of the previous stage) whose decisions open this stage
    applies: str | None = None


@dataclass
class RunResult:
    output: Path
    stats: dict[str, Any]

    @property
    def kept(self) -> int:
        return self.stats["totals"]["records_kept"]

    @property
    def rejected(self) -> int:
        return self.stats["totals"]["records_rejected"]


class Pipeline:
    """Named steps run in order over a dataset (scikit-learn's Pipeline, for records)."""

    def __init__(
        self,
        steps: list[Step] | list[tuple[str, Step]],
        *,
        name: str = "instructkit-run",
        text_field: str | None = None,
        format: str = "text",
    ) -> None:
        if steps and isinstance(steps[0], tuple):
            labelled = list(steps)  # type: ignore[arg-type]
        else:
            labelled = label_steps(list(steps))  # type: ignore[arg-type]
        for label, step in labelled:
            if not isinstance(step, Step):
                raise TypeError(f"pipeline step {label!r} is a {type(step).__name__}, not a Step")
        self.recipe = Recipe(
            name=name,
            steps=labelled,
            input={**{k: d for k, (_, d) in SECTIONS["input"].items()}, "format": format,
                   "text_field": text_field or ("text" if format == "text" else "messages")},
            output={k: d for k, (_, d) in SECTIONS["output"].items()},
        )

    @classmethod
    def from_recipe(
        cls,
        source: str | Path | dict[str, Any] | Recipe,
        *,
        overrides: list[str] | tuple[str, ...] = (),
        input: str | None = None,
        output: str | None = None,
    ) -> Pipeline:
        recipe = source if isinstance(source, Recipe) else load_recipe(
            source, overrides=overrides, input_path=input, output_path=output)
        pipe = cls.__new__(cls)
        pipe.recipe = recipe
        return pipe

    @property
    def steps(self) -> list[tuple[str, Step]]:
        return self.recipe.steps

    def __repr__(self) -> str:
        inner = ", ".join(f"({label!r}, {step!r})" for label, step in self.steps)
        return f"Pipeline([{inner}])"

    def preflight(self) -> list[Path] | str:
        """The input's files (or ``hf:`` name), after checking that they and every dataset a step reads exist
        and that every step's optional libraries are installed: a ``RecipeError`` naming the setting or the
        extra otherwise. Reads no data."""
        files = resolve_input(self.recipe.input["path"], self.recipe.base_dir)
        for label, step in self.steps:
            step.check_requires(f"step {label}")
            for param, paths in step.data_paths().items():
                for path in paths:
                    resolve_input(path, step.base_dir, what=f"step {label}: {param}")
        return files

    def stages(self) -> list[Stage]:
        stages = [Stage(0, [])]
        for label, step in self.steps:
            if isinstance(step, GlobalStep):
                stages[-1].global_step = (label, step)
                stages.append(Stage(len(stages), [], applies=label))
            else:
                stages[-1].steps.append((label, step))
        return stages

    def run(
        self,
        input: str | None = None,
        output: str | Path | None = None,
        *,
        resume: bool = False,
        overwrite: bool = False,
        strict: bool = False,
        workers: int | None = None,
        progress: bool | None = None,
    ) -> RunResult:
        """Run the pipeline; returns where the output went and the run's stats."""
        recipe = self.recipe
        if input is not None:
            recipe.input["path"] = str(input)
        if output is not None:
            recipe.output["path"] = str(output)
        if not recipe.input.get("path"):
            raise RecipeError("no input: set input.path in the recipe or pass --input PATH (Python: run(input=...)); "
                              "a file, glob, directory, sample:NAME or hf:NAME")
        if not recipe.output.get("path"):
            raise RecipeError("no output directory: set output.path in the recipe or pass --output DIR "
                              "(Python: run(output=...))")
        return _Run(self, resume=resume, overwrite=overwrite, strict=strict,
                    workers=workers if workers is not None else recipe.executor.get("workers"),
                    progress=progress).execute()


# -- the run ----------------------------------------------------------------------------------------------
@dataclass
class _Context:
    """What every worker needs: sent once per worker process."""

    stages: list[Stage]
    text_field: str
    fmt: str
    work: Path
    strict: bool = False
    ready: set[str] = field(default_factory=set)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "ready": set()}


class _Run:
    def __init__(self, pipe: Pipeline, *, resume: bool, overwrite: bool, strict: bool, workers: int | None,
                 progress: bool | None) -> None:
        self.pipe, self.recipe = pipe, pipe.recipe
        self.stages = pipe.stages()
        self.resume, self.overwrite, self.strict = resume, overwrite, strict
        self.workers = workers
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.out = Path(self.recipe.output["path"]).expanduser().absolute()
        self.work = self.out.with_name(self.out.name + ".partial")

    # Everything that can be checked before reading data is checked here (exit 2 territory).
    def prepare(self) -> list[Path] | str:
        files = self.pipe.preflight()
        if self.out.exists() and not self.overwrite:
            if self.resume and (self.out / "stats.json").exists() and not self.work.exists():
                raise _AlreadyDone()
            raise RecipeError(f"output directory {self.out} already exists; use --overwrite to replace it "
                              "or --output to write elsewhere")
        if self.work.exists() and not self.resume:
            if not self.overwrite:
                raise RecipeError(f"{self.work} holds an interrupted run; use --resume to continue it or "
                                  "--overwrite to start again")
            shutil.rmtree(self.work)
        return files

    def execute(self) -> RunResult:
        started = time.time()
        try:
            files = self.prepare()
        except _AlreadyDone:
            return RunResult(self.out, json.loads((self.out / "stats.json").read_text(encoding="utf-8")))
        inputs = describe_inputs(files)
        manifest = {"recipe_fingerprint": self.recipe.fingerprint(), "inputs": inputs}
        self.work.mkdir(parents=True, exist_ok=True)
        manifest_path = self.work / "manifest.json"
        if manifest_path.exists():
            previous = json.loads(manifest_path.read_text(encoding="utf-8"))
            if previous != manifest:
                raise RecipeError(f"--resume: the recipe or the input changed since the interrupted run in "
                                  f"{self.work}; use --overwrite to start again")
        else:
            write_json(manifest, manifest_path)

        ctx = _Context(self.stages, self.recipe.input["text_field"], self.recipe.input["format"], self.work,
                       strict=self.strict)
        part_stats: list[dict[str, StepStats]] = []
        read_counts = self.read_counts = Counter()
        with make_executor(self.recipe.executor["type"], workers=self.workers, context=ctx) as executor:
            n_parts = 0
            for stage in self.stages:
                (self.work / f"s{stage.index}").mkdir(exist_ok=True)
                if stage.index == 0:
                    tasks = self._read_tasks(files, read_counts)
                else:  # the workers read the drops of their part that the previous stage's fit wrote
                    tasks = ((stage.index, p, None) for p in range(n_parts))
                stage_results = self._map(executor, tasks, stage)
                part_stats.extend(stage_results)
                if stage.index == 0:
                    n_parts = len(stage_results)
                if stage.global_step is not None:
                    part_stats.append(self._fit(stage, n_parts))

            totals = merge(part_stats)
            self._publish(files, inputs, totals, read_counts, n_parts, started)
        return RunResult(self.out, json.loads((self.out / "stats.json").read_text(encoding="utf-8")))

    # -- stage 0 input ---------------------------------------------------------------------------------
    def _read_tasks(self, files: list[Path] | str, read_counts: Counter) -> Iterator[tuple]:
        """Cut the input into parts. Plain-text JSONL travels as raw lines, parsed in the workers; plain-text
        Parquet as row ranges (parts of their own), read by the workers."""
        cfg = self.recipe.input
        batch_size, batch_bytes = self.recipe.executor["batch_size"], self.recipe.executor["batch_bytes"]
        cut_parquet = None
        if cfg["format"] == "text":
            cut_parquet = functools.partial(parquet_parts, text_field=cfg["text_field"], batch_size=batch_size,
                                            batch_bytes=batch_bytes)
        items = iter_items(files, hf_split=cfg["split"], cut_parquet=cut_parquet)
        if cfg["format"] != "text":  # conversions may span records (OASST trees): done here, in order
            items = validate(items, text_field=cfg["text_field"], fmt=cfg["format"], oasst_paths=cfg["oasst_paths"])
        part, chunk, size = 0, [], 0
        for item in items:
            if isinstance(item, ParquetRows):
                if chunk:
                    yield self._task0(part, chunk)
                    part, chunk, size = part + 1, [], 0
                yield self._task0(part, item)
                part += 1
                continue
            if self.strict:
                checked = next(validate([item], text_field=cfg["text_field"])) if cfg["format"] == "text" else item
                if isinstance(checked, Bad):
                    raise _strict_error(checked)
            chunk.append(item)
            size += _size(item, cfg["text_field"])
            if len(chunk) >= batch_size or size >= batch_bytes:
                yield self._task0(part, chunk)
                part, chunk, size = part + 1, [], 0
        if chunk or part == 0:
            yield self._task0(part, chunk)

    def _task0(self, part: int, chunk: list | ParquetRows) -> tuple:
        if self._done(0, part):
            return (0, part, "done")
        return (0, part, chunk)

    def _done(self, stage: int, part: int) -> bool:
        return self.resume and (self.work / f"s{stage}" / f"p{part:05d}.done.json").exists()

    def _map(self, executor: Any, tasks: Iterator[tuple], stage: Stage) -> list[dict[str, StepStats]]:
        labels = [lbl for lbl, _ in stage.steps] + ([stage.global_step[0]] if stage.global_step else [])
        desc = f"stage {stage.index + 1}/{len(self.stages)}" + (f": {', '.join(labels)}" if labels else "")
        bar = _progress(desc, self.progress)
        results = []
        try:
            for res in _guard(executor.map(_run_part, self._skip_done(tasks, stage.index))):
                if "strict_error" in res:
                    raise InputError(res["strict_error"])
                results.append({k: StepStats.from_dict(k, v) for k, v in res["steps"].items()})
                self.read_counts.update(res.get("read", {}))
                bar.update(res["records_in"])
        finally:
            bar.close()
        return results

    def _skip_done(self, tasks: Iterator[tuple], stage: int) -> Iterator[tuple]:
        for task in tasks:
            if task[2] == "done" or (stage > 0 and self._done(stage, task[1])):
                yield (stage, task[1], "done")
            else:
                yield task

    # -- global steps ----------------------------------------------------------------------------------
    def _fit(self, stage: Stage, n_parts: int) -> dict[str, StepStats]:
        """Fit the stage's global step and write its drops part by part (``pNNNNN.drops.pkl``, parts with
        drops only), then ``fitted.json`` with its stats: the main process never holds the drops of all
        parts while the next stage runs."""
        label, step = stage.global_step  # type: ignore[misc]
        folder = self.work / f"s{stage.index}"
        stats_path = folder / "fitted.json"
        if stats_path.exists():
            return {label: StepStats.from_dict(label, json.loads(stats_path.read_text(encoding="utf-8")))}
        for stale in folder.glob("p*.drops.pkl"):
            stale.unlink()
        scratch = folder / "scratch"
        if scratch.exists():
            shutil.rmtree(scratch)
        scratch.mkdir()
        step.text_field = self.recipe.input["text_field"]
        t0 = time.perf_counter()
        indexes = ((p, _load_pickle(folder / f"p{p:05d}.index.pkl")) for p in range(n_parts))
        try:
            decisions = step.fit(indexes, scratch) or {}
        except Exception as exc:
            raise RunError(f"step {label}: fit failed: {type(exc).__name__}: {exc}") from exc
        shutil.rmtree(scratch, ignore_errors=True)
        stats = StepStats(label, seconds=time.perf_counter() - t0, metrics=Counter(step.drain_metrics()))
        for part in sorted(decisions):
            if decisions[part]:
                _dump_pickle(decisions[part], _drops_path(self.work, stage.index, part))
        del decisions
        write_json(stats.to_dict(), stats_path)
        return {label: stats}

    # -- publishing ------------------------------------------------------------------------------------
    def _publish(self, files, inputs, totals: dict[str, StepStats], read_counts: Counter, n_parts: int,
                 started: float) -> None:
        staging = self.work / "publish"
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir()
        last = self.stages[-1].index
        shard_rows = self.recipe.output["shard_rows"]
        data_files = write_shards((self.work / f"s{last}" / f"p{p:05d}.parquet" for p in range(n_parts)),
                                  staging / "data", "train", max_rows=shard_rows)
        rejected_parts = [self.work / f"s{s.index}" / f"p{p:05d}.rejected.parquet"
                          for s in self.stages for p in range(n_parts)]
        rejected_files = write_shards((p for p in rejected_parts if p.exists()), staging / "rejected", "rejected",
                                      max_rows=shard_rows, last_columns=REJECT_COLUMNS)
        kept = sum(pq.read_metadata(staging / "data" / f).num_rows for f in data_files)
        rejected = sum(pq.read_metadata(staging / "rejected" / f).num_rows for f in rejected_files)
        stats = self._stats(inputs, totals, read_counts, kept, rejected, data_files, rejected_files, started)
        languages = _languages(staging / "data", data_files)
        if languages:
            stats["languages"] = languages
        write_json(stats, staging / "stats.json")
        if self.recipe.reports:
            from instructkit.reports import run_report

            stats["reports"] = {name: run_report(name, staging, stats, params) for name, params in self.recipe.reports}
            write_json(stats, staging / "stats.json")
        from instructkit.card import render_card

        (staging / "README.md").write_text(render_card(stats), encoding="utf-8")
        old = None
        if self.out.exists():
            old = self.out.with_name(self.out.name + ".old")
            if old.exists():
                shutil.rmtree(old)
            os.rename(self.out, old)
        os.rename(staging, self.out)
        shutil.rmtree(self.work, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def _stats(self, inputs, totals, read_counts, kept, rejected, data_files, rejected_files, started) -> dict:
        steps = []
        for label, step in self.recipe.steps:
            s = totals.get(label, StepStats(label))
            steps.append({"step": label, "name": type(step).name, "kind": _kind(step), "params": step.get_params(),
                          **s.to_dict()})
        dropped_by_step = {READ: read_counts["unreadable"]} if read_counts["unreadable"] else {}
        for entry in steps:
            if entry["dropped_total"]:
                dropped_by_step[entry["step"]] = entry["dropped_total"]
        finished = time.time()
        return {
            "instructkit_version": _version(),
            "name": self.recipe.name,
            "recipe": self.recipe.resolved(),
            "recipe_fingerprint": self.recipe.fingerprint(),
            "inputs": inputs,
            "packages": _package_versions(),
            "steps": steps,
            "read": {"records_read": read_counts["read"], "records_unreadable": read_counts["unreadable"]},
            "totals": {
                "records_in": read_counts["read"] + read_counts["unreadable"],
                "records_kept": kept,
                "records_rejected": rejected,
                "dropped_by_step": dropped_by_step,
            },
            "output": {"data": [f"data/{f}" for f in data_files], "rejected": [f"rejected/{f}" for f in rejected_files]},
            "started_at": dt.datetime.fromtimestamp(started, dt.timezone.utc).isoformat(timespec="seconds"),
            "finished_at": dt.datetime.fromtimestamp(finished, dt.timezone.utc).isoformat(timespec="seconds"),
            "wall_seconds": round(finished - started, 3),
        }


class _AlreadyDone(Exception):
    pass


def _strict_error(bad: Bad) -> InputError:
    return InputError(bad.reason.split(":", 1)[1] + "  (--strict stops at the first bad record)")


def _guard(results: Iterator[Any]) -> Iterator[Any]:
    from concurrent.futures.process import BrokenProcessPool

    try:
        yield from results
    except BrokenProcessPool as exc:
        raise RunError("a worker process died (out of memory, killed, or could not start). In a Python script, "
                       "call Pipeline.run() under `if __name__ == \"__main__\":`, or pass workers=1") from exc


# -- the worker side -----------------------------------------------------------------------------------
def _run_part(ctx: _Context, task: tuple) -> dict[str, Any]:
    """Run one stage over one part; writes the part's files, the ``done`` marker last."""
    stage_index, part, payload = task
    stage = ctx.stages[stage_index]
    folder = ctx.work / f"s{stage_index}"
    done = folder / f"p{part:05d}.done.json"
    if payload == "done":
        return json.loads(done.read_text(encoding="utf-8"))

    stats: dict[str, StepStats] = {}
    rejected: list[pa.Table] = []
    read = Counter()
    if stage_index == 0:
        if isinstance(payload, ParquetRows):
            batch, bads = read_parquet_rows(payload, ctx.text_field)
        else:
            records, bads = [], []
            items = validate(payload, text_field=ctx.text_field) if ctx.fmt == "text" else payload
            for item in items:
                (bads if isinstance(item, Bad) else records).append(item if isinstance(item, Bad) else item.data)
            batch = to_table(records) if records else pa.table({})
            del records
        if bads and ctx.strict:  # the main process checked what it read; Parquet rows are checked here
            return {"strict_error": str(_strict_error(bads[0]))}
        read.update(read=batch.num_rows, unreadable=len(bads))
        if bads:
            rejected.append(_read_rejects(bads))
    else:
        batch = pq.read_table(ctx.work / f"s{stage_index - 1}" / f"p{part:05d}.parquet")
        drops = _drops_path(ctx.work, stage_index - 1, part)
        batch = _apply_decisions(stage.applies, batch, _load_pickle(drops) if drops.exists() else {}, stats, rejected)
    records_in = batch.num_rows + read["unreadable"]

    for label, step in stage.steps:
        batch = _apply_step(ctx, label, step, batch, part, stats, rejected)
    if stage.global_step is not None:
        label, step = stage.global_step
        _ready(ctx, label, step)
        t0 = time.perf_counter()
        index = step.index(batch) if batch.num_rows else None
        _dump_pickle(index, folder / f"p{part:05d}.index.pkl")
        stats[label] = stats.get(label, StepStats(label)) + StepStats(
            label, seconds=time.perf_counter() - t0, metrics=Counter(step.drain_metrics()))

    write_parquet(batch, folder / f"p{part:05d}.parquet")
    if rejected:
        write_parquet(_concat(rejected), folder / f"p{part:05d}.rejected.parquet")
    result = {"records_in": records_in, "read": dict(read), "steps": {k: v.to_dict() for k, v in stats.items()}}
    write_json(result, done)
    return result


def _ready(ctx: _Context, label: str, step: Step) -> None:
    if label not in ctx.ready:
        step.text_field = ctx.text_field
        step.setup()
        ctx.ready.add(label)


def _apply_step(ctx: _Context, label: str, step: Step, batch: pa.Table, part: int,
                stats: dict[str, StepStats], rejected: list[pa.Table]) -> pa.Table:
    s = StepStats(label, records_in=batch.num_rows)
    if batch.num_rows:
        _ready(ctx, label, step)
        t0 = time.perf_counter()
        try:
            if isinstance(step, Filter):
                batch = step.annotate(batch)
                reasons = step.check(batch)
                if len(reasons) != batch.num_rows:
                    raise RunError(f"gave {len(reasons)} decisions for {batch.num_rows} records")
                batch = _split(label, batch, reasons, s, rejected)
            elif isinstance(step, Mapper):
                n = batch.num_rows
                batch = step.apply(batch)
                if batch.num_rows != n and not step.expands:
                    raise RunError(f"returned {batch.num_rows} records for {n} (a Mapper keeps the row count)")
        except Exception as exc:
            raise RunError(f"step {label} failed on part {part}: {type(exc).__name__}: {exc}") from exc
        s.seconds = time.perf_counter() - t0
        s.metrics.update(step.drain_metrics())
    s.records_out = batch.num_rows
    stats[label] = stats[label] + s if label in stats else s
    return batch


def _split(label: str, batch: pa.Table, reasons: list[str | None], s: StepStats,
           rejected: list[pa.Table]) -> pa.Table:
    keep = pa.array([r is None for r in reasons], pa.bool_())
    if all(r is None for r in reasons):
        return batch
    dropped_reasons = [r for r in reasons if r is not None]
    for r in dropped_reasons:
        s.dropped[reason_code(r)] += 1
    dropped = batch.filter(pc.invert(keep))
    dropped = dropped.append_column("drop_step", pa.array([label] * len(dropped_reasons), pa.string()))
    dropped = dropped.append_column("drop_reason", pa.array(dropped_reasons, pa.string()))
    rejected.append(dropped)
    return batch.filter(keep)


def _apply_decisions(label: str | None, batch: pa.Table, drops: dict[int, str], stats: dict[str, StepStats],
                     rejected: list[pa.Table]) -> pa.Table:
    if label is None:
        return batch
    s = StepStats(label, records_in=batch.num_rows)
    batch = _split(label, batch, [drops.get(i) for i in range(batch.num_rows)], s, rejected)
    s.records_out = batch.num_rows
    stats[label] = s
    return batch


def _languages(folder: Path, files: list[str]) -> dict[str, int]:
    """Kept records per language, when a step annotated ``language`` (for the card's metadata)."""
    counts: Counter = Counter()
    for name in files:
        pf = pq.ParquetFile(folder / name)
        if "language" not in pf.schema_arrow.names:
            return {}
        for batch in pf.iter_batches(columns=["language"], batch_size=65536):
            counts.update(v for v in batch.column(0).to_pylist() if isinstance(v, str) and v != "und")
    return dict(counts.most_common())


def _size(item: Any, text_field: str) -> int:
    if isinstance(item, RawLine):
        return len(item.raw)
    if isinstance(item, Record):
        text = item.data.get(text_field)
        return len(text) if isinstance(text, str) else 256
    return 256


def _read_rejects(bads: list[Bad]) -> pa.Table:
    return pa.table({
        "drop_step": pa.array([READ] * len(bads), pa.string()),
        "drop_reason": pa.array([b.reason for b in bads], pa.string()),
        "source_file": pa.array([b.file for b in bads], pa.string()),
        "source_line": pa.array([b.line for b in bads], pa.int64()),
        "raw": pa.array([b.raw for b in bads], pa.string()),
    })


def _concat(tables: list[pa.Table]) -> pa.Table:
    schema = unify_schema([t.schema for t in tables])
    return pa.concat_tables([conform(t, schema) for t in tables])


def _load_pickle(path: Path) -> Any:
    with open(path, "rb") as fh:
        return pickle.load(fh)


def _dump_pickle(obj: Any, path: Path) -> None:
    """Write ``obj`` to ``path`` atomically."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


def _drops_path(work: Path, stage: int, part: int) -> Path:
    """Where the fit of stage ``stage``'s global step puts part ``part``'s drops ``{row: reason}``."""
    return work / f"s{stage}" / f"p{part:05d}.drops.pkl"


def _kind(step: Step) -> str:
    from instructkit.steps.base import kind_of

    return kind_of(type(step))


def _progress(desc: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(desc=desc, unit=" rec", disable=not enabled, file=sys.stderr, dynamic_ncols=True)


def _version() -> str:
    from instructkit import __version__

    return __version__


def _package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("instructkit", "pyarrow", "polars", "datasets", "langdetect", "datasketch", "jieba", "ftfy",
                 "py3langid", "rensa", "sentence-transformers", "transformers", "trl", "torch"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out
