"""Peak memory of ``minhash_dedup``'s fit alone, as the runner calls it, for an input and one 10x larger.

    python benchmarks/dedup_fit_memory.py --docs 20000 --scale 10

Indexes the corpus of benchmarks/dedup_corpus.py in parts of 10,000 records, pickles each part's index
(as the runner does), then runs ``fit`` over a lazy iterator of them in a fresh subprocess and prints its
peak RSS (VmHWM) and the baseline after imports.
"""

from __future__ import annotations

import argparse
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def peak_rss_mb() -> int:
    """This process's peak RSS (VmHWM; ru_maxrss would carry the parent's peak across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def fit(folder: str) -> None:
    from instructkit.steps.minhash import MinHashDedup

    step = MinHashDedup()
    base = peak_rss_mb()
    files = sorted(Path(folder).glob("*.pkl"))
    t0 = time.perf_counter()
    decisions = step.fit(((i, pickle.loads(f.read_bytes())) for i, f in enumerate(files)), Path(folder) / "scratch")
    peak = peak_rss_mb()
    dropped = sum(map(len, decisions.values()))
    print(f"fit {time.perf_counter() - t0:.1f} s, peak RSS {peak} MB (baseline after imports {base} MB), "
          f"dropped {dropped:,}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--scale", type=int, default=10)
    ap.add_argument("--fit")
    args = ap.parse_args()
    if args.fit:
        fit(args.fit)
        return
    import pyarrow as pa
    from dedup_corpus import build

    from instructkit.steps.minhash import MinHashDedup

    step = MinHashDedup()
    with tempfile.TemporaryDirectory() as tmp:
        for docs in (args.docs, args.docs * args.scale):
            texts, _ = build(docs, seed=1)
            folder = Path(tmp) / str(docs)
            folder.mkdir()
            for p, lo in enumerate(range(0, docs, 10000)):
                chunk = texts[lo : lo + 10000]
                table = pa.table({"id": [f"doc-{lo + i}" for i in range(len(chunk))], "text": chunk})
                (folder / f"{p:05d}.pkl").write_bytes(pickle.dumps(step.index(table)))
            out = subprocess.run([sys.executable, __file__, "--fit", str(folder)], capture_output=True, text=True)
            print(f"{docs:>9,} docs: {out.stdout.strip() or out.stderr[-2000:]}", flush=True)


if __name__ == "__main__":
    main()
