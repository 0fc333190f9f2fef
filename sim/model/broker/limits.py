"""What a broker refuses or discards: bounded partitions (``capacity`` with ``overflow``) and
the time to live (``ttl``).

Overflow policies, applied to a produce request before it is appended:

- ``block``: a full partition holds the request back, in order, until a consumer makes room;
  the producer waits (and never resends at most once: its one request is simply late).
- ``reject``: a full partition refuses it as *rejected*; a producer that does not retry loses it.
- ``drop-oldest``: the oldest unconsumed records are discarded to make room.

A request is held or refused only when the partition is already full, so a batch may
overshoot the capacity by its own size (a broker checks per request, not per record).
"""

from __future__ import annotations

from collections.abc import Callable

from ...history import causes
from ...history.ops import Op
from ..messages import Produce, Record
from .log import BrokerHost, PartitionLog
from .offsets import Offsets

Backlog = Callable[[int, PartitionLog], int]
Waiting = Callable[[int, PartitionLog, int], bool]
"""Whether a record (partition, log, offset) still waits to be consumed by some group."""


HOLD = "hold"
"""The verdict that holds a request back until there is room."""


class Unbounded:
    def refuses(
        self, broker: BrokerHost, producer: str, msg: Produce, p: int, log: PartitionLog
    ) -> str:
        """The verdict for a produce request: "" (append it), :data:`HOLD`, or a refusal."""
        return ""

    def has_room(self, p: int, log: PartitionLog) -> bool:
        return True


class Refuse(Unbounded):
    """``block`` or ``reject``: refuse a request while the partition is full."""

    def __init__(self, capacity: int, verdict: str, backlog: Backlog) -> None:
        self.capacity = capacity
        self.verdict = verdict
        self.backlog = backlog

    def refuses(
        self, broker: BrokerHost, producer: str, msg: Produce, p: int, log: PartitionLog
    ) -> str:
        return "" if self.has_room(p, log) else self.verdict

    def has_room(self, p: int, log: PartitionLog) -> bool:
        return self.backlog(p, log) < self.capacity


class DropOldest(Unbounded):
    """Discard the oldest records not yet read to make room for the request."""

    def __init__(self, capacity: int, backlog: Backlog, waiting: Waiting) -> None:
        self.capacity = capacity
        self.backlog = backlog
        self.waiting = waiting

    def refuses(
        self, broker: BrokerHost, producer: str, msg: Produce, p: int, log: PartitionLog
    ) -> str:
        backlog = self.backlog(p, log)
        if backlog + len(msg.records) <= self.capacity:
            return ""
        consumed = log.fetched
        excess = backlog + len(msg.records) - self.capacity
        cause = causes.overflow(broker.name, p, "drop-oldest")
        for o in range(consumed, log.end):
            if excess <= 0:
                break
            if not self.waiting(p, log, o):
                continue
            log.gone.add(o)
            excess -= 1
            broker.record(
                Op.LOG_LOSS, broker.name, (log.records.eids[o],), part=p, num=o, detail=cause
            )
        return ""


class Block(Refuse):
    """``block``: hold the request back until there is room."""

    def __init__(self, capacity: int, backlog: Backlog) -> None:
        super().__init__(capacity, HOLD, backlog)


class Reject(Refuse):
    """``reject``: the request fails as *rejected*; a producer that does not retry loses it."""

    def __init__(self, capacity: int, backlog: Backlog) -> None:
        super().__init__(capacity, "rejected", backlog)


OVERFLOW_POLICIES: dict[str, Callable[[int, Backlog, Waiting], Unbounded]] = {
    "block": lambda capacity, backlog, waiting: Block(capacity, backlog),
    "reject": lambda capacity, backlog, waiting: Reject(capacity, backlog),
    "drop-oldest": DropOldest,
}


def overflow_policy(
    capacity: int | None, overflow: str, backlog: Backlog, waiting: Waiting
) -> Unbounded:
    """The policy of a partition with ``capacity`` (None: unbounded)."""
    if capacity is None:
        return Unbounded()
    return OVERFLOW_POLICIES[overflow](capacity, backlog, waiting)


class Retention:
    """Records older than ``ttl`` are discarded when they would be handed out (never applied)."""

    def __init__(self, ttl: float | None) -> None:
        self.ttl = ttl

    def keep_fresh(
        self,
        broker: BrokerHost,
        p: int,
        log: PartitionLog,
        records: list[Record],
        gone: Offsets | None = None,
        peer: str = "",
    ) -> list[Record]:
        """``records`` without the expired ones (which are discarded and recorded): from the
        log, or (queue mode) from one group's queue, its ``gone`` offsets, named by ``peer``."""
        ttl = self.ttl
        if ttl is None:
            return records
        now = float(broker.env._now)
        kept = []
        for rec in records:
            if now - rec.created_at > ttl:
                (log.gone if gone is None else gone).add(rec.offset)
                broker.record(
                    Op.EXPIRE,
                    broker.name,
                    (rec.eid,),
                    peer=peer,
                    part=p,
                    num=rec.offset,
                    detail=causes.ttl(broker.name, p),
                )
            else:
                kept.append(rec)
        return kept
