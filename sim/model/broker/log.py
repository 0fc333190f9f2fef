"""A partition: an append-only log of records with offsets, and what a crash may truncate.

A truncated log reuses offsets, so each partition has a *log epoch* bumped by every
truncation (as Kafka's leader epochs, KIP-320): a consumer fetching or committing with an
older epoch is told the truncation point and rewinds its position to it, instead of skipping
the records appended since.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ..host import NodeHost
from ..messages import Record
from .offsets import Offsets
from .records import RecordLog


@dataclass
class PartitionLog:
    records: RecordLog = field(default_factory=RecordLog)
    flushed: int = 0
    """Number of records (a prefix of ``records``) that are on disk."""
    epoch: int = 0
    truncations: list[tuple[int, int]] = field(default_factory=list)
    """(epoch that began, offset the log was truncated to)."""
    gone: Offsets = field(default_factory=Offsets)
    """Offsets never to hand out again: expired (TTL), discarded (drop-oldest), deleted."""
    readers: int = 1
    """Consumer groups reading this log (each fetches from positions of its own)."""
    fetched_by: dict[str, int] = field(default_factory=dict)
    """Per group, the highest position one of its consumers fetched from."""
    holds: dict[str, int] = field(default_factory=dict)
    """2PC transactions prepared here and not yet decided -> the log end when they prepared:
    read-committed consumers read no further than the lowest (the last stable offset)."""

    @property
    def fetched(self) -> int:
        """What every group has read: below it nothing is waiting to be read."""
        if len(self.fetched_by) < self.readers:
            return 0
        return min(self.fetched_by.values())

    def read_to(self, group: str, position: int) -> None:
        """A consumer of ``group`` fetched from ``position``."""
        end = len(self.records)
        self.fetched_by[group] = max(self.fetched_by.get(group, 0), min(position, end))

    def stable(self) -> int:
        """The last stable offset: the end of what a read-committed consumer may read."""
        if not self.holds:
            return len(self.records)
        return min(self.holds.values(), default=len(self.records))

    @property
    def end(self) -> int:
        return len(self.records)

    def backlog(self, group: str | None = None) -> int:
        """Records not yet read by every group (what ``capacity`` bounds in log mode), or by
        ``group``: from the position its last fetch asked for (the broker learns where a
        fetch's records end only from the next fetch)."""
        start = self.fetched if group is None else self.fetched_by.get(group, 0)
        return self.end - start - self.gone.count(start, self.end)

    def divergence(self, epoch: int) -> int | None:
        """The lowest truncation point since ``epoch`` (None: the log is unchanged since then)."""
        if not self.truncations:
            return None
        points = [offset for began, offset in self.truncations if began > epoch]
        return min(points) if points else None

    def truncate(self, keep: int) -> list[Record]:
        """Cut the log to its first ``keep`` records; return the records cut (a new epoch
        begins if any were)."""
        if keep >= self.end:
            return []
        cut = self.records[keep:]
        del self.records[keep:]
        self.flushed = min(self.flushed, keep)
        self.fetched_by = {g: min(o, keep) for g, o in self.fetched_by.items()}
        self.gone = self.gone.below(keep)  # offsets to be reused are fresh
        self.holds = {txn: min(o, keep) for txn, o in self.holds.items()}
        self.epoch += 1
        self.truncations.append((self.epoch, keep))
        return cut


@dataclass(frozen=True)
class Committed:
    offset: int
    epoch: int
    """The leader epoch of the partition's log the offset refers to (KIP-320)."""
    leader: str


class OffsetStore:
    """Committed offsets per partition, with the copy that is on disk."""

    def __init__(self) -> None:
        self.committed: dict[int, Committed] = {}
        self.flushed: dict[int, Committed] = {}

    def get(self, p: int) -> Committed | None:
        return self.committed.get(p)

    def flush(self) -> None:
        self.flushed = dict(self.committed)


class BrokerHost(NodeHost, Protocol):
    """What a broker's behaviours may use of their broker (``node.py``)."""

    logs: dict[int, PartitionLog]
    dead_letters: list[Record]
    offset_stores: dict[str, OffsetStore]
    """The committed offsets it stores per consumer group (the group coordinator's; none on
    other brokers)."""

    def reset_offsets(self, group: str, to: dict[int, Committed], cause: str) -> None: ...

    def room(self, p: int) -> None: ...

    def truncate(self, p: int, keep: int, cause: str) -> None: ...
