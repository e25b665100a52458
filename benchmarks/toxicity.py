"""Toxicity: precision/recall per language on Debian's offensive fortunes against ordinary ones.

Data: benchmarks/data/toxicity/fortunes_offensive.jsonl.gz (weak labels: fortunes-es-off / fortunes-it-off
vs ordinary fortunes of the same language; English and Chinese ordinary fortunes measure false alarms).
Compared in one run: instructkit's ``toxicity`` step (word lists + English model) and alt-profanity-check
alone (the English-only classifier the field uses), at several thresholds.

    python benchmarks/toxicity.py
"""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import pyarrow as pa

DATA = Path(__file__).parent / "data" / "toxicity" / "fortunes_offensive.jsonl.gz"


def report(name: str, rows: list[dict], scores: list[float], threshold: float, seconds: float) -> None:
    cells = []
    for lang in ("es", "it", "en", "zh"):
        pairs = [(r["offensive"], s > threshold) for r, s in zip(rows, scores, strict=False) if r["lang"] == lang]
        tp = sum(o and f for o, f in pairs)
        fp = sum(f and not o for o, f in pairs)
        pos = sum(o for o, _ in pairs)
        neg = len(pairs) - pos
        if pos:
            precision = tp / (tp + fp) if tp + fp else float("nan")
            cells.append(f"{lang} P {precision:.2f} R {tp / pos:.2f} FPR {fp / neg:.2f}")
        else:
            cells.append(f"{lang} FPR {fp / neg:.3f}")
    print(f"{name:<34}>{threshold:<4}  " + "   ".join(cells) + f"   {len(rows) / seconds:7.0f} docs/s")


def main() -> None:
    rows = [json.loads(line) for line in gzip.open(DATA, "rt", encoding="utf-8")]
    print(f"{len(rows)} fortunes: " + ", ".join(
        f"{lang} {sum(r['lang'] == lang and r['offensive'] for r in rows)} offensive / "
        f"{sum(r['lang'] == lang and not r['offensive'] for r in rows)} ordinary" for lang in ("es", "it", "en", "zh")))
    texts = [r["text"] for r in rows]

    from instructkit.steps.toxicity import Toxicity

    step = Toxicity()
    step.setup()
    start = time.perf_counter()
    batch = step.annotate(pa.table({"text": texts, "language": [r["lang"] for r in rows]}))
    ik_given = batch.column("toxicity").to_pylist()
    ik_given_s = time.perf_counter() - start
    start = time.perf_counter()
    ik_detect = step.annotate(pa.table({"text": texts})).column("toxicity").to_pylist()
    ik_detect_s = time.perf_counter() - start

    from profanity_check import predict_prob

    start = time.perf_counter()
    apc = [float(p) for p in predict_prob(texts)]
    apc_s = time.perf_counter() - start

    for threshold in (0.5, 0.7, 0.9):
        report("instructkit toxicity (language given)", rows, ik_given, threshold, ik_given_s)
        report("instructkit toxicity (language detected)", rows, ik_detect, threshold, ik_detect_s)
        report("alt-profanity-check alone", rows, apc, threshold, apc_s)
    print("\nweak labels: many 'offensive' fortunes are crude jokes without a rude word, so recall is bounded.")


if __name__ == "__main__":
    main()
