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


@dataclass
class PartitionLog:
    records: list[Record] = field(default_factory=list)
    flushed: int = 0
    """Number of records (a prefix of ``records``) that are on disk."""
    committed: int = 0
    committed_flushed: int = 0
    epoch: int = 0
    truncations: list[tuple[int, int]] = field(default_factory=list)
    """(epoch that began, offset the log was truncated to)."""
    gone: set[int] = field(default_factory=set)
    """Offsets never to hand out again: expired (TTL), discarded (drop-oldest), deleted."""
    fetched: int = 0
    """The highest position a consumer fetched from: what lies below it has been read."""

    @property
    def end(self) -> int:
        return len(self.records)

    def backlog(self) -> int:
        """Records not yet read or committed (what ``capacity`` bounds in log mode)."""
        consumed = max(self.committed, self.fetched)
        return sum(1 for o in range(consumed, self.end) if o not in self.gone)

    def divergence(self, epoch: int) -> int | None:
        """The lowest truncation point since ``epoch`` (None: the log is unchanged since then)."""
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
        self.epoch += 1
        self.truncations.append((self.epoch, keep))
        return cut


class BrokerHost(NodeHost, Protocol):
    """What a broker's behaviours may use of their broker (``node.py``)."""

    logs: dict[int, PartitionLog]
    dead_letters: list[Record]

    def truncate(self, p: int, keep: int, cause: str) -> None: ...

    def reset_committed(self, p: int, offset: int) -> None: ...
