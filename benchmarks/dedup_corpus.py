"""A deterministic near-duplicate corpus of any size, built from the real-text fixtures in the repo.

Base documents are 3-8 paragraphs drawn at random from ``tests/data/dedup`` (English Python docs, Chinese
Debian Reference; 30% Chinese); ``dup_rate`` of them get a corrupted copy (token edits, whitespace and
punctuation changes, truncation, mixed; strengths from none to heavy) placed at a random later position.
The truth lists every (original, copy, exact Jaccard of 5-token shingles).
"""

from __future__ import annotations

import gzip
import json
import random
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from instructkit.dedup.synth import KINDS, corrupt, jaccard

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "dedup"
STRENGTHS = (0.0, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 0.2)


def paragraphs(lang: str) -> list[str]:
    with gzip.open(DATA / f"{lang}.jsonl.gz", "rt", encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]
    return [p.strip() for t in texts for p in re.split(r"\n\s*\n", t) if len(p.strip()) >= 40]


def build(docs: int, seed: int = 0, dup_rate: float = 0.1) -> tuple[list[str], list[tuple[int, int, float]]]:
    rng = random.Random(seed)
    pools = {"en": paragraphs("en"), "zh": paragraphs("zh")}
    copies = int(docs * dup_rate)
    base = []
    for _ in range(docs - copies):
        pool = pools["zh" if rng.random() < 0.3 else "en"]
        base.append("\n\n".join(rng.sample(pool, rng.randint(3, 8))))
    order: list[tuple[str, int | None]] = [(t, None) for t in base]
    for i, src in enumerate(sorted(rng.sample(range(len(base)), copies))):
        text = corrupt(base[src], KINDS[i % len(KINDS)], rng.choice(STRENGTHS), rng)
        order.insert(rng.randint(src + 1, len(order)), (text, src))
    # Map base positions to final positions.
    position = {}
    seen = 0
    for pos, (_, src) in enumerate(order):
        if src is None:
            position[seen] = pos
            seen += 1
    texts = [t for t, _ in order]
    truth = [(position[src], pos, jaccard(base[src], t)) for pos, (t, src) in enumerate(order) if src is not None]
    return texts, truth


def write(texts: list[str], directory: Path, files: int = 2) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    size = -(-len(texts) // files)
    paths = []
    for i in range(files):
        chunk = texts[i * size : (i + 1) * size]
        ids = [f"doc-{i * size + j:07d}" for j in range(len(chunk))]
        path = directory / f"part-{i:02d}.parquet"
        pq.write_table(pa.table({"id": ids, "text": chunk}), path, row_group_size=2000)
        paths.append(path)
    return paths
