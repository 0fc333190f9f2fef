"""Counts: the summary row of a run, from the fates and from the operations themselves.

:class:`Tally` counts what the fates do not say (sends, recognised resends, fenced requests,
forced log writes, time in doubt); :func:`summary_counts` derives the rest from the events and
checks conservation: ``committed == processed + lost + pending + dead_lettered + expired``.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from ..history import causes
from ..history.ops import Op, Row
from .part import Part, on
from .state import EventState, Verdict

COUNT_COLUMNS = [
    "intended",
    "committed",
    "aborted",
    "aborted_by_faults",
    "refused",
    "published",
    "delivered",
    "processed",
    "effects",
    "duplicates",
    "redeliveries",
    "lost",
    "pending",
    "dead_lettered",
    "expired",
    "phantoms",
    "in_doubt",
    "order_violations",
    "deduplicated",
    "fenced",
    "forced_writes",
]
RATE_COLUMNS = [
    "loss_rate",
    "duplicate_rate",
    "latency_mean",
    "latency_p50",
    "latency_p99",
    "throughput",
    "network_messages",
    "blocked_time",
    "sim_time",
]


class ConservationError(AssertionError):
    """The fate table does not add up: a bug in the simulator or the checker."""


class Tally(Part):
    def __init__(self) -> None:
        self.sends = 0
        self.deduplicated = 0
        self.fenced = 0
        self.forced = 0
        self.doubt_since: dict[tuple[str, str], float] = {}
        """(participant, transaction) -> when it prepared (in doubt since)."""
        self.blocked = 0.0

    @on(Op.SEND)
    def _send(self, seq: int, row: Row) -> None:
        self.sends += 1

    @on(Op.DEDUPE)
    def _dedupe(self, seq: int, row: Row) -> None:
        self.deduplicated += 1

    @on(Op.FENCED)
    def _fenced(self, seq: int, row: Row) -> None:
        self.fenced += 1

    @on(Op.FORCE_LOG)
    def _forced(self, seq: int, row: Row) -> None:
        self.forced += 1

    @on(Op.PREPARED)
    def _prepared(self, seq: int, row: Row) -> None:
        self.doubt_since[(row[2], row[4][0])] = row[0]

    @on(Op.RESOLVED)
    def _resolved(self, seq: int, row: Row) -> None:
        since = self.doubt_since.pop((row[2], row[4][0]), None)
        if since is not None:
            self.blocked += row[0] - since

    def counts(self, sim_time: float) -> dict[str, float]:
        return {
            "deduplicated": self.deduplicated,
            "fenced": self.fenced,
            "forced_writes": self.forced,
            "in_doubt": len({txn for _, txn in self.doubt_since}),
            "blocked_time": self.blocked + sum(sim_time - t for t in self.doubt_since.values()),
        }


def summary_counts(v: Verdict, sends: int, duration: float, sim_time: float) -> dict[str, float]:
    """The summary row, in one pass over the events in creation order (each settled event is
    decoded once and dropped: nothing here holds every event)."""
    n: Counter[str] = Counter()
    latencies: list[float] = []
    stamps: list[Stamp] = []
    fates, reasons = v.fates, v.causes
    for eid, e in v.events.items():
        n["intended"] += 1
        fate = fates[eid]
        n[fate] += 1
        if fate == "aborted" and causes.is_fault_abort(reasons[eid]):
            n["aborted_by_faults"] += 1
        if not e.committed:  # rates and effects are about committed events
            n["phantoms"] += e.effects > 0
            continue
        n["committed"] += 1
        n["effects"] += e.effects
        n["delivered"] += e.deliveries > 0
        n["deliveries"] += e.deliveries
        n["published"] += e.appends > 0
        if e.effects > 0:
            latencies.append(e.first_effect_at - e.created_at)
            stamps.append((e.producer, e.key, e.first_effect_seq, e.created_at, e.seq))
    return _row(n, np.array(latencies), stamps, sends, duration, sim_time)


def _row(
    n: Counter[str],
    latencies: np.ndarray,
    stamps: list[Stamp],
    sends: int,
    duration: float,
    sim_time: float,
) -> dict[str, float]:
    committed, processed, effects = n["committed"], n["processed"], n["effects"]
    c: dict[str, float] = {
        "intended": n["intended"],
        "committed": committed,
        "aborted": n["intended"] - committed - n["refused"],
        "aborted_by_faults": n["aborted_by_faults"],
        "refused": n["refused"],
        "published": n["published"],
        "delivered": n["delivered"],
        "processed": processed,
        "effects": effects,
        "duplicates": effects - processed,
        "redeliveries": n["deliveries"] - n["delivered"],
        "lost": n["lost"],
        "pending": n["pending"],
        "dead_lettered": n["dead_lettered"],
        "expired": n["expired"],
        "phantoms": n["phantoms"],
        "in_doubt": 0,
        "order_violations": ordering_violations(stamps),
        "deduplicated": 0,
        "fenced": 0,
        "forced_writes": 0,
        "loss_rate": n["lost"] / committed if committed else float("nan"),
        "duplicate_rate": (effects - processed) / committed if committed else float("nan"),
        **_latency(latencies),
        "throughput": processed / duration,
        "network_messages": sends,
        "blocked_time": 0.0,
        "sim_time": sim_time,
    }
    accounted = c["processed"] + c["lost"] + c["pending"] + c["dead_lettered"] + c["expired"]
    if c["committed"] != accounted:
        raise ConservationError(
            f"conservation violated: committed={c['committed']} but "
            f"processed+lost+pending+dead_lettered+expired={accounted}"
        )
    return c


def _latency(latencies: np.ndarray) -> dict[str, float]:
    if not len(latencies):
        return {
            "latency_mean": float("nan"),
            "latency_p50": float("nan"),
            "latency_p99": float("nan"),
        }
    return {
        "latency_mean": float(latencies.mean()),
        "latency_p50": float(np.quantile(latencies, 0.5)),
        "latency_p99": float(np.quantile(latencies, 0.99)),
    }


Stamp = tuple[str, int, int, float, int]
"""An applied event's (producer, key, history position of its first effect, creation time,
history position of its creation)."""


def order_violations(ev: dict[str, EventState]) -> int:
    """:func:`ordering_violations` of the events of ``ev`` that took effect."""
    return ordering_violations(
        [
            (e.producer, e.key, e.first_effect_seq, e.created_at, e.seq)
            for e in ev.values()
            if e.effects > 0
        ]
    )


def ordering_violations(stamps: list[Stamp]) -> int:
    """Events whose first effect came after the first effect of a later-created event of the
    same producer and key (order is only promised per producer: two producers' events of a
    key have no order between them). ``stamps`` are in creation order."""
    by_key: dict[tuple[str, int], list[Stamp]] = defaultdict(list)
    for applied in stamps:
        by_key[(applied[0], applied[1])].append(applied)
    violations = 0
    for events in by_key.values():
        events.sort(key=lambda st: st[2])
        latest = (-1.0, -1)
        for _p, _k, _first, created_at, seq in events:
            if (created_at, seq) < latest:
                violations += 1
            else:
                latest = (created_at, seq)
    return violations
