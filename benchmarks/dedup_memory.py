"""Memory of a minhash_dedup run through the real runner as the input grows (it should stay flat).

    python benchmarks/dedup_memory.py --docs 10000 --scale 10

Builds the corpus of benchmarks/dedup_corpus.py at ``docs`` and ``docs x scale`` records, runs
``Pipeline([MinHashDedup()])`` with 2 workers on each in a subprocess, and prints wall time and the peak
RSS of the whole process tree (sampled every 20 ms), plus the step's own ``estimate()``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def child(corpus: str, out: str) -> None:
    from instructkit import Pipeline
    from instructkit.steps.minhash import MinHashDedup

    result = Pipeline([MinHashDedup()]).run(input=corpus, output=out, workers=2, progress=False)
    step = result.stats["steps"][-1]
    print(json.dumps({"kept": result.kept, "rejected": result.rejected, "metrics": step.get("metrics", {})}))


def measure(corpus: Path, out: Path) -> dict:
    import psutil

    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--child", str(corpus), str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ps, peak, per_process = psutil.Process(proc.pid), 0, {}
    while proc.poll() is None:
        total = 0
        for p in [ps, *ps.children(recursive=True)]:
            try:
                rss = p.memory_info().rss
            except psutil.Error:
                continue
            total += rss
            per_process[p.pid] = max(per_process.get(p.pid, 0), rss)
        peak = max(peak, total)
        time.sleep(0.02)
    stdout, stderr = proc.communicate()
    if proc.returncode:
        raise RuntimeError(stderr[-3000:])
    main_rss = per_process.get(proc.pid, 0)
    worker_rss = max((v for k, v in per_process.items() if k != proc.pid), default=0)
    return {"wall": time.perf_counter() - t0, "rss": peak, "main": main_rss, "worker": worker_rss, **json.loads(stdout.strip().splitlines()[-1])}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=10000)
    ap.add_argument("--scale", type=int, default=10)
    ap.add_argument("--child", nargs=2)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    from dedup_corpus import build, write

    from instructkit.steps.minhash import MinHashDedup

    with tempfile.TemporaryDirectory() as tmp:
        for docs in (args.docs, args.docs * args.scale):
            texts, truth = build(docs, seed=1)
            mb = sum(len(t.encode()) for t in texts) / 1e6
            corpus = Path(tmp) / f"c{docs}"
            write(texts, corpus, files=max(2, docs // 10000))
            r = measure(corpus, Path(tmp) / f"out{docs}")
            est = MinHashDedup().estimate(int(mb * 1e6), docs)
            print(f"{docs:>9,} docs {mb:7.1f} MB: wall {r['wall']:6.1f} s  peak RSS (all processes) "
                  f"{r['rss'] / 2**20:6.0f} MB (main {r['main'] / 2**20:.0f}, largest worker {r['worker'] / 2**20:.0f})  dropped {r['rejected']:,} (injected {len(truth):,})  "
                  f"estimate: fit peak {est['peak_memory_bytes'] / 2**20:.0f} MB, disk {est['disk_bytes'] / 2**20:.0f} MB",
                  flush=True)


if __name__ == "__main__":
    main()
