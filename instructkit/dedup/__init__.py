"""Dedup kernels: vectorised tokens, shingle hashes, exact keys and one-permutation MinHash (``hashing``),
LSH banding (``lsh``), union-find over candidate pairs (``unionfind``), disk-backed sorted shards and
``pread`` row access (``spill``), record ids on disk (``ids``) and near-duplicates with known Jaccard for
calibration and tests (``synth``).

Everything works on numpy arrays for a whole batch at once; the steps in ``instructkit.steps``
(``exact_dedup``, ``minhash_dedup``, ``semantic_dedup``, ``decontaminate``) are thin wrappers around it.
"""

from instructkit.dedup.hashing import minhash_signatures, shingle_hashes, text_keys, tokenize
from instructkit.dedup.lsh import band_keys, optimal_bands
from instructkit.dedup.unionfind import components

__all__ = [
    "band_keys", "components", "minhash_signatures", "optimal_bands", "shingle_hashes", "text_keys", "tokenize",
]
