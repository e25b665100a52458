"""LSH banding: choosing bands x rows for a threshold, and one 64-bit key per (document, band)."""

from __future__ import annotations

import numpy as np

from instructkit.dedup.hashing import _MULT, fmix64


def candidate_probability(s: np.ndarray | float, bands: int, rows: int) -> np.ndarray | float:
    """Probability that two documents of Jaccard ``s`` share at least one band."""
    return 1.0 - (1.0 - np.power(s, rows)) ** bands


def optimal_bands(
    threshold: float, num_perm: int, false_positive_weight: float = 0.5, false_negative_weight: float = 0.5
) -> tuple[int, int]:
    """``(bands, rows)`` with ``bands * rows <= num_perm`` minimising the weighted sum of the false
    positive area (similarity below ``threshold`` becoming a candidate) and the false negative area
    (similarity above it missed), integrated over similarity as datasketch does."""
    lo = np.linspace(0.0, threshold, 201)
    hi = np.linspace(threshold, 1.0, 201)
    best, best_error = (1, num_perm), float("inf")
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            fp = np.trapezoid(candidate_probability(lo, bands, rows), lo)
            fn = np.trapezoid(1.0 - candidate_probability(hi, bands, rows), hi)
            error = false_positive_weight * fp + false_negative_weight * fn
            if error < best_error - 1e-12:
                best, best_error = (bands, rows), error
    return best


def band_keys(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """``(documents, bands)`` uint64: a hash of each band's rows, salted by the band number so keys of
    different bands never meet in one bucket."""
    n = sig.shape[0]
    keys = np.empty((n, bands), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for b in range(bands):
            acc = np.full(n, np.uint64(b + 1) * _MULT, dtype=np.uint64)
            for v in sig[:, b * rows : (b + 1) * rows].T:
                acc = fmix64(acc ^ v.astype(np.uint64))
            keys[:, b] = acc
    return keys
