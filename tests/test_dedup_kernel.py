"""The dedup kernels: tokens, one-permutation MinHash, banding, union-find, sorted disk shards."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import numpy as np

from instructkit.dedup.hashing import minhash_signatures, shingle_hashes, text_keys, tokenize
from instructkit.dedup.lsh import band_keys, candidate_probability, optimal_bands
from instructkit.dedup.spill import FileReader, ShardedSpill, runs
from instructkit.dedup.synth import corrupt, jaccard
from instructkit.dedup.unionfind import components
from instructkit.text import normalize_for_hash, tokens

DATA = Path(__file__).parent / "data" / "dedup"


def texts(name: str, n: int) -> list[str]:
    with gzip.open(DATA / f"{name}.jsonl.gz", "rt", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f][:n]


def test_vectorised_tokens_follow_text_tokens():
    sample = texts("en", 50) + texts("zh", 50) + ["Ｆｕｌｌ　ｗｉｄｔｈ ﬁne", "", "😀 emoji", "İstanbul ß"]
    assert tokenize(sample) == [tokens(t) for t in sample]
    assert tokenize(["中文 text"], "word") == [["中文", "text"]]
    assert tokenize(["中文 text"], "char") == [["中", "文", "t", "e", "x", "t"]]


def test_signature_agreement_estimates_jaccard():
    rng = random.Random(0)
    base = texts("en", 40) + texts("zh", 40)
    copies = [corrupt(t, "edit", rng.choice([0.01, 0.03, 0.06]), rng) for t in base]
    sig, _ = minhash_signatures(base + copies)
    n = len(base)
    estimate = (sig[:n] == sig[n:]).mean(axis=1)
    truth = np.array([jaccard(a, b) for a, b in zip(base, copies, strict=True)])
    error = estimate - truth
    assert abs(error.mean()) < 0.02  # unbiased
    assert np.sqrt((error**2).mean()) < 0.06  # about sqrt(J(1-J)/128)


def test_same_text_same_hashes_in_any_batch():
    docs = texts("zh", 10)
    alone = [shingle_hashes([d])[0] for d in docs]
    together, doc = shingle_hashes(docs)
    for i, h in enumerate(alone):
        assert np.array_equal(np.sort(together[doc == i]), np.sort(h))


def test_banding_prefers_recall_when_asked():
    b, r = optimal_bands(0.8, 128, 0.02, 0.98)
    assert b * r <= 128
    assert candidate_probability(0.8, b, r) > 0.95 > candidate_probability(0.8, *optimal_bands(0.8, 128))
    sig = np.arange(2 * 128, dtype=np.uint32).reshape(2, 128)
    sig[1, :8] = sig[0, :8]
    keys = band_keys(sig, 16, 8)
    assert keys[0, 0] == keys[1, 0] and not (keys[0, 1:] == keys[1, 1:]).any()


def test_components_label_by_smallest_member():
    labels = components(7, np.array([6, 1, 3, 5]), np.array([1, 4, 2, 6]))
    assert labels.tolist() == [0, 1, 2, 2, 1, 1, 1]


def test_spill_sorts_shards_stably(tmp_path):
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 2**63, size=50, dtype=np.uint64).repeat(3)
    spill = ShardedSpill(tmp_path, shards=4, buffer_rows=16)
    spill.append(keys, np.arange(len(keys)))
    rows = np.concatenate(list(spill))
    assert len(rows) == len(keys) and set(rows[:, 0].tolist()) == set(keys.tolist())
    head, member = runs(rows[:, 0])
    assert len(member) == 100 and (rows[head, 1] < rows[member, 1]).all()
    reader = FileReader(next(tmp_path.glob("shard-*.bin")), np.uint64, 2)
    assert reader.rows(np.array([0])).shape == (1, 2)
    reader.close()


def test_text_keys_equal_exactly_when_normalize_for_hash_is():
    base = texts("en", 60) + texts("zh", 60)
    tricky = ["Hello, World!", "hello world", "你好，世界！", "你好 世界", "你好世界", "ß", "ss", "İ", "i̇",
              "a\x1cb", "a b", "😀x", "x 😀", "𝐀𝐁", "ab", "", "  ", "?!", "\u200bx", "x", "Ｈｅｌｌｏ"]
    sample = base + tricky + [t.upper() for t in base[:20]] + [t.replace(" ", " \n ") for t in base[:20]]
    keys = [tuple(k) for k in text_keys(sample).tolist()]
    normal = [normalize_for_hash(t) for t in sample]
    assert len(set(keys)) == len(set(normal))
    assert len(set(zip(keys, normal, strict=True))) == len(set(normal))
