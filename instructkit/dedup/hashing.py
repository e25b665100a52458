"""Tokens, shingle hashes and one-permutation MinHash signatures, vectorised over a whole batch.

Text is normalised the way ``instructkit.text.normalize_for_hash`` does it (NFKC where it matters,
lower case, punctuation and symbols to spaces) by polars' Rust string kernels, then split into tokens:

- ``auto``: a word for space-delimited scripts, a single character for Han and Kana, so a 5-gram is five
  words of English and five characters of Chinese (a Chinese copy is found as reliably as an English one);
- ``word``: whitespace-separated words only; ``char``: every non-space character is a token.

Tokens are hashed once (polars, seeded xxh3-class hash), n-gram shingles are rolled from the token hashes
with a polynomial and a 64-bit finaliser, and a document's signature is its one-permutation MinHash
(Li, Owen & Zhang 2012): each shingle hash picks one of ``num_perm`` bins with its top bits and competes
for that bin's minimum with its low 32 bits; empty bins are filled by optimal densification (Shrivastava
2017), so two signatures agree in a bin with probability equal to the documents' Jaccard similarity.
One hash per shingle instead of ``num_perm`` makes this cost O(shingles), not O(shingles x permutations).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import polars as pl

Tokenizer = Literal["auto", "word", "char"]

_CJK = r"\p{Han}\p{Hiragana}\p{Katakana}"
# Characters NFKC changes in practice: full/half-width forms, ideographic space, ligatures, nbsp, odd spaces.
_COMPAT = r"[\x{a0}\x{2000}-\x{200b}\x{2160}-\x{217f}\x{3000}\x{fb00}-\x{fb4f}\x{ff00}-\x{ffef}]"
_SEED = 0x1F2E3D4C
_MULT = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)
_MASK32 = np.uint64(0xFFFFFFFF)
EMPTY = np.uint32(0xFFFFFFFF)


def fmix64(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser (a bijection that mixes every input bit into every output bit)."""
    x = x ^ (x >> _S33)
    x *= _M1
    x ^= x >> _S33
    x *= _M2
    x ^= x >> _S33
    return x


def normalize(texts: pl.Series, tokenizer: Tokenizer = "auto") -> pl.Series:
    """Lower-cased text, NFKC where it matters, every run of punctuation, symbols and spaces turned into
    one space, and (``auto``) a space around each Han/Kana character, (``char``) around every character."""
    texts = texts.cast(pl.String).fill_null("")
    compat = texts.str.contains(_COMPAT)
    if compat.any():
        rows = compat.arg_true()
        texts = texts.scatter(rows, texts.gather(rows).str.normalize("NFKC"))
    if tokenizer == "char":
        texts = texts.str.replace_all(r"(\S)", " $1 ")
    elif tokenizer == "auto":
        cjk = texts.str.contains(f"[{_CJK}]")
        if cjk.any():
            rows = cjk.arg_true()
            texts = texts.scatter(rows, texts.gather(rows).str.replace_all(f"([{_CJK}])", " $1 "))
    return texts.str.to_lowercase().str.replace_all(r"[\p{P}\p{S}\s]+", " ").str.strip_chars(" ")


def tokenize(texts: list[str | None] | pl.Series, tokenizer: Tokenizer = "auto") -> pl.Series:
    """A list of normalised tokens per text (an empty list for a text without any)."""
    if tokenizer not in ("auto", "word", "char"):
        raise ValueError(f"tokenizer must be auto, word or char, not {tokenizer!r}")
    series = texts if isinstance(texts, pl.Series) else pl.Series("text", texts, dtype=pl.String)
    normal = normalize(series, tokenizer)
    return normal.str.split(" ").list.eval(pl.element().filter(pl.element() != ""))


def token_hashes(texts: list[str | None] | pl.Series, tokenizer: Tokenizer = "auto") -> tuple[np.ndarray, np.ndarray]:
    """``(hashes, offsets)``: every token's 64-bit hash, flat, and each text's start in that array."""
    series = texts if isinstance(texts, pl.Series) else pl.Series("text", texts, dtype=pl.String)
    if tokenizer not in ("auto", "word", "char"):
        raise ValueError(f"tokenizer must be auto, word or char, not {tokenizer!r}")
    normal = normalize(series, tokenizer)
    flat = normal.str.split(" ").explode()
    hashes = flat.hash(seed=_SEED).to_numpy()
    lengths = (normal.str.count_matches(" ", literal=True) + 1).to_numpy().astype(np.int64)
    empty = (normal == "").to_numpy()
    if empty.any():  # an empty text splits into one empty token: drop it
        hashes = hashes[(flat != "").to_numpy()]
        lengths[empty] = 0
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return hashes, offsets


def shingle_hashes(
    texts: list[str | None] | pl.Series, ngram: int = 5, tokenizer: Tokenizer = "auto"
) -> tuple[np.ndarray, np.ndarray]:
    """``(hashes, doc)``: the 64-bit hash of every ``ngram``-token shingle and the text it belongs to.

    A text shorter than ``ngram`` tokens has one shingle (all its tokens); an empty text has none.
    """
    if ngram < 1:
        raise ValueError("ngram must be >= 1")
    h, offsets = token_hashes(texts, tokenizer)
    lengths = np.diff(offsets)
    docs = len(lengths)
    doc_of_token = np.repeat(np.arange(docs, dtype=np.int64), lengths)
    # Full shingles start at every token that has ngram - 1 tokens after it in the same text.
    m = max(len(h) - ngram + 1, 0)
    acc = h[:m].copy()
    with np.errstate(over="ignore"):
        for k in range(1, ngram):
            acc *= _MULT
            acc += h[k : k + m]
    pos_in_doc = np.arange(m, dtype=np.int64) - offsets[doc_of_token[:m]]
    valid = pos_in_doc <= lengths[doc_of_token[:m]] - ngram
    full, full_doc = acc[valid], doc_of_token[:m][valid]
    short = np.flatnonzero((lengths > 0) & (lengths < ngram))
    if len(short):
        sacc = h[offsets[short]].copy()
        with np.errstate(over="ignore"):
            for k in range(1, int(lengths[short].max())):
                more = lengths[short] > k
                idx = offsets[short[more]] + k
                sacc[more] = sacc[more] * _MULT + h[idx]
        full = np.concatenate([full, sacc])
        full_doc = np.concatenate([full_doc, short])
    with np.errstate(over="ignore"):
        return fmix64(full ^ np.uint64(ngram)), full_doc


def minhash_signatures(
    texts: list[str | None] | pl.Series, num_perm: int = 128, ngram: int = 5, tokenizer: Tokenizer = "auto"
) -> tuple[np.ndarray, np.ndarray]:
    """``(signatures, shingles)``: a ``(len(texts), num_perm)`` uint32 array and each text's shingle count.

    Texts without a token get an all-``EMPTY`` row (and 0 shingles); callers skip them.
    """
    hashes, doc = shingle_hashes(texts, ngram, tokenizer)
    n = len(texts)
    k = np.uint64(num_perm)
    bins = ((hashes >> np.uint64(32)) * k) >> np.uint64(32)
    values = (hashes & _MASK32).astype(np.uint32)
    sig = np.full(n * num_perm, EMPTY, dtype=np.uint32)
    np.minimum.at(sig, doc.astype(np.uint64) * k + bins, values)
    sig = sig.reshape(n, num_perm)
    counts = np.bincount(doc, minlength=n)
    _densify(sig, counts > 0)
    return sig, counts


def _densify(sig: np.ndarray, nonempty_docs: np.ndarray) -> None:
    """Optimal densification: an empty bin ``j`` copies the first originally non-empty bin in a fixed
    pseudo-random probe sequence of ``j`` (the same for every document, so equal documents stay equal)."""
    k = sig.shape[1]
    empty = sig == EMPTY
    rows, cols = np.nonzero(empty & nonempty_docs[:, None])
    attempt = 0
    with np.errstate(over="ignore"):
        while len(rows):
            attempt += 1
            key = fmix64(cols.astype(np.uint64) * np.uint64(0x100000001B3) + np.uint64(attempt) * _MULT)
            probe = (key % np.uint64(k)).astype(np.int64)
            ok = ~empty[rows, probe]
            sig[rows[ok], cols[ok]] = sig[rows[ok], probe[ok]]
            rows, cols = rows[~ok], cols[~ok]
