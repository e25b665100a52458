"""render_template: library and recipe templates, seeded choice, constraints, few-shot, sandbox."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pyarrow as pa
import pytest

from instructkit.errors import RecipeError
from instructkit.steps.templates import RenderTemplate, check_template, tasks
from instructkit.text import tokens

DATA = Path(__file__).parent / "data" / "instructions"


@pytest.fixture(scope="module")
def labelled() -> pa.Table:
    with open(DATA / "chatterbot.jsonl", encoding="utf-8") as fh:
        convs = [json.loads(line) for line in fh]
    rows = [{"id": c["id"], "question": c["turns"][0], "answer": c["turns"][1], "topic": c["category"],
             "lang": c["lang"]} for c in convs if len(c["turns"]) == 2]
    return pa.Table.from_pylist(rows)


def render(table: pa.Table, **params) -> list[dict]:
    step = pickle.loads(pickle.dumps(RenderTemplate.from_params(params)))
    out = step.apply(table)
    assert out.num_rows == table.num_rows
    assert set(table.column_names) <= set(out.column_names)
    return out.to_pylist()


def test_library_has_every_task_in_english_and_chinese():
    assert tasks() == ["classification", "extraction", "qa", "summarisation", "translation"]
    for task in tasks():
        for lang in ("en", "zh"):
            RenderTemplate(task=task, language=lang, constraints=["length", "tone", "format"], few_shot=2)


def test_qa_templates_per_language_are_seeded_and_stable(labelled):
    rows = render(labelled, task="qa", language_field="lang")
    for row in rows:
        user, assistant = row["messages"]
        assert assistant == {"role": "assistant", "content": row["answer"]}
        assert row["question"] in user["content"]
        assert row["template"].startswith(f"qa.{row['lang']}.")
    zh = next(r for r in rows if r["lang"] == "zh" and r["template"] != "qa.zh.0")
    assert any(w in zh["messages"][0]["content"] for w in ("请", "问题"))
    assert len({r["template"] for r in rows}) == 8  # 4 templates x 2 languages, drawn for diversity
    again = render(labelled.slice(3).combine_chunks(), task="qa", language_field="lang")
    assert [r["template"] for r in again] == [r["template"] for r in rows[3:]]  # by record, not position
    other_seed = render(labelled, task="qa", language_field="lang", seed=7)
    assert [r["template"] for r in other_seed] != [r["template"] for r in rows]


def test_constraints_hold_for_the_response(labelled):
    rows = render(labelled, task="qa", language_field="lang", constraints=["length", "tone"])
    for row in rows:
        prompt = row["messages"][0]["content"]
        limit = int("".join(ch for ch in prompt.rsplit("\n\n", 1)[1].split("。")[0] if ch.isdigit()))
        assert len(tokens(row["answer"])) <= limit, row
        assert "+length." in row["template"] and "+tone." in row["template"]


def test_classification_with_options_and_few_shot(labelled):
    options = sorted(set(labelled.column("topic").to_pylist()))
    rows = render(labelled, task="classification", language="en", language_field="lang", constraints=["format"],
                  fields={"text": "question", "label": "topic"}, variables={"options": options}, few_shot=2)
    en = [r for r in rows if r["lang"] == "en"]
    for row in en:
        prompt = row["messages"][0]["content"]
        assert row["messages"][1]["content"] == row["topic"]
        assert prompt.startswith("Here are some labelled examples:\n\nExample 1:\n")
        assert "Example 2:" in prompt and ", ".join(options) in prompt
        assert row["template"].endswith("+few_shot.2")
    assert render(labelled, task="classification", language="en", language_field="lang", constraints=["format"],
                  fields={"text": "question", "label": "topic"}, variables={"options": options},
                  few_shot=2) == rows


def test_recipe_templates_with_a_system_prompt(labelled):
    rows = render(labelled.slice(0, 3), instructions=["Q: {{ question | trim }}"], response="{{ answer }}",
                  system="You are a helpful assistant.")
    assert [m["role"] for m in rows[0]["messages"]] == ["system", "user", "assistant"]
    assert rows[0]["messages"][1]["content"] == "Q: " + rows[0]["question"].strip()
    with pytest.raises(KeyError, match="uses a field the records lack"):
        render(labelled.slice(0, 1), instructions=["{{ prompt }}"], response="{{ answer }}")


@pytest.mark.parametrize("source, what", [
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "'__class__'"),
    ("{{ question.__class__ }}", "'__class__'"),
    ("{{ cycler.__init__.__globals__.os.popen('id').read() }}", "'__init__'"),
    ("{{ lipsum.__globals__['os'] }}", "'__globals__'"),
    ("{{ question['__class__'] }}", "'__class__'"),
    ("{{ question | attr('__class__') }}", "'attr' filter"),
    ("{% include '/etc/passwd' %}", "include is not allowed"),
    ("{{ _private }}", "'_private'"),
    ("{% for x in %}", "invalid Jinja syntax"),
])
def test_sandbox_rejects_escapes_before_running(source, what, labelled, tmp_path, monkeypatch):
    with pytest.raises(RecipeError, match=what):
        RenderTemplate.from_params({"instructions": [source], "response": "{{ answer }}"})
    with pytest.raises(ValueError, match=what):
        check_template(source)


def test_sandbox_stops_what_the_static_check_cannot_see(labelled):
    step = RenderTemplate(instructions=["{{ question[key] }}"], response="{{ answer }}",
                          variables={"key": "__class__"})
    with pytest.raises(ValueError, match="stopped by the sandbox"):
        step.apply(labelled.slice(0, 1))
    step = RenderTemplate(instructions=["{{ answer.upper() }}"], response="{{ answer }}")
    assert step.apply(labelled.slice(0, 1)).column("messages").to_pylist()[0][0]["content"].isupper()


def test_manual_instructions_recipe(tmp_path):
    import pyarrow.parquet as pq
    from conftest import REPO, run_cli

    out = tmp_path / "out"
    proc = run_cli("curate", str(REPO / "recipes" / "manual-instructions.yaml"), "--output", str(out), check=True)
    assert "kept 975 of 1,319 records" in proc.stdout
    data = pa.concat_tables([pq.read_table(f) for f in sorted((out / "data").glob("*.parquet"))]).to_pylist()
    assert {r["lang"] for r in data} == {"en", "zh"}
    for r in data:
        assert r["template"].startswith(f"qa.{r['lang']}.") and "+length." in r["template"]
        assert r["messages"][1]["content"] == r["answer"]


def test_translation_from_the_parallel_corpus():
    """chatterbot-corpus's Chinese science file translates the English one line by line."""
    with open(DATA / "chatterbot.jsonl", encoding="utf-8") as fh:
        convs = {c["id"]: c for c in map(json.loads, fh)}
    rows = [{"id": f"science-{n}", "source": convs[f"zh-science-{n}"]["turns"][0],
             "target": convs[f"en-science-{n}"]["turns"][0]} for n in range(4)]
    out = render(pa.Table.from_pylist(rows), task="translation", language="zh",
                 variables={"source_language": "中文", "target_language": "英文"}, constraints=["format"])
    first = out[3]
    assert first["source"] == "什么是热力学" and first["messages"][1]["content"] == "what is thermodynamics"
    assert "英文" in first["messages"][0]["content"] and first["messages"][0]["content"].endswith("只输出译文。")
