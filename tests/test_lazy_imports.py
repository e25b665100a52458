"""``import instructkit`` is cheap; a run imports only what its steps use; every public name still works."""

from __future__ import annotations

import json
import subprocess
import sys

import instructkit
from instructkit.steps import HOMES
from instructkit.steps.base import STEPS

HEAVY = ("pyarrow", "polars", "pandas", "jinja2", "datasets", "torch")


def fresh(code: str) -> dict:
    """Run ``code`` in a new interpreter; it sets ``out``, returned with the heavy modules it imported."""
    script = f"import json, sys\n{code}\nout['heavy'] = sorted(m for m in {HEAVY!r} if m in sys.modules)\nprint(json.dumps(out))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_import_and_errors_load_no_heavy_library():
    out = fresh("import instructkit\nfrom instructkit import RecipeError, __version__\nout = {'v': __version__}")
    assert out == {"v": instructkit.__version__, "heavy": []}


def test_every_public_name_resolves():
    for name in instructkit.__all__:
        assert getattr(instructkit, name) is not None
    assert set(instructkit.__all__) <= set(dir(instructkit))
    assert instructkit.steps.ExactDedup is STEPS["exact_dedup"]  # submodules still reachable as attributes


def test_registry_read_registers_every_builtin_step():
    out = fresh("from instructkit.steps.base import STEPS\nout = {'n': len(STEPS), 'refusal': STEPS['refusal'].name}")
    assert out["n"] == len(HOMES) and out["refusal"] == "refusal"
    out = fresh("from instructkit.steps import *\nout = {'cls': Refusal.name}")
    assert out["cls"] == "refusal"


def test_homes_table_matches_the_registry():
    assert HOMES == {name: cls.__module__.rsplit(".", 1)[1] for name, cls in STEPS.items()}


def test_recipe_imports_only_its_steps_modules():
    out = fresh(
        "from instructkit.recipe import load_recipe\n"
        "r = load_recipe({'name': 'x', 'steps': [{'clean': {}}, {'exact_dedup': {}}]})\n"
        "out = {'modules': sorted(m for m in sys.modules if m.startswith('instructkit.steps.'))}"
    )
    assert out["modules"] == ["instructkit.steps.base", "instructkit.steps.clean", "instructkit.steps.dedup"]
    assert "polars" not in out["heavy"] and "jinja2" not in out["heavy"]


def test_unknown_step_still_lists_every_step():
    import pytest

    from instructkit import RecipeError, get_step

    with pytest.raises(RecipeError, match="did you mean 'clean'.*gopher_quality"):
        get_step("clen")
