"""Benchmark decontamination: drop (or flag) records that share long n-grams with evaluation sets."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa

from instructkit.dedup.hashing import shingle_hashes, token_hashes
from instructkit.steps.base import Filter, set_column


class Decontaminate(Filter):
    """Drop records that contain an ``ngram``-token sequence of any item of the ``eval_sets``.

    Eval sets are files, globs, directories or ``hf:`` datasets; ``eval_fields`` name the fields whose
    text counts (a question and its answer, say). Tokens are words, or characters in Chinese and Japanese,
    after case, width and punctuation normalisation (13 tokens by default, as in GPT-3's decontamination).
    An eval item shorter than ``ngram`` tokens must appear whole; items shorter than ``min_tokens`` are
    ignored (they would match everywhere). A record is contaminated when it shares at least
    ``min_matches`` n-grams with one item; it is dropped with ``contaminated:<item id>`` or, with
    ``mode: annotate``, kept with the item ids in a ``contaminated_by`` column. Metrics count the hits of
    each eval item (``eval_hit:<item id>``).

    ```yaml
    - decontaminate: {eval_sets: [tests/data/dedup/eval_items.jsonl], eval_fields: [question, answer], ngram: 13}
    ```
    """

    name = "decontaminate"
    _unpicklable = ("_index",)

    def __init__(
        self,
        *,
        eval_sets: list[str],
        field: str | None = None,
        eval_fields: list[str] | None = None,
        ngram: int = 13,
        min_tokens: int = 8,
        min_matches: int = 1,
        mode: Literal["drop", "annotate"] = "drop",
    ) -> None:
        if not eval_sets:
            raise ValueError("eval_sets must name at least one evaluation set")
        if ngram < 1 or min_tokens < 1 or min_matches < 1:
            raise ValueError("ngram, min_tokens and min_matches must be >= 1")
        self.eval_sets = eval_sets
        self.field = field
        self.eval_fields = eval_fields
        self.ngram = ngram
        self.min_tokens = min_tokens
        self.min_matches = min_matches
        self.mode = mode

    # -- the eval index: for each n-gram length, sorted hashes and the item each came from --------------
    def setup(self) -> None:
        if getattr(self, "_index", None) is not None:
            return
        ids, texts = self.eval_items()
        _, offsets = token_hashes(texts)
        lengths = np.diff(offsets)
        by_length: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        usable = lengths >= self.min_tokens
        for n in sorted(set(np.minimum(lengths[usable], self.ngram).tolist())):
            rows = np.flatnonzero(usable & (np.minimum(lengths, self.ngram) == n))
            hashes, doc = shingle_hashes([texts[r] for r in rows], n)
            order = np.argsort(hashes, kind="stable")
            by_length[n] = (hashes[order], rows[doc[order]])
        self._index = {"ids": ids, "by_length": by_length, "ignored": int((~usable).sum())}

    def data_paths(self) -> dict[str, list[str]]:
        return {"eval_sets": list(self.eval_sets)}

    def eval_items(self) -> tuple[list[str], list[str]]:
        """``(ids, texts)`` of every eval item (fields joined by a blank line)."""
        from instructkit.steps.dedup import read_reference

        ids, texts = [], []
        for path in self.eval_sets:
            name = path[3:] if path.startswith("hf:") else Path(path).stem.split(".")[0]
            fields = self.eval_fields or ["text"]
            row = 0
            for table in read_reference(path, fields[0], self.base_dir):
                missing = [f for f in fields if f not in table.column_names]
                if missing:
                    raise KeyError(f"step {self.name}: eval set {path!r} has no field(s) {', '.join(missing)}")
                columns = [table.column(f).to_pylist() for f in fields]
                has_id = "id" in table.column_names
                for i, values in enumerate(zip(*columns, strict=True)):
                    ids.append(str(table.column("id")[i].as_py()) if has_id else f"{name}:{row}")  # reader adds ids
                    texts.append("\n\n".join(v if isinstance(v, str) else "" if v is None else str(v) for v in values))
                    row += 1
        return ids, texts

    # -- records ------------------------------------------------------------------------------------
    def hits(self, texts: list[str | None]) -> list[list[int]]:
        """For each text, the eval items it is contaminated by (indexes into ``eval_items``), in order."""
        self.setup()
        found: list[dict[int, int]] = [{} for _ in texts]
        for n, (hashes, items) in self._index["by_length"].items():
            record_hashes, doc = shingle_hashes(texts, n)
            at = np.searchsorted(hashes, record_hashes)
            at[at == len(hashes)] = 0
            match = np.flatnonzero(hashes[at] == record_hashes)
            if not len(match):
                continue
            # Every (record, n-gram, item) once, then count the n-grams each (record, item) shares.
            m_hash = record_hashes[match]
            lo = np.searchsorted(hashes, m_hash)
            span = np.searchsorted(hashes, m_hash, side="right") - lo
            where = np.repeat(lo - np.cumsum(np.r_[0, span[:-1]]), span) + np.arange(span.sum())
            triples = np.unique(
                np.stack([np.repeat(doc[match], span), np.repeat(m_hash.view(np.int64), span), items[where]], axis=1),
                axis=0,
            )
            pairs, counts = np.unique(triples[:, [0, 2]], axis=0, return_counts=True)
            for (d, item), c in zip(pairs.tolist(), counts.tolist(), strict=True):
                found[d][item] = found[d].get(item, 0) + c
        return [sorted(i for i, c in f.items() if c >= self.min_matches) for f in found]

    def annotate(self, batch: pa.Table) -> pa.Table:
        if self.mode != "annotate":
            return batch
        ids = self._index_ids()
        values = [[ids[i] for i in h] or None for h in self._hits_counted(batch)]
        return set_column(batch, "contaminated_by", pa.array(values, pa.list_(pa.string())))

    def check(self, batch: pa.Table) -> list[str | None]:
        if self.mode == "annotate":
            return [None] * batch.num_rows
        ids = self._index_ids()
        return [f"contaminated:{ids[h[0]]}" if h else None for h in self._hits_counted(batch)]

    def _index_ids(self) -> list[str]:
        self.setup()
        return self._index["ids"]

    def _hits_counted(self, batch: pa.Table) -> list[list[int]]:
        if self.per_turn:  # n-grams within each targeted turn, none across turn boundaries
            flat, owner, _ = self.flat_turns(batch)
            hits = [[] for _ in range(batch.num_rows)]
            for i, h in zip(owner, self.hits(flat), strict=True):
                hits[i] = sorted(set(hits[i]) | set(h))
        else:
            hits = self.hits(self.texts(batch))
        ids = self._index["ids"]
        for h in hits:
            for item in h:
                self.count(f"eval_hit:{ids[item]}")
        self.count("contaminated_records", sum(1 for h in hits if h))
        return hits
