"""Peak memory of ``instructkit curate`` per process, at 1x and 10x the input (it should not grow).

    python benchmarks/curate_memory.py --mb 100 --scale 10

Builds JSONL inputs of about ``mb`` and ``mb x scale`` megabytes in a temporary directory from the
quickstart sample (real English and Chinese text), each record repeated with its copy and line number
appended to the text and to its id so that exact duplicates stay rare. Runs
``/usr/bin/time -v instructkit curate RECIPE --workers 2`` on each input for two recipes (``clean`` +
``exact_dedup`` and ``clean`` + ``minhash_dedup``), samples the RSS of the process tree every 20 ms, and
prints ``time -v``'s "Maximum resident set size" (the largest single process of the tree) and the peaks of
the main process and of the largest worker. ``--dir DIR`` keeps (and reuses) the inputs there.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "instructkit" / "samples" / "quickstart.jsonl.gz"
RECIPES = {
    "clean+exact_dedup": ["clean: {}", "exact_dedup: {}"],
    "clean+minhash_dedup": ["clean: {}", "minhash_dedup: {}"],
}


def build(path: Path, megabytes: float) -> int:
    """Write ~``megabytes`` of JSONL to ``path`` (once); returns its size in bytes."""
    if path.exists():
        return path.stat().st_size
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh]
    target, written, copy = megabytes * 1e6, 0, 0
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        while written < target:
            for n, rec in enumerate(records):
                rec = {**rec, "id": f"{rec['id']}/{copy}", "text": f"{rec['text']}\n[{copy}:{n}]"}
                line = json.dumps(rec, ensure_ascii=False) + "\n"
                out.write(line)
                written += len(line.encode("utf-8"))
                if written >= target:
                    break
            copy += 1
    tmp.rename(path)
    return path.stat().st_size


def measure(recipe: Path, data: Path, out: Path, workers: int) -> dict:
    """Run the CLI under ``/usr/bin/time -v``; peak RSS of the main process and of the largest worker."""
    import psutil

    cmd = ["/usr/bin/time", "-v", "instructkit", "curate", str(recipe), "--input", str(data), "--output", str(out),
           "--overwrite", "--workers", str(workers)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    timer = psutil.Process(proc.pid)
    peaks: dict[int, int] = {}
    main_pid = None
    while proc.poll() is None:
        try:
            tree = timer.children(recursive=True)
        except psutil.Error:
            break
        for p in tree:
            try:
                if main_pid is None and p.ppid() == proc.pid:
                    main_pid = p.pid  # the instructkit process itself; its children are the workers
                peaks[p.pid] = max(peaks.get(p.pid, 0), p.memory_info().rss)
            except psutil.Error:
                continue
        time.sleep(0.02)
    stdout, stderr = proc.communicate()
    if proc.returncode:
        raise RuntimeError(stderr[-3000:])
    maxrss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr).group(1)) * 1024
    workers_peak = max((v for k, v in peaks.items() if k != main_pid), default=0)
    return {"wall": time.perf_counter() - t0, "time_v": maxrss, "main": peaks.get(main_pid, 0),
            "worker": workers_peak, "summary": stdout.strip().splitlines()[-1]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=100, help="size of the 1x input in MB")
    ap.add_argument("--scale", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--recipes", default=",".join(RECIPES), help="comma-separated: " + ", ".join(RECIPES))
    ap.add_argument("--dir", help="keep the inputs here (reused when present) instead of a temporary directory")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.dir) if args.dir else Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        print(f"{'recipe':<22} {'input':>9} {'wall':>7} {'time -v max RSS':>16} {'main':>8} {'worker':>8}")
        for name in args.recipes.split(","):
            recipe = Path(tmp) / f"{name}.yaml"
            recipe.write_text("name: memory\nsteps:\n" + "".join(f"  - {s}\n" for s in RECIPES[name]))
            for mb in (args.mb, args.mb * args.scale):
                data = base / f"input-{mb:g}mb.jsonl"
                size = build(data, mb)
                r = measure(recipe, data, Path(tmp) / "out", args.workers)
                print(f"{name:<22} {size / 1e6:7.0f}MB {r['wall']:6.1f}s {r['time_v'] / 2**20:13.0f} MB "
                      f"{r['main'] / 2**20:5.0f} MB {r['worker'] / 2**20:5.0f} MB   {r['summary']}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
