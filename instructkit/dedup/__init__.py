"""Dedup kernels: vectorised shingle hashing and one-permutation MinHash (``hashing``), LSH banding
(``lsh``), union-find over candidate pairs (``unionfind``) and disk-backed sorted shards (``spill``).

Everything here works on numpy arrays for a whole batch at once; the steps in ``instructkit.steps``
(``exact_dedup``, ``minhash_dedup``, ``decontaminate``) are thin wrappers around it.
"""

from instructkit.dedup.hashing import minhash_signatures, shingle_hashes, tokenize
from instructkit.dedup.lsh import band_keys, optimal_bands
from instructkit.dedup.unionfind import components

__all__ = ["band_keys", "components", "minhash_signatures", "optimal_bands", "shingle_hashes", "tokenize"]
