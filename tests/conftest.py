"""Shared fixtures: real records from the shipped samples, and helpers to run the CLI."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from instructkit import samples

REPO = Path(__file__).resolve().parent.parent


def read_jsonl(path: Path) -> list[dict]:
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path


@pytest.fixture(scope="session")
def quickstart_records() -> list[dict]:
    return read_jsonl(samples.path("quickstart"))


@pytest.fixture(scope="session")
def english(quickstart_records) -> list[dict]:
    return [r for r in quickstart_records if r["lang"] == "en"]


@pytest.fixture(scope="session")
def chinese(quickstart_records) -> list[dict]:
    return [r for r in quickstart_records if r["lang"].startswith("zh")]


def run_cli(*args: str, cwd: Path | None = None, check: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run([sys.executable, "-m", "instructkit", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"instructkit {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def write_recipe(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
