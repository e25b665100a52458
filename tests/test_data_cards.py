"""The shipped data cards are what the shipped recipes produce today."""

from __future__ import annotations

import importlib.util

from conftest import REPO, run_cli


def _build_module():
    spec = importlib.util.spec_from_file_location("build_cards", REPO / "data_cards" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quickstart_card_is_current(tmp_path):
    card = _build_module().build("quickstart", tmp_path)
    assert card == (REPO / "data_cards" / "quickstart.md").read_text(encoding="utf-8"), \
        "regenerate with: python data_cards/build.py"
    assert "| 2 | `exact_dedup` |" in card


def test_card_command_renders_from_stats(tmp_path):
    _build_module().build("quickstart", tmp_path)
    out = tmp_path / "quickstart"
    (out / "README.md").unlink()
    proc = run_cli("card", str(out))
    assert proc.returncode == 0, proc.stderr
    assert (out / "README.md").read_text() == (REPO / "data_cards" / "quickstart.md").read_text()
