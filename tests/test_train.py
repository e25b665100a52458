"""instructkit.train: SFT (full and LoRA) with TRL on curated samples, evaluation, raw-vs-curated comparison,
training recipes and the train/bench commands. A tiny from-config Llama, CPU, seeded."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

pytest.importorskip("trl")
pytest.importorskip("peft")

from click.testing import CliRunner  # noqa: E402

from instructkit import samples  # noqa: E402
from instructkit.errors import RecipeError  # noqa: E402
from instructkit.pipeline import Pipeline  # noqa: E402
from instructkit.train import data as D  # noqa: E402
from instructkit.train.cli import bench as bench_cmd  # noqa: E402
from instructkit.train.cli import train as train_cmd  # noqa: E402
from instructkit.train.recipe import load_train_recipe  # noqa: E402
from instructkit.train.sft import EvalSettings, LoraSettings, TrainConfig, train  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "recipes"
ALPACA = ROOT / "instructkit" / "samples" / "instructions" / "chatterbot-alpaca.jsonl.gz"


def _subset(src: Path, dst: Path, n: int) -> Path:
    with gzip.open(src, "rt", encoding="utf-8") as fin, gzip.open(dst, "wt", encoding="utf-8") as fout:
        for i, line in enumerate(fin):
            if i >= n:
                break
            fout.write(line)
    return dst


@pytest.fixture(scope="module")
def quickstart_subset(tmp_path_factory) -> Path:
    """The first 700 records of the shipped English+Chinese quickstart sample (ANSI escapes and repeats kept)."""
    root = tmp_path_factory.mktemp("qs")
    return _subset(samples.path("quickstart"), root / "quickstart-700.jsonl.gz", 700)


@pytest.fixture(scope="module")
def curated_text(tmp_path_factory, quickstart_subset) -> Path:
    out = tmp_path_factory.mktemp("curated") / "quickstart"
    Pipeline.from_recipe(RECIPES / "quickstart.yaml", input=str(quickstart_subset), output=str(out)).run(
        workers=1, progress=False)
    return out


@pytest.fixture(scope="module")
def curated_messages(tmp_path_factory) -> Path:
    """The chatterbot-corpus instruction sample imported from Alpaca into conversations, deduplicated."""
    from instructkit.steps import ExactDedup

    out = tmp_path_factory.mktemp("curated") / "chatterbot"
    Pipeline([ExactDedup()], format="alpaca", text_field="messages").run(input=str(ALPACA), output=str(out),
                                                                        workers=1, progress=False)
    return out


def _weights(path: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path))


@pytest.fixture(scope="module")
def sft_run(curated_text, tmp_path_factory):
    cfg = TrainConfig(data=curated_text, output_dir=tmp_path_factory.mktemp("sft") / "run", model="tiny",
                      max_steps=30, batch_size=8, max_length=64, learning_rate=3e-3, seed=0,
                      eval=EvalSettings(fraction=0.1, max_records=60))
    return train(cfg)


@pytest.mark.slow
def test_full_sft_on_curated_text_lowers_eval_loss(sft_run, curated_text):
    res = sft_run
    assert res.kind == "text" and res.mode == "full" and res.loss_on == "all_tokens"
    assert res.steps == 30
    assert res.train_tokens == 30 * 8 * 64  # packed blocks: the token budget is exact
    assert res.trainable_parameters == res.total_parameters
    assert res.eval_after["loss"] < res.eval_before["loss"] - 0.3, (res.eval_before, res.eval_after)
    assert {"en", "zh"} <= set(res.eval_after["by_lang"])
    for lang in ("en", "zh"):
        assert res.eval_after["by_lang"][lang]["loss"] < res.eval_before["by_lang"][lang]["loss"]
    held = json.loads((res.output_dir / "train_result.json").read_text(encoding="utf-8"))
    assert held["eval_after"]["loss"] == res.eval_after["loss"]
    # the saved model directory loads through the ordinary from_pretrained path and, on the records training
    # held out (same fraction, seed, max_records), scores what training reported
    from instructkit.train.bench import evaluate

    report = evaluate([str(res.model_dir)], curated_text, max_records=60, max_length=64, held_out=(0.1, 0))
    assert report["eval_examples"] == res.eval_examples == 60
    assert report["models"][str(res.model_dir)]["loss"] == pytest.approx(res.eval_after["loss"], abs=1e-3)


@pytest.mark.slow
def test_lora_on_a_local_model_directory(sft_run, curated_messages, tmp_path):
    """The real loading path: a model directory (here the one full SFT wrote) as the LoRA base."""
    base_dir = sft_run.model_dir
    cfg = TrainConfig(data=curated_messages, output_dir=tmp_path / "lora", model=str(base_dir), max_steps=5,
                      batch_size=4, max_length=64, seed=0, lora=LoraSettings(r=2, alpha=4),
                      eval=EvalSettings(fraction=0.1, max_records=20))
    res = train(cfg)
    assert res.mode == "lora" and res.steps == 5 and res.extra["base_parameters_changed"] == 0
    assert not (tmp_path / "lora" / "base").exists()  # the base is the directory itself
    adapter_cfg = json.loads((tmp_path / "lora" / "adapter" / "adapter_config.json").read_text())
    assert adapter_cfg["base_model_name_or_path"] == str(base_dir)
    base = _weights(base_dir / "model.safetensors")
    merged = _weights(tmp_path / "lora" / "model" / "model.safetensors")
    assert bool((merged["model.embed_tokens.weight"] == base["model.embed_tokens.weight"]).all())
    assert not bool((merged["model.layers.0.self_attn.q_proj.weight"] ==
                     base["model.layers.0.self_attn.q_proj.weight"]).all())


@pytest.mark.slow
def test_lora_trains_only_the_adapter(curated_messages, tmp_path):
    cfg = TrainConfig(data=curated_messages, output_dir=tmp_path / "lora", model="tiny", max_steps=20,
                      batch_size=8, max_length=64, learning_rate=5e-3, seed=0,
                      lora=LoraSettings(r=4, alpha=8, target_modules=["q_proj", "v_proj"]),
                      eval=EvalSettings(fraction=0.1, max_records=60))
    res = train(cfg)
    assert res.kind == "messages" and res.mode == "lora" and res.loss_on == "assistant_tokens"
    assert res.trainable_parameters < res.total_parameters / 10
    assert res.extra["base_parameters_changed"] == 0
    assert res.eval_after["loss"] < res.eval_before["loss"]
    out = tmp_path / "lora"
    base = _weights(out / "base" / "model.safetensors")
    merged = _weights(out / "model" / "model.safetensors")
    adapter = _weights(out / "adapter" / "adapter_model.safetensors")
    lora_b = [v for k, v in adapter.items() if "lora_B" in k]
    assert lora_b and all(v.abs().sum() > 0 for v in lora_b)  # lora_B starts at zero: it was trained
    assert not any(k for k in adapter if "lora_" not in k)      # the adapter holds adapter weights only
    for name, tensor in base.items():
        same = bool((merged[name] == tensor).all())
        if name.endswith(("q_proj.weight", "v_proj.weight")):
            assert not same, name            # merged = base + B @ A
        else:
            assert same, name                # embeddings, k/o projections, MLP, norms untouched
    assert json.loads((out / "adapter" / "adapter_config.json").read_text())["base_model_name_or_path"] == \
        str((out / "base").absolute())


def test_assistant_only_eval_mask():
    from instructkit.train.tiny import build_tokenizer

    tok = build_tokenizer(["What is AI?", "Artificial Intelligence is a branch of science.", "你好，世界"],
                          vocab_size=400)
    conv = [{"role": "user", "content": "What is AI?"},
            {"role": "assistant", "content": "Artificial Intelligence is a branch of science."}]
    ids, mask, nbytes = D.encode_eval(tok, conv, 128)
    scored = tok.decode([t for t, m in zip(ids, mask, strict=True) if m])
    assert scored == "Artificial Intelligence is a branch of science.<|end|>"
    assert nbytes == len(b"Artificial Intelligence is a branch of science.")
    ids, mask, _ = D.encode_eval(tok, "你好，世界", 128)
    assert mask == [0] + [1] * (len(ids) - 1) and ids[-1] == tok.eos_token_id


def test_compare_report_has_both_models(quickstart_subset, tmp_path):
    from instructkit.train.bench import compare, prepare_compare

    raw_dir, cur_dir = prepare_compare(RECIPES / "quickstart.yaml", tmp_path / "data",
                                       input_path=str(quickstart_subset))
    cfg = TrainConfig(data="", output_dir=tmp_path / "cmp", model="tiny", max_steps=6, batch_size=4, max_length=32,
                      tiny={"vocab_size": 600}, eval=EvalSettings(fraction=0.1, max_records=40))
    report = compare(raw_dir, cur_dir, cfg)
    for name in ("raw", "curated"):
        run = report[name]
        assert run["steps"] == 6 and run["train_tokens"] == 6 * 4 * 32
        assert run["eval"]["loss"] > 0 and run["eval"]["tokens"] == report["untrained"]["tokens"]
        assert Path(run["model_dir"], "config.json").is_file()
    # raw keeps the repeats and ANSI-coloured copies that curation dropped
    assert report["raw"]["train_records"] > report["curated"]["train_records"]
    assert report["eval_examples"] == 40
    assert report["eval_loss_ratio_curated_over_raw"] == pytest.approx(
        report["curated"]["eval"]["loss"] / report["raw"]["eval"]["loss"], abs=1e-3)
    md = (tmp_path / "cmp" / "compare.md").read_text(encoding="utf-8")
    assert "| raw |" in md and "| curated |" in md and "| untrained |" in md
    assert json.loads((tmp_path / "cmp" / "compare.json").read_text(encoding="utf-8"))["raw"]["train_records"] == \
        report["raw"]["train_records"]


def test_split_keeps_every_copy_of_an_eval_record_out_of_training():
    recs = [{"id": f"r{i}", "text": f"Fortune number {i} says hello."} for i in range(200)]
    recs.append({"id": "dup", "text": "\x1b[32mFORTUNE number 7 says hello!\x1b[m"})  # a raw copy of r7
    train_recs, held = D.split(recs, "text", fraction=0.2, seed=0)
    assert 20 < len(held) < 60
    held_keys = {D.content_key(r["text"]) for r in held}
    assert not any(D.content_key(r["text"]) in held_keys for r in train_recs)
    if any(r["id"] == "r7" for r in held):
        assert not any(r["id"] == "dup" for r in train_recs)
    assert D.split(recs, "text", fraction=0.2, seed=0) == (train_recs, held)  # stable


# -- recipes ------------------------------------------------------------------------------------------------
def test_shipped_training_recipes_validate():
    sft = load_train_recipe(RECIPES / "train-sft.yaml")
    assert sft.config.lora is None and sft.config.model == "tiny" and sft.config.data == "out/quickstart"
    lora = load_train_recipe(RECIPES / "train-lora.yaml")
    assert lora.config.lora.r == 8 and lora.data_recipe == RECIPES / "instruction-dataset.yaml"
    assert Path(lora.config.data) == Path("out/train-lora/data")
    cmp = load_train_recipe(RECIPES / "bench-compare.yaml", kind="bench")
    assert cmp.compare["recipe"] == str(RECIPES / "quickstart.yaml") and cmp.models is None
    ev = load_train_recipe(RECIPES / "bench-eval.yaml", kind="bench")
    assert ev.models == ["out/train-sft/model"] and ev.config.eval.data == "out/quickstart"


@pytest.mark.parametrize("recipe, message", [
    ({"data": "d", "output_dir": "o", "max_step": 5}, "unknown key max_step (did you mean 'max_steps'?)"),
    ({"data": "d", "output_dir": "o", "lora": {"rank": 4}}, "unknown key lora.rank"),
    ({"data": "d", "output_dir": "o", "eval": {"fractoin": 0.2}}, "unknown key eval.fractoin"),
    ({"data": "d", "output_dir": "o", "tiny": {"layers": 2}}, "unknown key tiny.layers"),
    ({"data": "d", "output_dir": "o", "max_steps": "many"}, "max_steps expects int, got str 'many'"),
    ({"data": "d", "output_dir": "o", "lora": {"target_modules": "q_proj"}}, "lora.target_modules expects list[str]"),
    ({"data": "d", "output_dir": "o", "eval": {"fraction": 1.5}}, "eval.fraction must be between 0 and 1"),
    ({"output_dir": "o"}, "no data"),
    ({"data": "d"}, "no output_dir"),
    ({"data": "missing.yaml", "output_dir": "o"}, "curate recipe"),
])
def test_train_recipe_errors_name_the_key(recipe, message):
    with pytest.raises(RecipeError, match=None) as err:
        load_train_recipe(recipe)
    assert message in str(err.value)


def test_yaml_exponent_learning_rate_is_a_float():
    assert load_train_recipe({"data": "d", "output_dir": "o", "learning_rate": "3e-4"}).config.learning_rate == 3e-4


@pytest.mark.parametrize("recipe, message", [
    ({"output_dir": "o"}, "exactly one of"),
    ({"output_dir": "o", "models": ["m"], "compare": {"recipe": "x.yaml"}}, "exactly one of"),
    ({"output_dir": "o", "models": ["m"]}, "eval.data"),
    ({"output_dir": "o", "compare": {"recipe": "nope.yaml"}}, "not found"),
    ({"output_dir": "o", "compare": {"recipes": "x"}}, "unknown key compare.recipes (did you mean 'recipe'?)"),
])
def test_bench_recipe_errors(recipe, message):
    with pytest.raises(RecipeError) as err:
        load_train_recipe(recipe, kind="bench")
    assert message in str(err.value)


def test_commands_exit_codes(tmp_path):
    runner = CliRunner()
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: out/x\noutput_dir: o\nlearning_rat: 0.1\n", encoding="utf-8")
    res = runner.invoke(train_cmd, [str(bad)])
    assert res.exit_code == 2 and "unknown key learning_rat (did you mean 'learning_rate'?)" in res.output
    assert runner.invoke(train_cmd, [str(RECIPES / "train-sft.yaml"), "--check"]).exit_code == 0
    assert runner.invoke(bench_cmd, [str(RECIPES / "bench-compare.yaml"), "--check"]).exit_code == 0
    res = runner.invoke(bench_cmd, [str(RECIPES / "train-sft.yaml")])
    assert res.exit_code == 2 and "unknown key data" not in res.output and "exactly one of" in res.output
    # data that is not a curated output directory: nothing trained, exit 2
    res = runner.invoke(train_cmd, [str(RECIPES / "train-sft.yaml"), "--set", f"data={tmp_path}",
                                    "--output", str(tmp_path / "o")])
    assert res.exit_code == 2 and "not a curated output directory" in res.output


def test_unloadable_model_is_a_run_failure(curated_text, tmp_path):
    empty = tmp_path / "no-model"
    empty.mkdir()
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"model: {empty}\ndata: {curated_text}\noutput_dir: {tmp_path / 'o'}\n", encoding="utf-8")
    res = CliRunner().invoke(train_cmd, [str(recipe)])
    assert res.exit_code == 1 and "cannot load" in res.output


def test_train_command_curates_first_when_data_is_a_recipe(quickstart_subset, tmp_path):
    curate = tmp_path / "curate.yaml"
    curate.write_text(f"input: {{path: {quickstart_subset}}}\nsteps:\n  - clean: {{}}\n  - exact_dedup: {{}}\n"
                      "output: {path: unused}\n", encoding="utf-8")
    recipe = tmp_path / "train.yaml"
    recipe.write_text("model: tiny\ndata: curate.yaml\nmax_steps: 3\nbatch_size: 2\nmax_length: 32\n"
                      f"tiny: {{vocab_size: 400}}\noutput_dir: {tmp_path / 'run'}\neval: {{max_records: 10}}\n",
                      encoding="utf-8")
    res = CliRunner().invoke(train_cmd, [str(recipe)])
    assert res.exit_code == 0, res.output
    assert "full SFT on text (all_tokens), 3 steps, 192 tokens" in res.output
    stats = json.loads((tmp_path / "run" / "data" / "stats.json").read_text(encoding="utf-8"))
    assert stats["totals"]["records_in"] == 700 and stats["totals"]["dropped_by_step"].get("exact_dedup", 0) > 0
    assert (tmp_path / "run" / "model" / "config.json").is_file()
