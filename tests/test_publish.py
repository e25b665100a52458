"""`instructkit publish`: the real upload path (HfApi) with a recording stand-in for the Hub; tokens never leak."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli, write_jsonl

from instructkit import Pipeline, publish
from instructkit.errors import RecipeError
from instructkit.steps import Clean, ExactDedup

TOKEN = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"


class RecordingHub:
    """Stands in for huggingface_hub.HfApi: keeps what would be uploaded."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[tuple[str, dict]] = []
        self.files: dict[str, bytes] = {}

    def create_repo(self, repo_id, **kw):
        self.calls.append(("create_repo", {"repo_id": repo_id, **kw}))
        return f"https://huggingface.co/datasets/{repo_id}"

    def upload_folder(self, *, folder_path, repo_id, **kw):
        if self.fail:
            raise RuntimeError(f"401 Unauthorized for token {kw.get('token')}")
        self.calls.append(("upload_folder", {"repo_id": repo_id, **kw}))
        root = Path(folder_path)
        self.files = {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def curated(tmp_path_factory, quickstart_records):
    tmp = tmp_path_factory.mktemp("pub")
    path = write_jsonl(tmp / "in.jsonl", quickstart_records[:300] + quickstart_records[:20])
    Pipeline([Clean(), ExactDedup()], name="pub-test").run(input=str(path), output=tmp / "out", workers=1)
    return tmp / "out"


def test_publish_uploads_data_and_card(curated, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    hub = RecordingHub()
    url = publish.publish(curated, "my-org/curated-demo", api=hub)
    assert url == "https://huggingface.co/datasets/my-org/curated-demo"
    assert hub.calls[0][1]["repo_type"] == "dataset" and hub.calls[1][1]["repo_type"] == "dataset"
    assert sorted(hub.files) == ["README.md", "data/train-00000-of-00001.parquet", "stats.json"]
    card = hub.files["README.md"].decode()
    assert 'load_dataset("my-org/curated-demo", split="train")' in card
    rejected = __import__("json").loads((curated / "stats.json").read_text())["totals"]["records_rejected"]
    assert rejected >= 20 and f"The {rejected:,} rejected records are not published" in card
    assert all(TOKEN.encode() not in body for body in hub.files.values())


def test_publish_error_never_shows_the_token(curated, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    with pytest.raises(publish.PublishError) as err:
        publish.publish(curated, "my-org/curated-demo", api=RecordingHub(fail=True))
    assert TOKEN not in str(err.value) and "hf_***" in str(err.value)


def test_publish_checks_its_input(curated, tmp_path):
    with pytest.raises(RecipeError, match="expected ORG/NAME"):
        publish.plan(curated, "no-slash")
    with pytest.raises(RecipeError, match="not a finished instructkit output"):
        publish.plan(tmp_path, "a/b")


def test_cli_dry_run_lists_files(curated):
    proc = run_cli("publish", str(curated), "--repo", "my-org/x", "--dry-run", "--with-rejected")
    assert proc.returncode == 0, proc.stderr
    assert "data/train-00000-of-00001.parquet" in proc.stdout and "rejected/rejected-00000-of-00001.parquet" in proc.stdout
