"""Tokens, shingle hashes and one-permutation MinHash signatures, vectorised over a whole batch.

Texts are NFKC-normalised (only those that need it) and lower-cased by Python's C string code, joined
into one array of code points, and cut into tokens by numpy with the rules of ``instructkit.text.tokens``:
punctuation, symbols and spaces separate tokens, and

- ``auto``: a token is a word in space-delimited scripts and a single character in scripts written
  without spaces (Chinese, Japanese, Thai, ...), so a 5-gram is five words of English and five
  characters of Chinese (a Chinese copy is found as reliably as an English one), with no per-document
  guess for mixed text;
- ``word``: words only (a run of Chinese is one token); ``char``: every character is a token.

Each token is hashed from its code points (a polynomial, summed per token with ``reduceat``), n-gram
shingles are rolled from the token hashes, and a text's signature is its one-permutation MinHash
(Li, Owen & Zhang 2012): each shingle hash picks one of ``num_perm`` bins with its top bits and competes
for that bin's minimum with its low 32 bits; empty bins are filled by optimal densification (Shrivastava
2017), so two signatures agree in a bin with probability equal to the texts' Jaccard similarity.
One hash per shingle instead of ``num_perm`` makes this cost O(shingles), not O(shingles x permutations).
Hashes are fixed functions of the text (no process-dependent seeds): same input, same signature.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Literal

import numpy as np

Tokenizer = Literal["auto", "word", "char"]

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


def prepare(texts: Iterable[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """``(codepoints, bounds)``: the case-folded texts as one uint32 array of code points and where each
    text starts in it (plus the end). Texts holding characters that NFKC folds into letters or digits
    (full-width forms, ligatures, ...) are NFKC-normalised first; other folds only touch separators."""
    texts = [t or "" for t in texts]
    cp, bounds = _codepoints(texts)
    fold = np.flatnonzero(_fold_table()[np.minimum(cp, 0xFFFF)])
    if len(fold):
        for r in np.unique(np.searchsorted(bounds, fold, side="right") - 1).tolist():
            texts[r] = unicodedata.normalize("NFKC", texts[r])
        cp, bounds = _codepoints(texts)
    return cp, bounds


def _codepoints(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Case-fold the batch as one string (per text only if folding changed a length somewhere)."""
    bounds = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in texts], out=bounds[1:])
    joined = "".join(texts)
    folded = joined.lower() if joined.isascii() else joined.casefold()
    if len(folded) != len(joined):  # e.g. "ß" -> "ss": fold text by text
        texts = [t.casefold() for t in texts]
        np.cumsum([len(t) for t in texts], out=bounds[1:])
        folded = "".join(texts)
    return np.frombuffer(folded.encode("utf-32-le"), dtype=np.uint32), bounds


@lru_cache(maxsize=1)
def _fold_table() -> np.ndarray:
    """BMP code points that NFKC turns into letters or digits (not just punctuation or spaces)."""
    table = np.zeros(0x10000, dtype=bool)
    for c in range(0xA0, 0x10000):
        if unicodedata.decomposition(chr(c)).startswith("<"):  # a compatibility decomposition
            table[c] = any(ch.isalnum() for ch in unicodedata.normalize("NFKC", chr(c)))
    return table


# Character classes: a letter of a space-delimited word, a separator (space, punctuation, symbol,
# control), a character that is a token on its own (scripts written without spaces).
WORD, SEPARATOR, ALONE = 0, 1, 2
_ALONE_RANGES = (
    (0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0x3040, 0x30FF), (0x31F0, 0x31FF),
    (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0xFF66, 0xFF9F),
)


@lru_cache(maxsize=1)
def _class_table() -> np.ndarray:
    """Class of every BMP code point (Thai, Lao, Myanmar, Khmer, Han, Kana: alone)."""
    table = np.array(
        [SEPARATOR if unicodedata.category(chr(c))[0] in "PSZC" else WORD for c in range(0x10000)], dtype=np.uint8
    )
    for lo, hi in _ALONE_RANGES:
        table[lo : hi + 1] = ALONE
    return table


def classes(codepoints: np.ndarray) -> np.ndarray:
    out = _class_table()[np.minimum(codepoints, 0xFFFF)]
    high = np.flatnonzero(codepoints > 0xFFFF)
    if len(high):  # CJK extensions B and later stand alone; emoji and pictographs separate
        c = codepoints[high]
        out[high] = np.where(c >= 0x20000, ALONE, np.where((c >= 0x1F000) & (c < 0x1FB00), SEPARATOR, WORD))
    return out


def token_hashes(
    texts: Iterable[str | None], tokenizer: Tokenizer = "auto"
) -> tuple[np.ndarray, np.ndarray]:
    """``(hashes, offsets)``: every token's 64-bit hash, flat in text order, and each text's start.

    Works on the UTF-8 bytes of the whole batch at once: decode to code points, classify them, cut
    tokens at separators and around characters that stand alone, hash each token's code points.
    """
    if tokenizer not in ("auto", "word", "char"):
        raise ValueError(f"tokenizer must be auto, word or char, not {tokenizer!r}")
    cp, bounds = prepare(texts)
    cls = classes(cp)
    if tokenizer == "word":
        cls[cls == ALONE] = WORD
    elif tokenizer == "char":
        cls[cls == WORD] = ALONE
    return _hash_tokens(cp, cls, bounds)


def _hash_tokens(cp: np.ndarray, cls: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Token hashes and per-text offsets. A token starts at a kept character after a separator, at a
    character that stands alone, after one, and at the start of every text."""
    prev = np.empty_like(cls)
    prev[0:1] = SEPARATOR
    prev[1:] = cls[:-1]
    prev[bounds[:-1][bounds[:-1] < len(prev)]] = SEPARATOR
    keep = cls != SEPARATOR
    start = keep & ((prev != WORD) | (cls == ALONE))
    kept = np.flatnonzero(keep)
    starts = start[kept]
    first = np.flatnonzero(starts)  # where each token starts among the kept characters
    if not len(kept):
        return np.zeros(0, dtype=np.uint64), np.zeros(len(bounds), dtype=np.int64)
    token = np.cumsum(starts) - 1
    position = np.arange(len(kept)) - first[token]
    powers = _powers(int(position.max()) + 1)
    with np.errstate(over="ignore"):
        terms = (cp[kept].astype(np.uint64) + np.uint64(_SEED)) * powers[position]
        hashes = fmix64(np.add.reduceat(terms, first) + np.diff(np.r_[first, len(kept)]).astype(np.uint64))
    return hashes, np.searchsorted(kept[first], bounds)


def chunks(texts: Sequence[str | None], chars: int = 1 << 18) -> list[tuple[int, int]]:
    """``(lo, hi)`` slices of about ``chars`` characters: hashing a batch slice by slice keeps the working
    set small (and in cache) whatever the part size."""
    bounds, size, lo = [], 0, 0
    for i, text in enumerate(texts):
        size += len(text) if text else 0
        if size >= chars:
            bounds.append((lo, i + 1))
            lo, size = i + 1, 0
    if lo < len(texts) or not bounds:
        bounds.append((lo, len(texts)))
    return bounds


def text_keys(texts: Iterable[str | None]) -> np.ndarray:
    """``(len(texts), 2)`` uint64: a 128-bit key per text, equal exactly when
    ``instructkit.text.normalize_for_hash`` of the texts is equal (NFKC, case folding, punctuation and
    symbols as spaces, whitespace collapsed), computed for the whole batch at once."""
    texts = [t or "" for t in texts]
    texts = [t if t.isascii() or unicodedata.is_normalized("NFKC", t) else unicodedata.normalize("NFKC", t)
             for t in texts]
    cp, bounds = _codepoints(texts)
    cls = np.where(_separator_table()[np.minimum(cp, 0xFFFF)], SEPARATOR, WORD).astype(np.uint8)
    astral = np.flatnonzero(cp > 0xFFFF)
    if len(astral):
        values, inverse = np.unique(cp[astral], return_inverse=True)
        cls[astral] = np.array([SEPARATOR if _is_separator(chr(c)) else WORD for c in values.tolist()])[inverse]
    hashes, offsets = _hash_tokens(cp, cls, bounds)
    counts = np.diff(offsets)
    keys = np.zeros((len(texts), 2), dtype=np.uint64)
    some = np.flatnonzero(counts)
    if len(some):
        position = np.arange(len(hashes)) - np.repeat(offsets[:-1], counts)
        powers = _powers(int(position.max()) + 1)
        with np.errstate(over="ignore"):
            for column, salt in enumerate((0x51ED270B27D7B8F3, 0x2545F4914F6CDD1D)):
                terms = fmix64(hashes ^ np.uint64(salt)) * powers[position]
                keys[some, column] = fmix64(np.add.reduceat(terms, offsets[:-1][some]) + counts[some].astype(np.uint64))
    return keys


def _is_separator(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PS" or ch.isspace()


@lru_cache(maxsize=1)
def _separator_table() -> np.ndarray:
    """BMP code points that ``normalize_for_hash`` turns into (or treats as) spaces."""
    table = np.zeros(0x10000, dtype=bool)
    for c in range(0x10000):
        table[c] = _is_separator(chr(c))
    return table


def _powers(n: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.cumprod(np.r_[np.uint64(1), np.full(n - 1, _MULT, dtype=np.uint64)], dtype=np.uint64)


def tokenize(texts: Iterable[str | None], tokenizer: Tokenizer = "auto") -> list[list[str]]:
    """The tokens each text is shingled from (for inspection and tests; hashing never builds them)."""
    cp, bounds = prepare(texts)
    cls = classes(cp).tolist()
    chars = cp.tobytes().decode("utf-32-le")
    out = []
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        toks, prev = [], SEPARATOR
        for ch, c in zip(chars[lo:hi], cls[lo:hi], strict=True):
            c = WORD if (tokenizer == "word" and c == ALONE) else ALONE if (tokenizer == "char" and c == WORD) else c
            if c == ALONE or (c == WORD and prev != WORD):
                toks.append(ch)
            elif c == WORD:
                toks[-1] += ch
            prev = c
        out.append(toks)
    return out


def shingle_hashes(
    texts: Sequence[str | None], ngram: int = 5, tokenizer: Tokenizer = "auto"
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
    texts: Sequence[str | None], num_perm: int = 128, ngram: int = 5, tokenizer: Tokenizer = "auto"
) -> tuple[np.ndarray, np.ndarray]:
    """``(signatures, shingles)``: a ``(len(texts), num_perm)`` uint32 array and each text's shingle count.

    Texts without a token get an all-``EMPTY`` row (and 0 shingles); callers skip them.
    """
    hashes, doc = shingle_hashes(texts, ngram, tokenizer)
    return signatures(hashes, doc, len(texts), num_perm)


def signatures(hashes: np.ndarray, doc: np.ndarray, n: int, num_perm: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """One-permutation MinHash signatures of ``n`` texts from their shingle hashes (see the module doc)."""
    k = np.uint64(num_perm)
    bins = ((hashes >> np.uint64(32)) * k) >> np.uint64(32)
    values = (hashes & _MASK32).astype(np.uint32)
    sig = np.full(n * num_perm, EMPTY, dtype=np.uint32)
    np.minimum.at(sig, doc.astype(np.uint64) * k + bins, values)
    sig = sig.reshape(n, num_perm)
    counts = np.bincount(doc, minlength=n)
    _densify(sig, counts > 0)
    return sig, counts


def shingle_sets(hashes: np.ndarray, doc: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(values, sizes)``: each text's distinct shingles as sorted 32-bit hashes, concatenated in text
    order, and how many each text has (for exact Jaccard verification)."""
    combined = np.sort((doc.astype(np.uint64) << np.uint64(32)) | (hashes >> np.uint64(32)))
    combined = combined[np.r_[True, combined[1:] != combined[:-1]]] if len(combined) else combined
    values = (combined & _MASK32).astype(np.uint32)
    sizes = np.bincount((combined >> np.uint64(32)).astype(np.int64), minlength=n)
    return values, sizes


def jaccard_sorted(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two sorted arrays of distinct values."""
    if not len(a) and not len(b):
        return 1.0
    common = len(np.intersect1d(a, b, assume_unique=True))
    return common / (len(a) + len(b) - common)


def _densify(sig: np.ndarray, nonempty_docs: np.ndarray) -> None:
    """Optimal densification: an empty bin ``j`` copies the first originally non-empty bin in a fixed
    pseudo-random probe sequence of ``j`` (the same for every document, so equal documents stay equal)."""
    k = sig.shape[1]
    flat = sig.ravel()
    empty = flat == EMPTY
    holes = np.flatnonzero(empty.reshape(sig.shape) & nonempty_docs[:, None])
    base, cols = holes - holes % k, holes % k
    probes = _probe_table(k)
    attempt = 0
    while len(holes):
        probe = base + (probes[attempt, cols] if attempt < len(probes) else _probe(cols, attempt, k))
        ok = ~empty[probe]
        flat[holes[ok]] = flat[probe[ok]]
        holes, base, cols = holes[~ok], base[~ok], cols[~ok]
        attempt += 1


def _probe(cols: np.ndarray, attempt: int, k: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        key = fmix64(cols.astype(np.uint64) * np.uint64(0x100000001B3) + np.uint64(attempt + 1) * _MULT)
    return (key % np.uint64(k)).astype(np.int64)


@lru_cache(maxsize=8)
def _probe_table(k: int, attempts: int = 64) -> np.ndarray:
    return np.stack([_probe(np.arange(k), a, k) for a in range(attempts)])
