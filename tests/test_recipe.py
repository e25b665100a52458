"""Recipes are validated entirely before any data is read; errors name the step, key and expected type."""

from __future__ import annotations

import pytest
from conftest import run_cli, write_recipe

from instructkit import Pipeline, load_recipe
from instructkit.errors import RecipeError

GOOD = """
name: t
input: {path: "sample:quickstart"}
steps:
  - clean: {}
  - exact_dedup: {normalize: true}
output: {path: out}
"""


def test_good_recipe_builds_named_steps():
    recipe = load_recipe(__import__("yaml").safe_load(GOOD))
    assert [label for label, _ in recipe.steps] == ["clean", "exact_dedup"]
    assert recipe.input["text_field"] == "text"
    assert recipe.steps[1][1].normalize is True


@pytest.mark.parametrize("steps, message", [
    ("- cleen: {}", "unknown step 'cleen' (did you mean 'clean'?)"),
    ("- clean: {unicode_fom: NFC}", "step 1 (clean): unknown parameter 'unicode_fom' (did you mean 'unicode_form'?)"),
    ("- clean: {whitespace: 'yes'}", "step 1 (clean): parameter 'whitespace' expects bool, got str 'yes'"),
    ("- clean: {unicode_form: NFD}", "parameter 'unicode_form' expects one of 'NFC', 'NFKC', 'none'"),
    ("- clean: [1, 2]", "step 1 (clean): parameters must be a mapping"),
    ("- {clean: {}, exact_dedup: {}}", "step 1: write each step as `- step_name: {param: value}`"),
])
def test_bad_steps_are_named(steps, message):
    import yaml

    raw = yaml.safe_load(GOOD.replace("  - clean: {}\n  - exact_dedup: {normalize: true}", "  " + steps))
    with pytest.raises(RecipeError) as err:
        load_recipe(raw)
    assert message in str(err.value)


def test_unknown_top_level_and_section_keys():
    import yaml

    raw = yaml.safe_load(GOOD)
    raw["stepz"] = raw.pop("steps")
    with pytest.raises(RecipeError, match="unknown key 'stepz' \\(did you mean 'steps'\\?\\)"):
        load_recipe(raw)
    raw = yaml.safe_load(GOOD)
    raw["input"]["text_feild"] = "body"
    with pytest.raises(RecipeError, match="unknown key input.text_feild \\(did you mean 'text_field'\\?\\)"):
        load_recipe(raw)


def test_overrides_are_checked_like_the_recipe():
    import yaml

    raw = yaml.safe_load(GOOD)
    recipe = load_recipe(raw, overrides=["exact_dedup.normalize=false", "input.text_field=body"])
    assert recipe.steps[1][1].normalize is False and recipe.input["text_field"] == "body"
    with pytest.raises(RecipeError, match="parameter 'normalize' expects bool, got str 'maybe'"):
        load_recipe(raw, overrides=["exact_dedup.normalize=maybe"])
    with pytest.raises(RecipeError, match="no step 'minhash'"):
        load_recipe(raw, overrides=["minhash.threshold=0.5"])


def test_cli_exit_code_2_and_nothing_written(tmp_path):
    recipe = write_recipe(tmp_path / "r.yaml", GOOD.replace("- clean: {}", "- clean: {whitespace: 3}"))
    proc = run_cli("curate", str(recipe), cwd=tmp_path)
    assert proc.returncode == 2
    assert "step 1 (clean): parameter 'whitespace' expects bool, got int 3" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.yaml"]


def test_cli_missing_input_is_a_recipe_error(tmp_path):
    recipe = write_recipe(tmp_path / "r.yaml", GOOD.replace('"sample:quickstart"', "nowhere/*.jsonl"))
    proc = run_cli("curate", str(recipe), cwd=tmp_path)
    assert proc.returncode == 2 and "matches no readable file" in proc.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()


def test_validate_and_steps_commands(tmp_path):
    recipe = write_recipe(tmp_path / "r.yaml", GOOD)
    proc = run_cli("validate", str(recipe), cwd=tmp_path)
    assert proc.returncode == 0 and "ok — 2 steps, 1 input file(s)" in proc.stdout
    proc = run_cli("steps")
    assert proc.returncode == 0
    assert "exact_dedup (global)" in proc.stdout and "    normalize: bool, default True" in proc.stdout


def test_python_api_composes_steps_in_code(tmp_path, quickstart_records):
    from instructkit.steps import Clean, ExactDedup

    pipe = Pipeline([Clean(), ExactDedup()])
    assert [label for label, _ in pipe.steps] == ["clean", "exact_dedup"]
    assert len(pipe.stages()) == 2
    with pytest.raises(RecipeError, match="no input"):
        pipe.run(output=tmp_path / "o")


def test_plan_prints_stages_and_estimates_without_running(tmp_path):
    recipe = write_recipe(tmp_path / "r.yaml", GOOD.replace("- exact_dedup: {normalize: true}",
                                                            "- minhash_dedup: {}\n  - exact_dedup: {}"))
    proc = run_cli("curate", str(recipe), "--plan", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "stage 1: clean → minhash_dedup (index)" in out and "stage 2: exact_dedup (index)" in out
    assert "peak_memory_bytes" in out and "disk_bytes" in out and "MiB per worker process" in out
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()


@pytest.mark.parametrize(("yaml_text", "missing", "extra"), [
    ("steps: [{html_to_text: {}}]", "trafilatura", "html"),
    ("steps: [{html_to_text: {extractor: selectolax}}]", "selectolax", "html"),
    ("steps: [{semantic_dedup: {}}]", "sentence_transformers", "semantic"),
    ("steps: [{language_id: {backend: lingua}}]", "lingua", "lingua"),
    ("steps: [{clean: {}}]\nexecutor: {type: ray}", "ray", "ray"),
])
def test_a_missing_extra_is_a_recipe_error_naming_it(tmp_path, monkeypatch, yaml_text, missing, extra):
    """Without the optional library a step needs, the recipe fails to load (exit 2, nothing read), naming the
    extra to install, instead of failing mid-run."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == missing else real(name, *a))
    recipe = write_recipe(tmp_path / "r.yaml", "input: {path: sample:quickstart}\n" + yaml_text + "\n")
    with pytest.raises(RecipeError, match=rf"needs {missing}, which is not installed: pip install 'instructkit\[{extra}\]'"):
        load_recipe(recipe)


def test_a_missing_extra_stops_a_pipeline_built_in_python_before_reading(tmp_path, monkeypatch):
    import importlib.util

    from instructkit.steps import HtmlToText

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "trafilatura" else real(name, *a))
    with pytest.raises(RecipeError, match=r"step html_to_text: needs trafilatura.*instructkit\[html\]"):
        Pipeline([HtmlToText()]).run(input="sample:quickstart", output=tmp_path / "out", workers=1)
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()
