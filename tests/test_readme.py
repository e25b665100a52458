"""The README tells the truth: its step reference is generated from the registry, CI runs its test command."""

from __future__ import annotations

import re

from conftest import REPO

from instructkit.docs import replace_reference


def readme() -> str:
    return (REPO / "README.md").read_text(encoding="utf-8")


def test_step_reference_is_up_to_date():
    text = readme()
    assert replace_reference(text) == text, "run: python -m instructkit.docs  (regenerates the README's step list)"


def test_ci_runs_the_readme_test_command():
    text = readme()
    block = re.search(r"<!-- test-command -->\n```bash\n(.*?)\n```", text, re.S)
    assert block and "pytest" in block.group(1)
    ci = (REPO / ".ci" / "run").read_text()
    assert "<!-- test-command -->" in ci and "README.md" in ci


def test_readme_run_command_uses_a_shipped_recipe():
    block = re.search(r"<!-- run-command -->\n```bash\n(.*?)\n```", readme(), re.S)
    assert block
    recipe = re.search(r"instructkit curate (\S+)", block.group(1)).group(1)
    assert (REPO / recipe).is_file()
