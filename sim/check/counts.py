"""Counts: the summary row of a run, from the fates and from the operations themselves.

:class:`Tally` counts what the fates do not say (sends, recognised resends, fenced requests,
forced log writes, time in doubt); :func:`summary_counts` derives the rest from the events and
checks conservation: ``committed == processed + lost + pending + dead_lettered + expired``.
"""

from __future__ import annotations

from array import array
from collections import Counter

from ..core.eids import Checksum
from ..history import causes
from ..history.ops import Op, Row
from .order import FirstEffects
from .part import Part, on
from .settled import EventView
from .state import Verdict, fate_of

_CHUNK = 1 << 16
"""Effects added to the checksum at a time (a chunk's arrays, not a day's)."""

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


def summary_counts(
    v: Verdict, sends: int, duration: float, sim_time: float, first: FirstEffects
) -> dict[str, float]:
    """The summary row, in one pass over the events in creation order (each settled event is
    decoded once and dropped: nothing here holds every event); the latencies and the order
    check come from the first effects, judged as the history was folded (``order.py``)."""
    n: Counter[str] = Counter()
    first.finish(v.events)
    effects = v.effects = Checksum()
    events = v.events
    coded = (
        events.coded()
        if isinstance(events, EventView)
        else ((-1, eid, e) for eid, e in events.items())
    )
    # (the commonest counts in locals, added to `n` after the loop: a run has millions of
    # events, and a local costs less than a counter's key)
    intended = committed = applied = delivered = deliveries = published = 0
    codes, counts = array("Q"), array("Q")  # effects of ids with a code, added a chunk at a time
    for code, eid, e in coded:
        if e.effects:
            if code < 0:
                effects.add(eid, e.effects)
            else:
                codes.append(code)
                counts.append(e.effects)
                if len(codes) >= _CHUNK:
                    effects.add_codes(codes, counts)
                    codes, counts = array("Q"), array("Q")
        intended += 1
        fate, reason = fate_of(e)
        n[fate] += 1
        if fate == "aborted" and causes.is_fault_abort(reason):
            n["aborted_by_faults"] += 1
        if not e.committed:  # rates and effects are about committed events
            n["phantoms"] += e.effects > 0
            continue
        committed += 1
        applied += e.effects
        delivered += e.deliveries > 0
        deliveries += e.deliveries
        published += e.appends > 0
    if codes:
        effects.add_codes(codes, counts)
    n.update(
        intended=intended,
        committed=committed,
        effects=applied,
        delivered=delivered,
        deliveries=deliveries,
        published=published,
    )
    return _row(n, first.latency(), first.violations, sends, duration, sim_time)


def _row(
    n: Counter[str],
    latency: dict[str, float],
    order_violations: int,
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
        "order_violations": order_violations,
        "deduplicated": 0,
        "fenced": 0,
        "forced_writes": 0,
        "loss_rate": n["lost"] / committed if committed else float("nan"),
        "duplicate_rate": (effects - processed) / committed if committed else float("nan"),
        **latency,
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
