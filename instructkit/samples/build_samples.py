"""Rebuild the packaged samples (``quickstart.jsonl.gz``, ``multilingual.jsonl.gz``) byte for byte.

Maintainers only: reads the extracted Debian text in ``/work/shared/corpora`` (or ``--corpora DIR`` /
``$INSTRUCTKIT_CORPORA``). instructkit itself and its tests never run this and never read that folder.

    python -m instructkit.samples.build_samples            # rewrite the sample files
    python -m instructkit.samples.build_samples --check    # exit 1 if a rebuild would change a byte

Every record is real text as the Debian package ships it (HTML pages already turned to text, navigation
left in). Nothing is generated, edited or duplicated here: the build only *selects* records, fixes the
provenance fields (``source`` is the real binary package, checked against the packages' file lists) and,
for ``multilingual``, cuts some documentation pages into their paragraphs. Selection is by SHA-1 of a
stable key, so it does not depend on input order, Python's hash seed or the machine. Output is gzip with
``mtime=0`` and no file name; same zlib, same bytes.

See README.md next to this file for sources, licences and counts.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import hashlib
import io
import json
import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CORPORA = "/work/shared/corpora"

# ---------------------------------------------------------------------------------------------------------
# provenance
# ---------------------------------------------------------------------------------------------------------

_PREFIXES = (
    "/usr/share/games/fortunes/",
    "/usr/share/doc/python3.11/html/",
    "/usr/share/debian-reference/",
    "/usr/share/doc/debian/FAQ/",
)


def package_of(path: str) -> str:
    """The Debian binary package that installs ``path`` (bookworm; verified against ``dpkg-deb -c``).

    The corpora's own ``source`` field is coarse (``debian:fortunes`` for every fortune file,
    ``debian:debian`` for the FAQ), so the real package is derived from the install path.
    """
    m = re.match(r"/usr/share/games/fortunes/(.*)$", path)
    if m:
        rest = m.group(1)
        if rest.startswith("off/es/"):
            return "fortunes-es-off"
        if rest.startswith("off/it/"):
            return "fortunes-it-off"
        if "/" in rest:  # de/, es/ (incl. es/off/, shipped by fortunes-es itself), it/, ru/, pl/, ...
            return "fortunes-" + rest.split("/")[0]
        if rest in ("chinese", "song100", "tang300"):
            return "fortunes-zh"
        if rest == "brasil":
            return "fortunes-br"
        if rest in ("fortunes", "literature", "riddles"):
            return "fortunes-min"
        return "fortunes"
    m = re.match(r"/usr/share/doc/debian/FAQ/(?:([a-z-]+)/)?", path)
    if m:
        return "debian-faq" + ("-" + m.group(1) if m.group(1) else "")
    m = re.match(r"/usr/share/debian-reference/[^/]+\.([a-z-]+)\.html$", path)
    if m:
        return "debian-reference-" + m.group(1)
    m = re.match(r"/usr/share/doc/(maint-guide(?:-[a-z-]+)?)/html/", path)
    if m:
        return m.group(1)
    if path.startswith("/usr/share/doc/python3.11/html/"):
        return "python3.11-doc"
    raise ValueError(f"no known Debian package installs {path}")


def short_path(path: str) -> str:
    for prefix in _PREFIXES:
        if path.startswith(prefix):
            return path[len(prefix) :]
    m = re.match(r"/usr/share/doc/maint-guide[^/]*/html/(.*)$", path)
    return m.group(1) if m else path


def fix_lang(rec: dict) -> str:
    # /usr/share/games/fortunes/goedel ships in the English ``fortunes`` package; the corpus labels it "it".
    if rec["path"] == "/usr/share/games/fortunes/goedel":
        return "en"
    return rec["lang"]


def h(key: str) -> str:
    return hashlib.sha1(key.encode("utf-8")).hexdigest()


def frac(key: str) -> float:
    """Deterministic number in [0, 1) for ``key``."""
    return int(h(key)[:12], 16) / 16**12


def norm(text: str) -> str:
    """Key for near-exact duplicates: no ANSI codes, case, punctuation or whitespace differences."""
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)
    return re.sub(r"\W+", " ", text).lower().strip()


def load(corpora: Path, name: str) -> list[dict]:
    out = []
    with gzip.open(corpora / f"{name}.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            rec["package"] = package_of(rec["path"])
            rec["lang"] = fix_lang(rec)
            out.append(rec)
    return out


def record(rec: dict, text: str | None = None, part: int | None = None) -> dict:
    rid = f"{rec['package']}:{short_path(rec['path'])}"
    if "idx" in rec:
        rid += f"#{rec['idx']}"
    if part is not None:
        rid += f"#p{part}"
    return {
        "id": rid,
        "text": rec["text"] if text is None else text,
        "lang": rec["lang"],
        "source": f"debian:{rec['package']}",
        "path": rec["path"],
    }


def write_jsonl_gz(records: list[dict]) -> bytes:
    raw = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(raw)
    return buf.getvalue()


def shuffled(records: list[dict], salt: str) -> list[dict]:
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)), "duplicate ids"
    return sorted(records, key=lambda r: h(salt + r["id"]))


# ---------------------------------------------------------------------------------------------------------
# quickstart: English + Chinese, the default recipe's input
# ---------------------------------------------------------------------------------------------------------

# Not taken: jokes about ethnic groups (``fortunes`` ships them as non-offensive; we would rather not).
EN_FORTUNE_SKIP = {"/usr/share/games/fortunes/ethnic"}
EN_FORTUNE_RATE = 0.14  # share of the other English fortunes
ZH_CHINESE_RATE = 0.30  # share of fortunes-zh's ``chinese`` file (tang300 and song100 are taken whole)
PY_DOC_RATE = 0.20  # share of python3.11-doc pages
PY_DOC_ALWAYS = {  # a spread of page kinds: prose, reference, index-only, very long
    "index.html",
    "contents.html",
    "genindex-J.html",
    "library/json.html",
    "library/stdtypes.html",
    "tutorial/introduction.html",
    "tutorial/controlflow.html",
    "faq/general.html",
    "glossary.html",
}
PY_DOC_MAX_CHARS = 300_000  # genindex-all.html (441k chars of index) is left out


def keep_with_duplicate_groups(recs: list[dict], rate: float, salt: str) -> list[dict]:
    """A hash sample of ``recs`` plus every member of every exact / near-exact duplicate group.

    Sampling alone would keep both halves of a natural duplicate pair with probability rate**2; keeping the
    groups whole leaves the duplicates the packages really contain (e.g. ``cookie`` vs ``computers``).
    """
    groups = collections.defaultdict(list)
    for r in recs:
        groups[norm(r["text"])].append(r)
    out = []
    for r in recs:
        if len(groups[norm(r["text"])]) > 1 or frac(salt + record(r)["id"]) < rate:
            out.append(r)
    return out


def build_quickstart(fortunes: list[dict], py: list[dict], deb: list[dict]) -> list[dict]:
    en = [r for r in fortunes if r["lang"] == "en" and r["path"] not in EN_FORTUNE_SKIP]
    zh = [r for r in fortunes if r["lang"] == "zh"]
    assert not any(r.get("offensive") for r in en + zh)
    chosen = keep_with_duplicate_groups(en, EN_FORTUNE_RATE, "qs-en:")
    chosen += [r for r in zh if not r["path"].endswith("/chinese")]
    chosen += keep_with_duplicate_groups(
        [r for r in zh if r["path"].endswith("/chinese")], ZH_CHINESE_RATE, "qs-zh:"
    )
    for r in py:
        sp = short_path(r["path"])
        if len(r["text"]) <= PY_DOC_MAX_CHARS and (sp in PY_DOC_ALWAYS or frac("qs-py:" + sp) < PY_DOC_RATE):
            chosen.append(r)
    chosen += [r for r in deb if r["lang"] in ("en", "zh-cn", "zh-tw")]
    return shuffled([record(r) for r in chosen], "quickstart:")


# ---------------------------------------------------------------------------------------------------------
# multilingual: a few dozen records per language, short / medium / long
# ---------------------------------------------------------------------------------------------------------

ML_LANGS = [
    "en",
    "de",
    "fr",
    "es",
    "it",
    "pt",
    "pl",
    "cs",
    "ru",
    "bg",
    "eo",
    "ga",
    "id",
    "vi",
    "ja",
    "ko",
    "zh",
    "zh-cn",
    "zh-tw",
]
SHORT_MAX = 60  # short: fewer than 60 characters
MEDIUM_MAX = 800  # medium: 60..799; long: 800+
QUOTA = {"short": 12, "medium": 16, "long": 8}
SHORT_DOC_MIN = 15  # doc paragraphs shorter than this are mostly "Next", "Up", "Home"
LONG_PAGE_MAX = 12_000  # whole pages taken as "long" records stay under this
LONG_FORTUNE_MAX = 4_000


def size_class(text: str) -> str:
    n = len(text)
    return "short" if n < SHORT_MAX else "medium" if n < MEDIUM_MAX else "long"


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def _ml_order(c: dict, lang: str, cls: str, kind: str) -> tuple[int, str]:
    """Hash order; for whole pages, those under LONG_PAGE_MAX first, then the shortest of the rest."""
    if cls == "long" and kind == "d" and len(c["text"]) > LONG_PAGE_MAX:
        return (1, f"{len(c['text']):09d}")
    return (0, h(f"ml:{lang}:{c['id']}"))


def build_multilingual(fortunes: list[dict], deb: list[dict]) -> list[dict]:
    out: list[dict] = []
    for lang in ML_LANGS:
        # candidates per (class, kind): kind "f" = a whole fortune, "d" = a doc paragraph or a whole page
        cands: dict[tuple[str, str], list[dict]] = collections.defaultdict(list)
        for r in fortunes:
            if r["lang"] != lang or r.get("offensive"):
                continue  # the -off packages (and es/off) are left out: rot13'd and slurs, see README
            if r["path"] in EN_FORTUNE_SKIP or len(r["text"]) > LONG_FORTUNE_MAX:
                continue
            cands[(size_class(r["text"]), "f")].append(record(r))
        for r in deb:
            if r["lang"] != lang:
                continue
            cands[("long", "d")].append(record(r))
            for i, p in enumerate(paragraphs(r["text"])):
                cls = size_class(p)
                if cls == "long" or (cls == "short" and len(p) < SHORT_DOC_MIN):
                    continue
                cands[(cls, "d")].append(record(r, text=p, part=i))
        seen: set[str] = set()
        for cls, quota in QUOTA.items():
            kinds = [k for k in ("f", "d") if cands.get((cls, k))]
            picked: list[dict] = []
            for n, kind in enumerate(kinds):
                want = (
                    (quota - len(picked)) // (len(kinds) - n) if n < len(kinds) - 1 else quota - len(picked)
                )
                for c in sorted(cands[(cls, kind)], key=lambda c, k=(lang, cls, kind): _ml_order(c, *k)):
                    if len([p for p in picked if p["_kind"] == kind]) >= want:
                        break
                    if c["text"] in seen:
                        continue  # a heading repeated on the same page is not a new sample
                    seen.add(c["text"])
                    picked.append({**c, "_kind": kind})
            out += [{k: v for k, v in p.items() if k != "_kind"} for p in picked]
    return shuffled(out, "multilingual:")


# ---------------------------------------------------------------------------------------------------------


def summary(name: str, records: list[dict], blob: bytes) -> str:
    by_lang = collections.Counter(r["lang"] for r in records)
    by_src = collections.Counter(r["source"] for r in records)
    texts = collections.Counter(r["text"] for r in records)
    near = collections.Counter(norm(r["text"]) for r in records)
    lines = [
        f"{name}: {len(records)} records, {len(blob):,} bytes gzip, "
        f"{sum(len(r['text'].encode()) for r in records):,} bytes of text",
        "  lang: " + ", ".join(f"{k} {v}" for k, v in sorted(by_lang.items())),
        "  source: " + ", ".join(f"{k} {v}" for k, v in sorted(by_src.items())),
        f"  exact-duplicate extra copies: {sum(n - 1 for n in texts.values() if n > 1)}; "
        f"near-exact (normalised) extra copies: {sum(n - 1 for n in near.values() if n > 1)}",
        f"  with ANSI escapes: {sum(1 for r in records if chr(27) in r['text'])}",
    ]
    classes = collections.Counter((r["lang"], size_class(r["text"])) for r in records)
    lines.append(
        "  short/medium/long: "
        + ", ".join(
            f"{lang} {classes[(lang, 'short')]}/{classes[(lang, 'medium')]}/{classes[(lang, 'long')]}"
            for lang in sorted(by_lang)
        )
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpora", default=os.environ.get("INSTRUCTKIT_CORPORA", DEFAULT_CORPORA))
    ap.add_argument("--out", default=str(HERE))
    ap.add_argument("--check", action="store_true", help="compare with the files in --out, write nothing")
    args = ap.parse_args(argv)
    corpora, out = Path(args.corpora), Path(args.out)
    fortunes = load(corpora, "fortunes")
    py = load(corpora, "python_docs")
    deb = load(corpora, "debian_docs")
    built = {
        "quickstart": build_quickstart(fortunes, py, deb),
        "multilingual": build_multilingual(fortunes, deb),
    }
    status = 0
    for name, records in built.items():
        blob = write_jsonl_gz(records)
        target = out / f"{name}.jsonl.gz"
        print(summary(name, records, blob))
        if args.check:
            same = target.exists() and target.read_bytes() == blob
            print(f"  {target}: {'identical' if same else 'DIFFERS'}")
            status |= 0 if same else 1
        else:
            target.write_bytes(blob)
            print(f"  wrote {target}")
    return status


if __name__ == "__main__":
    sys.exit(main())
