"""What a broker refuses or discards: bounded partitions (``capacity`` with ``overflow``) and
the time to live (``ttl``).

Overflow policies, applied to a produce request before it is appended:

- ``block``: a full partition refuses the request as *full*; the producer waits and resends.
- ``reject``: a full partition refuses it as *rejected*; a producer that does not retry loses it.
- ``drop-oldest``: the oldest unconsumed records are discarded to make room.

A request is refused only when the partition is already full, so a batch may overshoot the
capacity by its own size (a broker checks per request, not per record).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ...history import causes
from ...history.ops import Op
from ..messages import Produce, Record
from .log import PartitionLog

if TYPE_CHECKING:
    from .node import Broker

Backlog = Callable[[int, PartitionLog], int]


class Unbounded:
    def refuses(self, broker: Broker, producer: str, msg: Produce, p: int, log: PartitionLog) -> str:
        """The refusal verdict for a produce request ("" when it may be appended)."""
        return ""


class Refuse(Unbounded):
    """``block`` or ``reject``: refuse a request while the partition is full."""

    def __init__(self, capacity: int, verdict: str, backlog: Backlog) -> None:
        self.capacity = capacity
        self.verdict = verdict
        self.backlog = backlog

    def refuses(self, broker: Broker, producer: str, msg: Produce, p: int, log: PartitionLog) -> str:
        if self.backlog(p, log) < self.capacity:
            return ""
        return self.verdict


class DropOldest(Unbounded):
    """Discard the oldest records not yet read to make room for the request."""

    def __init__(self, capacity: int, backlog: Backlog) -> None:
        self.capacity = capacity
        self.backlog = backlog

    def refuses(self, broker: Broker, producer: str, msg: Produce, p: int, log: PartitionLog) -> str:
        backlog = self.backlog(p, log)
        if backlog + len(msg.records) <= self.capacity:
            return ""
        consumed = max(log.committed, log.fetched)
        excess = backlog + len(msg.records) - self.capacity
        cause = causes.overflow(broker.name, p, "drop-oldest")
        for rec in log.records[consumed:]:
            if excess <= 0:
                break
            if rec.offset in log.gone:
                continue
            log.gone.add(rec.offset)
            excess -= 1
            broker.record(Op.LOG_LOSS, broker.name, (rec.eid,), part=p, num=rec.offset,
                          detail=cause)
        return ""


def overflow_policy(capacity: int | None, overflow: str, backlog: Backlog) -> Unbounded:
    if capacity is None:
        return Unbounded()
    if overflow == "drop-oldest":
        return DropOldest(capacity, backlog)
    return Refuse(capacity, "full" if overflow == "block" else "rejected", backlog)


class Retention:
    """Records older than ``ttl`` are discarded when they would be handed out (never applied)."""

    def __init__(self, ttl: float | None) -> None:
        self.ttl = ttl

    def keep_fresh(self, broker: Broker, p: int, log: PartitionLog, records: list[Record]) -> list[Record]:
        """``records`` without the expired ones (which are discarded and recorded)."""
        ttl = self.ttl
        if ttl is None:
            return records
        now = float(broker.env.now)
        kept = []
        for rec in records:
            if now - rec.created_at > ttl:
                log.gone.add(rec.offset)
                broker.record(Op.EXPIRE, broker.name, (rec.eid,), part=p, num=rec.offset,
                              detail=causes.ttl(broker.name, p))
            else:
                kept.append(rec)
        return kept
