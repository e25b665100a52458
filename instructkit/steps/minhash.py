"""Near-duplicate removal with MinHash LSH, in bounded memory."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from instructkit.dedup.hashing import chunks, fmix64, jaccard_sorted, shingle_hashes, shingle_sets, signatures
from instructkit.dedup.ids import IdLog, batch_ids
from instructkit.dedup.lsh import band_keys, optimal_bands
from instructkit.dedup.spill import FileReader, ShardedSpill, runs
from instructkit.dedup.unionfind import components
from instructkit.steps.base import Decisions, GlobalStep

_SIZE_BUCKETS = ((2, 2), (3, 4), (5, 8), (9, 16), (17, 64), (65, None))


class MinHashDedup(GlobalStep):
    """Drop near-duplicates: records whose shingle sets have Jaccard similarity >= ``threshold``.

    Text is normalised (case, width, punctuation) and cut into ``ngram``-token shingles; with
    ``tokenizer: auto`` a token is a word in space-delimited scripts and a character in Chinese and
    Japanese, so a Chinese copy is found as reliably as an English one (``word`` and ``char`` force one
    kind). Signatures are one-permutation MinHashes of ``num_perm`` bins; ``bands`` x ``rows`` default to
    the split minimising the weighted false positive/negative area at ``threshold``, favouring recall
    because candidates are verified: ``verify: exact`` (default) computes their true shingle Jaccard from
    32-bit shingle sets kept on disk, ``estimate`` uses the signatures, ``off`` keeps every candidate.
    Band keys spill to disk in sorted shards, signatures and shingle sets to memory-mapped files, so
    memory does not grow with the corpus. Candidates form clusters (union-find); each cluster keeps its
    first record in input order and drops the others with ``near_duplicate_of:<id of the kept record>``.

    ```yaml
    - minhash_dedup: {threshold: 0.8, num_perm: 128, ngram: 5, tokenizer: auto}
    ```
    """

    name = "minhash_dedup"

    def __init__(
        self,
        *,
        field: str | None = None,
        threshold: float = 0.8,
        num_perm: int = 128,
        ngram: int = 5,
        tokenizer: Literal["auto", "word", "char"] = "auto",
        bands: int | None = None,
        rows: int | None = None,
        verify: Literal["exact", "estimate", "off"] = "exact",
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        if num_perm < 2:
            raise ValueError("num_perm must be >= 2")
        if ngram < 1:
            raise ValueError("ngram must be >= 1")
        if (bands is None) != (rows is None):
            raise ValueError("give both bands and rows, or neither")
        if bands is not None and (bands < 1 or rows < 1 or bands * rows > num_perm):
            raise ValueError(f"bands x rows must be positive and at most num_perm ({num_perm})")
        self.field = field
        self.threshold = threshold
        self.num_perm = num_perm
        self.ngram = ngram
        self.tokenizer = tokenizer
        self.bands = bands
        self.rows = rows
        self.verify = verify

    def banding(self) -> tuple[int, int]:
        """``(bands, rows)``: the explicit ones, or the optimum for ``threshold``."""
        if self.bands is not None and self.rows is not None:
            return self.bands, self.rows
        weights = {"exact": (0.02, 0.98), "estimate": (0.05, 0.95)}.get(self.verify, (0.5, 0.5))
        return _optimal_bands(self.threshold, self.num_perm, weights)

    # -- workers ------------------------------------------------------------------------------------
    def index(self, batch: pa.Table) -> dict[str, Any]:
        texts = self.texts(batch)
        parts = [self._index_texts(texts[lo:hi]) for lo, hi in chunks(texts)]
        index = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
        index["ids"] = batch_ids(batch)
        return index

    def _index_texts(self, texts: list[str | None]) -> dict[str, np.ndarray]:
        hashes, doc = shingle_hashes(texts, self.ngram, self.tokenizer)
        sig, shingles = signatures(hashes, doc, len(texts), self.num_perm)
        bands, rows = self.banding()
        index = {"sig": sig, "keys": band_keys(sig, bands, rows), "live": shingles > 0}
        if self.verify == "exact":
            index["sets"], index["set_sizes"] = shingle_sets(hashes, doc, len(texts))
        return index

    # -- once ---------------------------------------------------------------------------------------
    def fit(self, indexes: Iterable[tuple[int, Any]], scratch: Path) -> Decisions:
        Path(scratch).mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix="minhash-", dir=scratch))
        bands, _ = self.banding()
        spill = ShardedSpill(scratch / "buckets")
        log = IdLog(scratch / "ids.arrow")
        sig_path, sets_path, sizes_path = scratch / "signatures.u32", scratch / "sets.u32", scratch / "sizes.i64"
        with open(sig_path, "wb") as sig_file, open(sets_path, "wb") as sets_file, open(sizes_path, "wb") as sizes:
            for part, idx in indexes:
                if idx is None:  # an empty part
                    log.add(part, [], 0)
                    continue
                first = log.add(part, idx["ids"], len(idx["sig"]))
                idx["sig"].tofile(sig_file)
                if "sets" in idx:
                    idx["sets"].tofile(sets_file)
                    idx["set_sizes"].astype(np.int64).tofile(sizes)
                live = np.flatnonzero(idx["live"])
                spill.append(idx["keys"][live], np.repeat(first + live, bands))
        if log.total == 0:
            return {}
        sig = FileReader(sig_path, np.uint32, self.num_perm)
        sets = None
        if self.verify == "exact":
            offsets = np.zeros(log.total + 1, dtype=np.int64)
            np.cumsum(np.fromfile(sizes_path, dtype=np.int64), out=offsets[1:])
            sets = (FileReader(sets_path, np.uint32), offsets)
        try:
            a, b = self._pairs(spill, sig, sets)
        finally:
            sig.close()
            if sets is not None:
                sets[0].close()
        nodes = np.unique(np.concatenate([a, b]))
        labels = nodes[components(len(nodes), np.searchsorted(nodes, a), np.searchsorted(nodes, b))]
        dup = labels != nodes
        self._count_clusters(np.unique(labels, return_counts=True)[1])
        self.count("near_duplicates", int(dup.sum()))
        return log.decisions(nodes[dup], labels[dup], "near_duplicate_of")

    def _pairs(self, spill: ShardedSpill, sig: np.ndarray, sets: Any) -> tuple[np.ndarray, np.ndarray]:
        """Verified candidate pairs ``(a, b)``, ``a < b`` record numbers, unique."""
        # A pair can share up to `bands` buckets. Candidates spill again, sharded by a hash of the pair, so that
        # each is verified once while memory holds one shard of them, however many pairs there are.
        pairs = ShardedSpill(spill.directory.with_name("pairs"))
        for rows in spill:
            head, member = runs(rows[:, 0])
            if not len(member):
                continue
            docs = rows[:, 1]
            # Each member meets its bucket's first record and the record before it.
            a = np.concatenate([docs[head], docs[member - 1]])
            b = np.concatenate([docs[member], docs[member]])
            pair = np.unique((a << np.uint64(32)) | b)
            pair = pair[(pair >> np.uint64(32)) != (pair & np.uint64(0xFFFFFFFF))]
            pairs.append(fmix64(pair), pair)
        found: list[np.ndarray] = []
        candidates = 0
        for rows in pairs:
            pair = np.unique(rows[:, 1])
            candidates += len(pair)
            found.append(self._verified(pair, sig, sets))
        self.count("candidate_pairs", candidates)
        pairs = np.concatenate(found) if found else np.empty(0, dtype=np.uint64)  # unique: shards are disjoint
        return (pairs >> np.uint64(32)).astype(np.int64), (pairs & np.uint64(0xFFFFFFFF)).astype(np.int64)

    def _verified(self, pair: np.ndarray, sig: FileReader, sets: Any, chunk: int = 4096) -> np.ndarray:
        """The candidate pairs whose Jaccard (estimated from signatures, or exact) is >= ``threshold``."""
        if self.verify == "off":
            return pair
        keep = []
        for lo in range(0, len(pair), chunk):
            p = pair[lo : lo + chunk]
            a = (p >> np.uint64(32)).astype(np.int64)
            b = (p & np.uint64(0xFFFFFFFF)).astype(np.int64)
            estimate = (sig.rows(a) == sig.rows(b)).mean(axis=1)
            if sets is None:
                keep.append(p[estimate >= self.threshold])
            else:
                # Exact check of the plausible ones (0.15 below is 4 standard errors at 128 bins).
                values, offsets = sets
                plausible = np.flatnonzero(estimate >= self.threshold - 0.15).tolist()
                exact = np.array([
                    jaccard_sorted(
                        values.span(offsets[a[i]], offsets[a[i] + 1]), values.span(offsets[b[i]], offsets[b[i] + 1])
                    )
                    for i in plausible
                ])
                keep.append(p[np.asarray(plausible, dtype=np.int64)[exact >= self.threshold]] if plausible else p[:0])
        return np.concatenate(keep) if keep else pair[:0]

    def _count_clusters(self, sizes: np.ndarray) -> None:
        self.count("clusters", len(sizes))
        for lo, hi in _SIZE_BUCKETS:
            n = int(np.count_nonzero((sizes >= lo) & (sizes <= (hi or sizes.max(initial=0)))))
            if n:
                self.count(f"cluster_size_{lo}" if lo == hi else f"cluster_size_{lo}_{hi or 'plus'}", n)

    def estimate(self, input_bytes: int, records: int | None = None) -> dict[str, Any]:
        """Estimated peak memory (of the step itself, in a worker or in ``fit``) and scratch disk."""
        records = records if records is not None else max(1, input_bytes // 2000)
        bands, _ = self.banding()
        shingles = input_bytes // 6  # ~one shingle per word (about 6 bytes of text) or CJK character
        per_record = self.num_perm * 4 + bands * 8 + 16
        disk = records * (per_record + 8 + 40) + bands * records * 16
        if self.verify == "exact":
            disk += shingles * 4
        shard = bands * records * 16 // ShardedSpill.default_shards
        worker = 40 * 2**20  # hashing ~256K characters at a time: ~24 temporary arrays of 8 B per character
        fit = 3 * shard + 3 * (1 << 18) * 16 + records * 16 + 32 * 2**20
        return {
            "peak_memory_bytes": int(max(worker, fit)),
            "disk_bytes": int(disk),
            "explanation": (
                f"workers hash ~256K characters at a time (~{worker >> 20} MB) and hand fit {per_record} B per "
                f"record; fit spills {records:,} x {bands} band keys (16 B) to {ShardedSpill.default_shards} "
                "sorted shards and holds one at a time (x3 while sorting), keeps signatures"
                + (" and 32-bit shingle sets" if self.verify == "exact" else "")
                + " on disk (read back with pread), and 16 B per record for union-find and id lookup; "
                "candidate pairs spill to disk too (16 B each, verified one shard at a time); verified pairs "
                "and drops grow with the number of duplicates, not with the corpus"
            ),
        }


_BANDS_CACHE: dict[tuple[float, int, tuple[float, float]], tuple[int, int]] = {}


def _optimal_bands(threshold: float, num_perm: int, weights: tuple[float, float]) -> tuple[int, int]:
    key = (threshold, num_perm, weights)
    if key not in _BANDS_CACHE:
        _BANDS_CACHE[key] = optimal_bands(threshold, num_perm, *weights)
    return _BANDS_CACHE[key]
