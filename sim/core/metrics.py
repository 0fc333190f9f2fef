"""The summary's metrics: what each count and rate column of ``summary.csv`` means, its unit
and its feasible range, declared once.

The checker computes the columns (``sim/check/counts.py``); the config names them in
``sweep.metrics`` (validated against this table); charts, the printed table, the HTML report
and the reference in ``docs/`` read units and meanings from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["count", "rate", "seconds", "per-second"]


@dataclass(frozen=True)
class Metric:
    """One summary column: ``kind`` decides how it is shown and bounded (a count is >= 0, a
    rate lies in [0, 1], seconds and per-second values are >= 0)."""

    unit: str
    kind: Kind
    meaning: str

    @property
    def upper(self) -> float:
        """The largest feasible value (1 for a rate, unbounded otherwise)."""
        return 1.0 if self.kind == "rate" else float("inf")


def _count(meaning: str, unit: str = "events") -> Metric:
    return Metric(unit, "count", meaning)


METRICS: dict[str, Metric] = {
    "intended": _count("business events the producers generated"),
    "committed": _count(
        "of those, events whose business transaction committed (= intended without one)"
    ),
    "aborted": _count("business transactions rolled back (their events must not be processed)"),
    "aborted_by_faults": _count(
        "of the aborted transactions, those a fault aborted (not the application's rollback)"
    ),
    "refused": _count(
        "events that arrived while their producing service was down and were refused (the "
        "application was told they failed): intended = committed + aborted + refused"
    ),
    "published": _count("committed events durably accepted by a broker at least once"),
    "delivered": _count("committed events handed to a consumer at least once"),
    "processed": _count("committed events whose effect is in the sink at least once"),
    "effects": _count("effect applications in the sink, of committed events", "effects"),
    "duplicates": _count("extra applications of the same event: effects - processed", "effects"),
    "redeliveries": _count("deliveries beyond the first, with or without an extra effect"),
    "lost": _count("committed events with no effect and no copy left that could deliver them"),
    "pending": _count("committed events not processed yet but still held somewhere"),
    "dead_lettered": _count("events moved to a dead-letter queue or topic"),
    "expired": _count("events discarded because they outlived broker.ttl"),
    "phantoms": _count(
        "events whose business transaction rolled back yet whose effect was applied", "events"
    ),
    "in_doubt": _count("2PC transactions still unresolved at the end", "transactions"),
    "order_violations": _count(
        "per-key effects applied out of creation order (one producer, one key)", "effects"
    ),
    "deduplicated": _count(
        "resent batches the broker recognised and acknowledged without appending", "requests"
    ),
    "fenced": _count("requests of an older producer epoch the broker refused", "requests"),
    "forced_writes": _count("forced (synchronous) log writes of 2PC", "writes"),
    "loss_rate": Metric("fraction", "rate", "lost / committed"),
    "duplicate_rate": Metric("fraction", "rate", "duplicates / committed"),
    "latency_mean": Metric("s", "seconds", "mean time from creation to first effect"),
    "latency_p50": Metric("s", "seconds", "median time from creation to first effect"),
    "latency_p99": Metric("s", "seconds", "99th percentile of creation to first effect"),
    "throughput": Metric(
        "events/s", "per-second", "processed events per second of the production window"
    ),
    "network_messages": _count("messages sent on all links (every attempt counts)", "messages"),
    "blocked_time": Metric(
        "participant-s", "seconds", "2PC participant-seconds spent in doubt (prepared, waiting)"
    ),
    "sim_time": Metric("s", "seconds", "simulated time of the run: duration + drain"),
}


def metric(name: str) -> Metric | None:
    """The declared metric ``name`` (None for a column that is not a metric)."""
    return METRICS.get(name)
