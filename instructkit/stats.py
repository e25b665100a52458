"""Per-step statistics. The runner counts; steps only report extra metrics. Stats merge with ``+``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


def reason_code(reason: str) -> str:
    """``duplicate_of:abc123`` -> ``duplicate_of``: the rule, without the record-specific detail."""
    return reason.split(":", 1)[0]


@dataclass
class StepStats:
    label: str
    records_in: int = 0
    records_out: int = 0
    dropped: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    metrics: Counter = field(default_factory=Counter)

    def __add__(self, other: StepStats) -> StepStats:
        return StepStats(
            self.label,
            self.records_in + other.records_in,
            self.records_out + other.records_out,
            self.dropped + other.dropped,
            self.seconds + other.seconds,
            _add(self.metrics, other.metrics),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "records_in": self.records_in,
            "records_out": self.records_out,
            "dropped": dict(sorted(self.dropped.items())),
            "dropped_total": sum(self.dropped.values()),
            "seconds": round(self.seconds, 3),
            "metrics": dict(sorted(self.metrics.items())),
        }

    @classmethod
    def from_dict(cls, label: str, d: dict[str, Any]) -> StepStats:
        return cls(label, d["records_in"], d["records_out"], Counter(d["dropped"]), d["seconds"],
                   Counter(d["metrics"]))


def _add(a: Counter, b: Counter) -> Counter:
    # Counter's + drops zero and negative values; metrics keep them.
    out = Counter(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + v
    return out


def merge(parts: list[dict[str, StepStats]]) -> dict[str, StepStats]:
    total: dict[str, StepStats] = {}
    for part in parts:
        for label, stats in part.items():
            total[label] = total[label] + stats if label in total else stats
    return total
