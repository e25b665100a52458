"""MinHash near-dedup: instructkit vs datasketch, rensa and datatrove on the same corpus, in one run.

    python benchmarks/dedup.py --docs 10000             # all tools
    python benchmarks/dedup.py --docs 10000 --tools instructkit,rensa,datasketch

Each tool runs in its own subprocess (peak RSS of its whole process tree and the CPU seconds of every
process in it, sampled every 20 ms; wall time includes imports) on the
same Parquet files: threshold 0.8, 128 permutations, 5-token shingles. The corpus comes from the
fixtures in tests/data/dedup (benchmarks/dedup_corpus.py). Quality is measured on pairs: recall over
injected pairs whose exact Jaccard is >= 0.8, precision over predicted pairs (each clustered record with
the record its cluster keeps) whose exact Jaccard is >= 0.8. Peers tokenise as their READMEs do
(lower-cased whitespace words); datatrove uses its own normaliser.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

THRESHOLD, NUM_PERM, NGRAM = 0.8, 128, 5
TOOLS = ("instructkit", "rensa", "datasketch", "datatrove")


# -- tools (each runs in a child process and writes one cluster label per record) -----------------------
def read_texts(files: list[str]) -> list[str]:
    import pyarrow.parquet as pq

    return [t for f in files for t in pq.read_table(f, columns=["text"]).column("text").to_pylist()]


def word_shingles(text: str) -> list[str]:
    words = text.lower().split()
    return [" ".join(words[i : i + NGRAM]) for i in range(max(1, len(words) - NGRAM + 1))]


def union_find_labels(n: int, pairs: list[tuple[int, int]]) -> np.ndarray:
    from instructkit.dedup.unionfind import components

    a, b = (np.array(x, dtype=np.int64) for x in zip(*pairs, strict=True)) if pairs else (np.empty(0), np.empty(0))
    return components(n, a, b)


def _index_part(args):
    import pyarrow.parquet as pq

    step, file, group = args
    return step.index(pq.ParquetFile(file).read_row_group(group))


def run_instructkit(files: list[str], workdir: Path) -> np.ndarray:
    # Two threads: polars and numpy release the GIL, so this uses both cores without a second interpreter.
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow.parquet as pq

    from instructkit.steps.minhash import MinHashDedup

    step = MinHashDedup(threshold=THRESHOLD, num_perm=NUM_PERM, ngram=NGRAM)
    jobs = [(step, f, g) for f in files for g in range(pq.ParquetFile(f).num_row_groups)]
    with ThreadPoolExecutor(2) as pool:
        indexes = list(enumerate(pool.map(_index_part, jobs)))
    sizes = [len(idx["sig"]) for _, idx in indexes]
    decisions = step.fit(iter(indexes), workdir)
    starts = np.cumsum([0] + sizes)
    labels = np.arange(starts[-1])
    for part, rows in decisions.items():
        for row, reason in rows.items():
            labels[starts[part] + row] = int(reason.rsplit("-", 1)[1])  # ids are doc-<global number>
    return labels


def run_datasketch(files: list[str], workdir: Path) -> np.ndarray:
    from datasketch import MinHash, MinHashLSH

    texts = read_texts(files)
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    pairs, sigs = [], []
    for i, text in enumerate(texts):
        m = MinHash(num_perm=NUM_PERM)
        m.update_batch([s.encode("utf-8") for s in word_shingles(text)])
        for j in lsh.query(m):
            if sigs[j].jaccard(m) >= THRESHOLD:
                pairs.append((j, i))
        lsh.insert(i, m)
        sigs.append(m)
    return union_find_labels(len(texts), pairs)


def run_rensa(files: list[str], workdir: Path) -> np.ndarray:
    from rensa import RMinHash, RMinHashLSH

    texts = read_texts(files)
    lsh = RMinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM, num_bands=16)
    pairs, sigs = [], []
    for i, text in enumerate(texts):
        m = RMinHash(num_perm=NUM_PERM, seed=42)
        m.update(word_shingles(text))
        for j in lsh.query(m):
            if sigs[j].jaccard(m) >= THRESHOLD:
                pairs.append((j, i))
        lsh.insert(i, m)
        sigs.append(m)
    return union_find_labels(len(texts), pairs)


def run_datatrove(files: list[str], workdir: Path) -> np.ndarray:
    import pyarrow.parquet as pq
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.readers import ParquetReader

    config = MinhashConfig(n_grams=NGRAM, num_buckets=16, hashes_per_bucket=8)  # 128 permutations
    folder = str(Path(files[0]).parent)
    w = str(workdir)
    common = {"logging_dir": f"{w}/logs", "skip_completed": False}
    LocalPipelineExecutor(
        [ParquetReader(folder, glob_pattern="*.parquet"), MinhashDedupSignature(f"{w}/sigs", config=config)],
        tasks=len(files), workers=2, **common,
    ).run()
    LocalPipelineExecutor(
        [MinhashDedupBuckets(f"{w}/sigs", f"{w}/buckets", config=config)],
        tasks=config.num_buckets, workers=2, **common,
    ).run()
    LocalPipelineExecutor(
        [MinhashDedupCluster(f"{w}/buckets", f"{w}/remove", config=config, save_cluster_id=True)],
        tasks=1, **common,
    ).run()
    sizes = [pq.ParquetFile(f).metadata.num_rows for f in files]
    starts = np.cumsum([0] + sizes)
    labels = np.arange(starts[-1])
    first_of_cluster: dict[int, int] = {}
    for rank in range(len(files)):
        path = Path(w) / "remove" / f"{rank:06d}.clusters"
        if path.exists():
            for doc, cluster in np.fromfile(path, dtype="<u4").reshape(-1, 2).tolist():
                g = starts[rank] + doc
                labels[g] = first_of_cluster.setdefault(cluster, g)
    return labels


IMPORTS = {"instructkit": "instructkit.steps.minhash", "rensa": "rensa", "datasketch": "datasketch",
           "datatrove": "datatrove.pipeline.dedup.minhash"}


def child(tool: str, files: list[str], out: str) -> None:
    import importlib

    importlib.import_module(IMPORTS[tool])  # "work" excludes imports; wall time includes them
    with tempfile.TemporaryDirectory() as workdir:
        t0 = time.perf_counter()
        labels = globals()[f"run_{tool}"](files, Path(workdir))
        seconds = time.perf_counter() - t0
    np.save(out, labels)
    Path(out + ".json").write_text(json.dumps({"seconds": seconds}))


# -- parent ------------------------------------------------------------------------------------------------
def tree_rss(proc, cpu_of: dict[int, float]) -> int:
    """RSS of a process and its descendants; records each one's CPU seconds so far in ``cpu_of``."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            with p.oneshot():
                total += p.memory_info().rss
                times = p.cpu_times()
                cpu_of[p.pid] = times.user + times.system
        except Exception:
            pass
    return total


def measure(tool: str, files: list[Path], out: Path) -> dict:
    import psutil

    cmd = [sys.executable, __file__, "--child", tool, "--out", str(out), *map(str, files)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ps, peak, cpu_of = psutil.Process(proc.pid), 0, {}
    while proc.poll() is None:
        peak = max(peak, tree_rss(ps, cpu_of))
        time.sleep(0.02)
    wall = time.perf_counter() - t0
    cpu = sum(cpu_of.values())
    if proc.returncode:
        raise RuntimeError(f"{tool} failed:\n{proc.stderr.read()[-3000:]}")
    inner = json.loads(Path(str(out) + ".json").read_text())["seconds"]
    return {"wall": wall, "inner": inner, "cpu": cpu, "rss": peak, "labels": np.load(str(out) + ".npy")}


def quality(labels: np.ndarray, texts: list[str], truth: list[tuple[int, int, float]]) -> dict:
    from instructkit.dedup.synth import jaccard
    from instructkit.text import is_cjk_text

    positives = [(a, b) for a, b, j in truth if j >= THRESHOLD]
    found = sum(labels[a] == labels[b] for a, b in positives)
    predicted = [(int(labels[i]), i) for i in np.flatnonzero(labels != np.arange(len(labels)))]
    known = {(min(a, b), max(a, b)): j for a, b, j in truth}
    good = 0
    for a, b in predicted:
        j = known.get((min(a, b), max(a, b)))
        good += (j if j is not None else jaccard(texts[a], texts[b])) >= THRESHOLD
    precision = good / len(predicted) if predicted else 1.0
    recall = found / len(positives) if positives else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    by_lang = {}
    for lang, chinese in (("en", False), ("zh", True)):
        subset = [(a, b) for a, b in positives if is_cjk_text(texts[a]) == chinese]
        by_lang[lang] = sum(labels[a] == labels[b] for a, b in subset) / max(1, len(subset))
    return {"precision": precision, "recall": recall, "f1": f1, "pairs": len(predicted),
            "recall_en": by_lang["en"], "recall_zh": by_lang["zh"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=10000)
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--child")
    ap.add_argument("--out")
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    if args.child:
        child(args.child, args.files, args.out)
        return
    from dedup_corpus import build, write

    texts, truth = build(args.docs, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        files = write(texts, Path(tmp) / "corpus")
        mb = sum(len(t.encode()) for t in texts) / 1e6
        positives = sum(j >= THRESHOLD for _, _, j in truth)
        print(f"corpus: {len(texts):,} docs, {mb:.1f} MB of text, {len(truth):,} injected copies "
              f"({positives:,} with Jaccard >= {THRESHOLD})")
        results = {}
        for tool in args.tools.split(","):
            r = measure(tool, files, Path(tmp) / tool)
            r.update(quality(r.pop("labels"), texts, truth))
            results[tool] = r
            print(f"{tool:12s} {len(texts) / r['wall']:7,.0f} docs/s  wall {r['wall']:6.1f} s (work {r['inner']:5.1f} s)  "
                  f"CPU {r['cpu']:6.1f} s  peak RSS {r['rss'] / 2**20:6.0f} MB  P {r['precision']:.3f} R {r['recall']:.3f} "
                  f"F1 {r['f1']:.3f} (R en {r['recall_en']:.3f} zh {r['recall_zh']:.3f})  pairs {r['pairs']}", flush=True)
        if "instructkit" in results:
            ik = results["instructkit"]
            for tool, r in results.items():
                if tool != "instructkit":
                    print(f"instructkit vs {tool:10s}: {r['wall'] / ik['wall']:5.1f}x speed (wall), "
                      f"{r['inner'] / ik['inner']:5.1f}x (work), "
                      f"{r['cpu'] / ik['cpu']:5.1f}x (CPU), "
                          f"{ik['rss'] / r['rss']:4.2f}x peak RSS, F1 {ik['f1']:.3f} vs {r['f1']:.3f}")


if __name__ == "__main__":
    main()
