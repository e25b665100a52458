"""Real-text samples shipped with instructkit (sources and licences in ``README.md`` beside this file).

Recipes name them as ``sample:<name>``::

    input: {path: "sample:quickstart"}

>>> from instructkit import samples
>>> samples.names()
['multilingual', 'quickstart']
>>> samples.path("quickstart").name
'quickstart.jsonl.gz'

Each sample is gzip JSONL, one ``{"id", "text", "lang", "source", "path"}`` object per line.
"""

from __future__ import annotations

import pathlib

__all__ = ["PREFIX", "names", "path"]

PREFIX = "sample:"
_DIR = pathlib.Path(__file__).resolve().parent
_SUFFIX = ".jsonl.gz"


def names() -> list[str]:
    """Names of the packaged samples, sorted."""
    return sorted(p.name[: -len(_SUFFIX)] for p in _DIR.glob(f"*{_SUFFIX}") if p.is_file())


def path(name: str) -> pathlib.Path:
    """The packaged file of sample ``name`` (``"quickstart"``; a ``"sample:"`` prefix is accepted).

    Raises ``ValueError`` naming the available samples when there is no such sample.
    """
    if not isinstance(name, str):
        raise ValueError(f"sample name must be a string, got {type(name).__name__}")
    key = name[len(PREFIX) :] if name.startswith(PREFIX) else name
    available = names()
    if key not in available:
        raise ValueError(f"unknown sample {name!r}; available samples: {', '.join(available) or '(none)'}")
    return _DIR / f"{key}{_SUFFIX}"
