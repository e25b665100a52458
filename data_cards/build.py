"""Regenerate the data cards of the shipped recipes: ``python data_cards/build.py [NAME ...]``.

Each card is the README.md that ``instructkit curate recipes/NAME.yaml`` writes, kept here so the cards
can be read without running anything (tests/test_data_cards.py checks the quickstart card is current).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from instructkit import Pipeline

HERE = Path(__file__).resolve().parent
RECIPES = HERE.parent / "recipes"
SHIPPED = ("quickstart", "general-corpus", "instruction-dataset", "manual-instructions")


def build(name: str, workdir: Path) -> str:
    result = Pipeline.from_recipe(RECIPES / f"{name}.yaml").run(output=workdir / name, workers=1)
    return (result.output / "README.md").read_text(encoding="utf-8")


if __name__ == "__main__":
    names = sys.argv[1:] or [n for n in SHIPPED if (RECIPES / f"{n}.yaml").exists()]
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            (HERE / f"{name}.md").write_text(build(name, Path(tmp)), encoding="utf-8")
            print(f"data_cards/{name}.md")
