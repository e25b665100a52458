"""Throughput of instructkit's Gopher / C4 / FineWeb filters against datatrove's, same documents, one run.

    python benchmarks/quality.py [--limit 1000] [--workers 2]
    python benchmarks/quality.py --html "/path/to/rust/html/book/*.html"   # html_to_text extractors

Both run in a pool of ``--workers`` processes over equal chunks of benchmarks/data/quality/docs.jsonl.gz
(real Python/Debian docs and fortunes, 13 languages): instructkit on pyarrow batches (polars held to one
thread per process), datatrove document by document as its LocalPipelineExecutor does. Each filter sees
every document (no early exit), so the figures are per filter; "all four" runs them all. Prints docs/s and
instructkit's speed-up. "kept" differs mostly on Chinese/Japanese documents, which instructkit counts in
characters and datatrove (by default) in spaces; see quality_agreement.py.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import time
import warnings
from multiprocessing import get_context
from pathlib import Path

DATA = Path(__file__).parent / "data" / "quality" / "docs.jsonl.gz"
NAMES = ("gopher_quality", "gopher_repetition", "c4_quality", "fineweb_quality")


def _quiet() -> None:
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    try:
        from loguru import logger

        logger.remove()
    except ImportError:
        pass


def run_instructkit(args: tuple[list[str], tuple[str, ...]]) -> int:
    os.environ["POLARS_MAX_THREADS"] = "1"
    import pyarrow as pa

    from instructkit.steps.base import get_step

    texts, names = args
    steps = [get_step(n)() for n in names]
    kept = 0
    for start in range(0, len(texts), 1000):
        batch = pa.table({"text": texts[start:start + 1000]})
        reasons = [None] * batch.num_rows
        for step in steps:
            for i, r in enumerate(step.check(batch)):
                reasons[i] = reasons[i] or r
        kept += sum(r is None for r in reasons)
    return kept


def run_datatrove(args: tuple[list[str], tuple[str, ...]]) -> int:
    _quiet()
    from datatrove.data import Document
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )

    classes = {"gopher_quality": GopherQualityFilter, "gopher_repetition": GopherRepetitionFilter,
               "c4_quality": C4QualityFilter, "fineweb_quality": FineWebQualityFilter}
    texts, names = args
    filters = [classes[n]() for n in names]
    kept = 0
    for i, text in enumerate(texts):
        ok = True
        for f in filters:
            ok = f.filter(Document(text=text, id=str(i))) is True and ok
        kept += ok
    return kept


def timed(pool, fn, texts: list[str], names: tuple[str, ...], workers: int) -> tuple[float, int]:
    chunks = [(texts[i::workers], names) for i in range(workers)]
    pool.map(fn, [(c[0][:20], names) for c in chunks])  # warm up: imports, tokenizers
    start = time.perf_counter()
    kept = sum(pool.map(fn, chunks))
    return time.perf_counter() - start, kept


def compare_extractors(pattern: str, marker: str) -> None:
    """html_to_text's extractors on the same pages: pages/s, characters kept, pages still holding ``marker``."""
    import glob

    from instructkit.steps.html import HtmlToText

    pages = [Path(f).read_text(encoding="utf-8", errors="replace") for f in sorted(glob.glob(pattern))[:200]]
    print(f"{len(pages)} HTML pages, {sum(map(len, pages)) / 1e6:.1f} MB; furniture marker {marker!r}")
    for extractor in ("trafilatura", "resiliparse", "selectolax"):
        step = HtmlToText(extractor=extractor)
        step.setup()
        start = time.perf_counter()
        out = [step.apply_text(p) for p in pages]
        seconds = time.perf_counter() - start
        print(f"{extractor:<12}{len(pages) / seconds:>8.1f} pages/s{sum(map(len, out)) / len(out):>9,.0f} chars/page"
              f"{sum(marker in o for o in out):>5} with furniture{sum(not o for o in out):>4} empty")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--html", help="compare html_to_text extractors on these HTML files (a glob) instead")
    ap.add_argument("--marker", default="Keyboard shortcuts", help="text of page furniture to look for")
    args = ap.parse_args()
    if args.html:
        compare_extractors(args.html, args.marker)
        return
    with gzip.open(DATA, "rt", encoding="utf-8") as fh:
        texts = [json.loads(line)["text"] for line in fh][: args.limit]
    print(f"{len(texts)} documents, {sum(map(len, texts)) / 1e6:.1f} M characters, {args.workers} worker processes")
    print(f"{'filter':<20}{'instructkit docs/s':>20}{'datatrove docs/s':>18}{'speed-up':>10}{'kept ik/dt':>12}")
    ctx = get_context("spawn")
    with ctx.Pool(args.workers, initializer=_quiet) as ik_pool, ctx.Pool(args.workers, initializer=_quiet) as dt_pool:
        for names in [(n,) for n in NAMES] + [NAMES]:
            ik_s, ik_kept = timed(ik_pool, run_instructkit, texts, names, args.workers)
            dt_s, dt_kept = timed(dt_pool, run_datatrove, texts, names, args.workers)
            label = names[0] if len(names) == 1 else "all four"
            print(f"{label:<20}{len(texts) / ik_s:>20,.0f}{len(texts) / dt_s:>18,.0f}{dt_s / ik_s:>9.1f}x"
                  f"{f'{ik_kept}/{dt_kept}':>12}")


if __name__ == "__main__":
    main()
