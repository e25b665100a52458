"""Every registered step honours the step contract (run over the whole registry)."""

from __future__ import annotations

import pickle

import pyarrow as pa
import pytest
import yaml

from instructkit.docs import yaml_example
from instructkit.errors import RecipeError
from instructkit.steps.base import Filter, GlobalStep, Mapper, iter_steps

STEPS = dict(iter_steps())


def example_params(cls) -> dict:
    example = yaml_example(cls)
    assert example, f"{cls.__name__}'s docstring has no ```yaml example"
    entries = yaml.safe_load(example)
    assert isinstance(entries, list) and len(entries) == 1, "the example is one `- step: {params}` entry"
    ((name, params),) = entries[0].items()
    assert name == cls.name, f"the example names {name!r}, the step is {cls.name!r}"
    return params or {}


@pytest.fixture(scope="module")
def batch(quickstart_records) -> pa.Table:
    picked = [r for r in quickstart_records if r["lang"] == "en"][:12] + \
             [r for r in quickstart_records if r["lang"].startswith("zh")][:12]
    rows = []
    for r in picked:
        first, _, rest = r["text"].strip().partition("\n")
        rows.append({
            "id": r["id"], "text": r["text"], "lang": r["lang"], "source": r.get("source"),
            "messages": [{"role": "user", "content": first}, {"role": "assistant", "content": rest or first}],
        })
    return pa.Table.from_pylist(rows)


@pytest.mark.parametrize("name", sorted(STEPS))
def test_builds_from_its_yaml_example(name):
    cls = STEPS[name]
    step = cls.from_params(example_params(cls))
    assert step.get_params().keys() == cls.param_specs().keys()
    rebuilt = cls.from_params(step.get_params())
    assert rebuilt.get_params() == step.get_params()


@pytest.mark.parametrize("name", sorted(STEPS))
def test_rejects_unknown_parameter(name):
    cls = STEPS[name]
    params = {**example_params(cls), "no_such_parameter": 1}
    with pytest.raises(RecipeError, match="unknown parameter 'no_such_parameter'"):
        cls.from_params(params, where=f"step 1 ({name})")


@pytest.mark.parametrize("name", sorted(STEPS))
def test_has_docstring_and_kind(name):
    cls = STEPS[name]
    assert (cls.__doc__ or "").strip().split("\n")[0], f"{name} has no summary line"
    assert issubclass(cls, (Filter, Mapper, GlobalStep))


@pytest.mark.parametrize("name", sorted(STEPS))
def test_pickles(name):
    cls = STEPS[name]
    step = cls.from_params(example_params(cls))
    clone = pickle.loads(pickle.dumps(step))
    assert clone.get_params() == step.get_params()


@pytest.mark.parametrize("name", sorted(STEPS))
def test_keeps_record_fields(name, batch, tmp_path):
    cls = STEPS[name]
    step = cls.from_params(example_params(cls))
    step.setup()
    out = run_step(step, batch, tmp_path)
    missing = set(batch.column_names) - set(out.column_names)
    assert not missing, f"{name} removed fields {missing}"


@pytest.mark.parametrize("name", sorted(n for n, c in STEPS.items() if c.whole_conversation))
def test_whole_conversation_steps_refuse_turn_targeting(name):
    """A step that judges a conversation's structure cannot honour per_turn: asking for it is an error."""
    with pytest.raises(RecipeError, match="per_turn"):
        STEPS[name].from_params({**example_params(STEPS[name]), "per_turn": True})


@pytest.mark.parametrize("name", sorted(n for n, c in STEPS.items() if "per_turn" in c.param_specs()))
def test_per_turn_judges_each_turn_on_its_own(name, batch):
    """With per_turn, a conversation gets the reason of its first failing turn, exactly as if each turn
    were a conversation of its own."""
    cls = STEPS[name]
    params = {**example_params(cls), "field": "messages", "role": None}
    turns = batch.column("messages").to_pylist()

    def reasons(table, per_turn):
        step = cls.from_params({**params, "per_turn": per_turn})
        step.setup()
        return step.check(step.annotate(table))

    joined = reasons(batch, False)
    per_turn = reasons(batch, True)
    alone = [reasons(batch.set_column(batch.schema.get_field_index("messages"), "messages",
                                      pa.array([[t[k]] for t in turns], batch.schema.field("messages").type)), False)
             for k in (0, 1)]
    assert per_turn == [u if u is not None else a for u, a in zip(*alone, strict=True)]
    if name == "gopher_quality":
        assert per_turn != joined  # short first lines fail on their own, not joined to their document


@pytest.mark.parametrize("name", sorted(n for n, c in STEPS.items() if "role" in c.targeting_specs()))
def test_text_steps_can_target_a_role(name, batch, tmp_path):
    """Every step that reads a field also reads one role of a conversation (`role: assistant`)."""
    cls = STEPS[name]
    assert "role" in cls.param_specs()
    step = cls.from_params({**example_params(cls), "field": "messages", "role": "assistant"})
    assert step.role == "assistant" and step.get_params()["role"] == "assistant"
    step.setup()
    replies = step.texts(batch)
    assert replies == [m[1]["content"] for m in batch.column("messages").to_pylist()]
    out = run_step(step, batch, tmp_path)
    assert set(batch.column_names) <= set(out.column_names)


def run_step(step, batch, tmp_path):
    if isinstance(step, Filter):
        annotated = step.annotate(batch)
        reasons = step.check(annotated)
        assert len(reasons) == batch.num_rows
        assert all(r is None or (isinstance(r, str) and r) for r in reasons)
        return annotated
    if isinstance(step, Mapper):
        out = step.apply(batch)
        if not type(step).expands:
            assert out.num_rows == batch.num_rows
        return out
    drops = step.fit([(0, step.index(batch))], tmp_path) or {}
    assert set(drops) <= {0}
    assert all(0 <= row < batch.num_rows and isinstance(r, str) for row, r in drops.get(0, {}).items())
    return batch
