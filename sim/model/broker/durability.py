"""Durability: what a broker's crash keeps (``broker.durability``).

- ``fsync`` flushes every append and every committed offset before acknowledging it.
- ``interval`` acknowledges at append and flushes every ``flush_interval``. A process crash
  keeps the page cache, so unflushed writes are lost only when a ``disk-loss`` fault is armed.
- ``memory`` keeps nothing across a crash: logs, committed offsets and producer ids.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from ...history import causes
from .log import BrokerHost, OffsetStore, PartitionLog


class Durability:
    """Fsync: every write is on disk before it is acknowledged (the flush takes
    ``fsync_time``)."""

    def __init__(self, flush_time: Callable[[], float] = lambda: 0.0) -> None:
        self.flush_time = flush_time

    def ack_delay(self) -> float:
        """How long an append waits for its flush before it is acknowledged."""
        return self.flush_time()

    keeps_state = True
    """Whether what lives only in the broker's memory otherwise (producer ids, group state)
    survives a crash."""

    def appended(self, log: PartitionLog) -> None:
        log.flushed = log.end

    def committed(self, offsets: OffsetStore) -> None:
        offsets.flush()

    def start(self, broker: BrokerHost) -> None:
        """Background work of a running broker (none)."""

    def crashed(self, broker: BrokerHost) -> None:
        """What a crash throws away (nothing on disk)."""

    def lose_unflushed(self, broker: BrokerHost, cause: str) -> None:
        """A disk-loss crash: everything was flushed."""


class Interval(Durability):
    """Acknowledge at append; flush every ``flush_interval``."""

    def __init__(self, flush_interval: float) -> None:
        super().__init__()
        self.flush_interval = flush_interval

    def ack_delay(self) -> float:
        return 0.0

    def appended(self, log: PartitionLog) -> None:
        pass

    def committed(self, offsets: OffsetStore) -> None:
        pass

    def start(self, broker: BrokerHost) -> None:
        broker.spawn(self._flusher(broker))

    def _flusher(self, broker: BrokerHost) -> Generator[Any, Any, None]:
        while True:
            yield from broker.sleep(self.flush_interval)
            for log in broker.logs.values():
                log.flushed = log.end
            for offsets in broker.offset_stores.values():
                offsets.flush()

    def lose_unflushed(self, broker: BrokerHost, cause: str) -> None:
        for p, log in broker.logs.items():
            broker.truncate(p, log.flushed, cause)
        for group, offsets in broker.offset_stores.items():
            broker.reset_offsets(group, dict(offsets.flushed), cause)


class Memory(Interval):
    """Nothing survives a crash: the logs are truncated to nothing; committed offsets, group
    state and producer ids are forgotten."""

    keeps_state = False

    def __init__(self) -> None:
        super().__init__(flush_interval=0.0)

    def start(self, broker: BrokerHost) -> None:
        pass

    def crashed(self, broker: BrokerHost) -> None:
        cause = causes.crash(broker.name)
        for p in broker.logs:
            broker.truncate(p, 0, cause)
        for group, offsets in broker.offset_stores.items():
            offsets.flushed = {}
            broker.reset_offsets(group, {}, cause)

    def lose_unflushed(self, broker: BrokerHost, cause: str) -> None:
        pass


DURABILITIES: dict[str, Callable[[float, Callable[[], float]], Durability]] = {
    "fsync": lambda flush_interval, flush_time: Durability(flush_time),
    "interval": lambda flush_interval, flush_time: Interval(flush_interval),
    "memory": lambda flush_interval, flush_time: Memory(),
}
