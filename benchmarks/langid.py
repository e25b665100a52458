"""Language ID: instructkit's ``language_id`` backends against the libraries it builds on, side by side.

Data: benchmarks/data/langid/langid.jsonl.gz — real text in 26 languages (Simplified and Traditional
Chinese counted apart), short (< 60 chars) / medium / long, see SOURCES.md. Prints accuracy overall,
per length bucket and per language for every backend, and docs/s.

    python benchmarks/langid.py                      # every backend (about a minute on 2 cores)
    python benchmarks/langid.py --backends instructkit:auto,langdetect --limit 500
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # this file would shadow `langid`
DATA = HERE / "data" / "langid" / "langid.jsonl.gz"


def _peer_langdetect() -> Callable[[str], str]:
    from langdetect import DetectorFactory, detect

    DetectorFactory.seed = 0

    def run(text: str) -> str:
        try:
            return detect(text)
        except Exception:
            return "und"

    return run


def _peer_langid() -> Callable[[str], str]:
    import langid

    return lambda text: langid.classify(text)[0]


def _peer_py3langid() -> Callable[[str], str]:
    import py3langid

    return lambda text: py3langid.classify(text)[0]


def _peer_lingua(low: bool) -> Callable[[str], str]:
    from lingua import LanguageDetectorBuilder

    builder = LanguageDetectorBuilder.from_all_languages()
    detector = (builder.with_low_accuracy_mode() if low else builder).build()

    def run(text: str) -> str:
        found = detector.detect_language_of(text)
        return found.iso_code_639_1.name.lower() if found else "und"

    return run


def _instructkit(backend: str) -> Callable[[str], str]:
    from instructkit.steps.language import LanguageId

    step = LanguageId(backend=backend)
    step.setup()
    return lambda text: step.detect(text)[0]


BACKENDS: dict[str, Callable[[], Callable[[str], str]]] = {
    "instructkit:auto": lambda: _instructkit("auto"),
    "instructkit:langdetect": lambda: _instructkit("langdetect"),
    "instructkit:lingua": lambda: _instructkit("lingua"),
    "langdetect": _peer_langdetect,
    "langid": _peer_langid,
    "py3langid": _peer_py3langid,
    "lingua-low": lambda: _peer_lingua(True),
    "lingua-high": lambda: _peer_lingua(False),
}


def normalise(code: str) -> str:
    return {"zh-cn": "zh", "zh-tw": "zh"}.get(code, code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--limit", type=int, default=0, help="use every n-th record to reach about this many")
    parser.add_argument("--errors", action="store_true", help="print the default backend's mistakes")
    args = parser.parse_args()
    rows = [json.loads(line) for line in gzip.open(DATA, "rt", encoding="utf-8")]
    if args.limit and args.limit < len(rows):
        rows = rows[:: max(1, len(rows) // args.limit)]
    names = args.backends.split(",")
    print(f"{len(rows)} texts, {len({r['variant'] for r in rows})} labels, {len({r['lang'] for r in rows})} languages")

    results: dict[str, dict] = {}
    for name in names:
        detect = BACKENDS[name]()
        detect(rows[0]["text"])  # load lazily loaded models before timing
        start = time.perf_counter()
        predicted = [normalise(detect(r["text"])) for r in rows]
        elapsed = time.perf_counter() - start
        hits: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for r, p in zip(rows, predicted, strict=False):
            for key in ("all", r["bucket"], r["variant"]):
                hits[key][0] += p == r["lang"]
                hits[key][1] += 1
        results[name] = {"acc": {k: a / n for k, (a, n) in hits.items()}, "docs_s": len(rows) / elapsed}
        if args.errors and name == names[0]:
            for r, p in zip(rows, predicted, strict=False):
                if p != r["lang"]:
                    print(f"  {r['variant']:>7} -> {p:<4} {r['text'][:90]!r}")

    keys = ["all", "short", "medium", "long"]
    variants = sorted({r["variant"] for r in rows})
    width = max(len(n) for n in names) + 2
    print("\naccuracy".ljust(width + 1) + "".join(f"{k:>8}" for k in keys) + f"{'docs/s':>9}")
    for name in names:
        acc = results[name]["acc"]
        cells = "".join(f"{acc.get(k, float('nan')):8.3f}" for k in keys)
        print(f"{name:<{width}}{cells}{results[name]['docs_s']:9.0f}")
    print("\nper language".ljust(width + 1) + "".join(f"{v:>8}" for v in variants))
    for name in names:
        acc = results[name]["acc"]
        print(f"{name:<{width}}" + "".join(f"{acc[v]:8.2f}" for v in variants))
    if "instructkit:auto" in results and "langdetect" in results:
        base = results["langdetect"]["docs_s"]
        print(f"\ninstructkit:auto speed vs langdetect: {results['instructkit:auto']['docs_s'] / base:.1f}x")
        best = max((n for n in results if not n.startswith("instructkit")), key=lambda n: results[n]["acc"]["all"])
        print(f"best single backend: {best}; instructkit:auto minus it, per bucket: "
              + ", ".join(f"{k} {results['instructkit:auto']['acc'][k] - results[best]['acc'][k]:+.3f}" for k in keys))


if __name__ == "__main__":
    main()
