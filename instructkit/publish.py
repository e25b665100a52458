"""Put a curated output directory, with its data card, on the Hugging Face Hub.

The token comes from ``HF_TOKEN`` or ``huggingface-cli login`` (never from the command line, where it would
land in shell history), and is scrubbed from everything instructkit prints or uploads.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from instructkit.errors import InstructkitError, RecipeError

_TOKEN_RE = re.compile(r"hf_[A-Za-z0-9]{20,}")
_REPO_RE = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class PublishError(InstructkitError):
    """The upload failed (exit 1)."""


@dataclass
class PublishPlan:
    repo_id: str
    files: list[str]
    card: str


def redact(text: str, token: str | None = None) -> str:
    """``text`` with Hugging Face tokens (and ``token`` itself) replaced by ``hf_***``."""
    if token:
        text = text.replace(token, "hf_***")
    return _TOKEN_RE.sub("hf_***", text)


def plan(output: Path, repo_id: str, *, with_rejected: bool = False) -> PublishPlan:
    """Check ``output`` is a finished instructkit run and list what would be uploaded."""
    output = Path(output)
    if not _REPO_RE.match(repo_id):
        raise RecipeError(f"--repo {repo_id!r}: expected ORG/NAME, e.g. my-org/my-dataset")
    if output.with_name(output.name + ".partial").exists() and not (output / "stats.json").exists():
        raise RecipeError(f"{output} is an interrupted run; finish it with `instructkit curate ... --resume` first")
    for needed in ("stats.json", "README.md", "data"):
        if not (output / needed).exists():
            raise RecipeError(f"{output} is not a finished instructkit output (no {needed}); run `instructkit curate` first")
    files = ["README.md", "stats.json"] + sorted(f"data/{p.name}" for p in (output / "data").glob("*.parquet"))
    if with_rejected:
        files += sorted(f"rejected/{p.name}" for p in (output / "rejected").glob("*.parquet"))
    if len(files) == 2:
        raise RecipeError(f"{output}/data holds no Parquet shard: nothing to publish")
    stats = json.loads((output / "stats.json").read_text(encoding="utf-8"))
    card = _card_for_hub((output / "README.md").read_text(encoding="utf-8"), repo_id, stats, with_rejected)
    return PublishPlan(repo_id, files, card)


def publish(output: Path, repo_id: str, *, private: bool = False, with_rejected: bool = False,
            revision: str | None = None, message: str | None = None, api: Any = None) -> str:
    """Upload ``output`` to the dataset repo ``repo_id``; returns the repo URL. ``api``: an ``HfApi`` to use."""
    p = plan(output, repo_id, with_rejected=with_rejected)
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    token = os.environ.get("HF_TOKEN") or _stored_token()
    try:
        with tempfile.TemporaryDirectory(prefix="instructkit-publish-") as tmp:
            staging = Path(tmp)
            for rel in p.files:
                (staging / rel).parent.mkdir(parents=True, exist_ok=True)
                if rel in ("README.md", "stats.json"):
                    text = p.card if rel == "README.md" else (Path(output) / rel).read_text(encoding="utf-8")
                    (staging / rel).write_text(redact(text, token), encoding="utf-8")
                else:
                    shutil.copyfile(Path(output) / rel, staging / rel)
            url = api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True, token=token)
            api.upload_folder(folder_path=str(staging), repo_id=repo_id, repo_type="dataset", revision=revision,
                              commit_message=message or f"Publish {repo_id} curated with instructkit",
                              token=token)
    except Exception as exc:  # the hub client raises many kinds; none may leak the token
        raise PublishError(f"publishing to {repo_id} failed: {redact(f'{type(exc).__name__}: {exc}', token)}") \
            from None
    return str(url) if url else f"https://huggingface.co/datasets/{repo_id}"


def _stored_token() -> str | None:
    try:
        from huggingface_hub import get_token

        return get_token()
    except Exception:
        return None


def _card_for_hub(card: str, repo_id: str, stats: dict[str, Any], with_rejected: bool) -> str:
    usage = [
        "## Use",
        "",
        "```python",
        "from datasets import load_dataset",
        "",
        f'ds = load_dataset("{repo_id}", split="train")',
        "```",
        "",
    ]
    if not with_rejected:
        usage += [f"The {stats['totals']['records_rejected']:,} rejected records are not published here; "
                  "their counts by step and reason are in the table above and in `stats.json`.", ""]
    marker = "## Files"
    if marker in card:
        return card.replace(marker, "\n".join(usage) + "\n" + marker, 1)
    return card.rstrip("\n") + "\n\n" + "\n".join(usage)
