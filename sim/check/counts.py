"""Counts: the summary row of a run, from the fates and from the operations themselves.

:class:`Tally` counts what the fates do not say (sends, recognised resends, fenced requests,
forced log writes, time in doubt); :func:`summary_counts` derives the rest from the events and
checks conservation: ``committed == processed + lost + pending + dead_lettered + expired``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from ..core.eids import Checksum, code_of
from ..history import causes
from ..history.ops import Op, Row
from .order import FirstEffects
from .part import Part, on
from .state import EventState, Verdict, fate_of

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


class Totals:
    """What the summary sums over a set of events: how many have each fate, are committed,
    delivered and published, their effects and deliveries, and a checksum of the effects.

    An event can be taken back (:meth:`remove`). The checker sums each event as it settles
    and takes back one that is revived (``settled.py``: a settled event's state no longer
    changes), so the verdict adds only the events still live to these sums, instead of
    decoding every packed event of the run again."""

    def __init__(self) -> None:
        self.fates: dict[str, int] = {}
        """Fate -> events; also ``aborted_by_faults`` and ``phantoms``."""
        self.intended = 0
        self.committed = 0
        self.applied = 0
        self.delivered = 0
        self.deliveries = 0
        self.published = 0
        self._effects = Checksum()
        self._codes: list[int] = []
        self._counts: list[int] = []
        """Effects of ids with a code, added to the checksum a chunk at a time."""

    def add(self, eid: str, e: EventState) -> None:
        """Count ``e``."""
        if e.effects:
            code = code_of(eid)
            if code < 0:
                self._effects.add(eid, e.effects)
            else:
                self._codes.append(code)
                self._counts.append(e.effects)
                if len(self._codes) >= _CHUNK:
                    self._add_chunk()
        self._count(e, 1)

    def remove(self, eid: str, e: EventState) -> None:
        """Take back an :meth:`add` of ``e`` (in the same state)."""
        if e.effects:
            self._effects.remove(eid, e.effects)
        self._count(e, -1)

    def _count(self, e: EventState, sign: int) -> None:
        self.intended += sign
        fate, reason = fate_of(e)
        fates = self.fates
        fates[fate] = fates.get(fate, 0) + sign
        if fate == "aborted" and causes.is_fault_abort(reason):
            fates["aborted_by_faults"] = fates.get("aborted_by_faults", 0) + sign
        if not e.committed:  # rates and effects are about committed events
            if e.effects:
                fates["phantoms"] = fates.get("phantoms", 0) + sign
            return
        self.committed += sign
        self.applied += sign * e.effects
        if e.deliveries:
            self.delivered += sign
            self.deliveries += sign * e.deliveries
        if e.appends:
            self.published += sign

    def _add_chunk(self) -> None:
        if self._codes:
            self._effects.add_codes(self._codes, self._counts)
            self._codes, self._counts = [], []

    def merge(self, other: Totals) -> None:
        """Add ``other``'s sums to these."""
        other._add_chunk()
        for fate, n in other.fates.items():
            self.fates[fate] = self.fates.get(fate, 0) + n
        self.intended += other.intended
        self.committed += other.committed
        self.applied += other.applied
        self.delivered += other.delivered
        self.deliveries += other.deliveries
        self.published += other.published
        self._effects.merge(other._effects)

    def effects(self) -> Checksum:
        """The checksum of the effects counted."""
        self._add_chunk()
        return self._effects

    def counts(self) -> Counter[str]:
        n = Counter(self.fates)
        n.update(
            intended=self.intended,
            committed=self.committed,
            effects=self.applied,
            delivered=self.delivered,
            deliveries=self.deliveries,
            published=self.published,
        )
        return n


def summary_counts(
    v: Verdict,
    live: Iterable[tuple[str, EventState]],
    settled: Totals,
    sends: int,
    duration: float,
    sim_time: float,
    first: FirstEffects,
) -> dict[str, float]:
    """The summary row: ``settled``, the sums over the settled events (made as they settled,
    :class:`Totals`), with the ``live`` events (the ``(id, state)`` of those not settled)
    added to them; nothing here reads a settled event again. The latencies and the order
    check come from the first effects, judged as the history was folded (``order.py``)."""
    first.finish(v.events)
    totals = Totals()
    for eid, e in live:
        totals.add(eid, e)
    totals.merge(settled)
    v.effects = totals.effects()
    return _row(totals.counts(), first.latency(), first.violations, sends, duration, sim_time)


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
