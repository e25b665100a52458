"""The shipped data cards are what the shipped recipes produce today."""

from __future__ import annotations

import importlib.util

import pytest
from conftest import REPO, run_cli


def _build_module():
    spec = importlib.util.spec_from_file_location("build_cards", REPO / "data_cards" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", _build_module().SHIPPED)
def test_shipped_cards_are_current(name, tmp_path):
    card = _build_module().build(name, tmp_path)
    assert card == (REPO / "data_cards" / f"{name}.md").read_text(encoding="utf-8"), \
        f"regenerate with: python data_cards/build.py {name}"
    assert "## Processing" in card and "## Reproduce" in card


def test_card_command_renders_from_stats(tmp_path):
    _build_module().build("quickstart", tmp_path)
    out = tmp_path / "quickstart"
    (out / "README.md").unlink()
    proc = run_cli("card", str(out))
    assert proc.returncode == 0, proc.stderr
    assert (out / "README.md").read_text() == (REPO / "data_cards" / "quickstart.md").read_text()
