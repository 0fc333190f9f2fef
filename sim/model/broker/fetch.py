"""Log mode (Kafka-like): fetches from the consumers' positions.

A fetch returns up to ``max_poll_records`` records from the consumer's positions; with
nothing to return it long-polls (parks) for up to ``fetch_max_wait`` and is answered as soon
as a record is appended. A fetch made with an older log epoch than the partition's is told
the truncation point, and the consumer rewinds to it (KIP-320). Consumers read committed: no
further than the last stable offset, held back by 2PC transactions prepared and undecided
(KIP-98's LSO). Committed offsets live with the group on the coordinator broker
(``group.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...config.models import Broker as BrokerConfig
from ..clock import Timer
from ..messages import (
    Envelope,
    Fetch,
    FetchResponse,
    Record,
)
from .limits import Retention
from .log import BrokerHost, PartitionLog


@dataclass
class ParkedFetch:
    consumer: str
    request: int
    positions: dict[int, int]
    group: str
    timer: Timer | None = None
    """Its long poll's timer (cancelled when records answer it first)."""


class LogStore:
    hosts_group = True
    """Log mode's consumers form a group, hosted by the coordinator broker."""

    def __init__(self, broker: BrokerHost, cfg: BrokerConfig, retention: Retention) -> None:
        self.broker = broker
        self.retention = retention
        self.max_poll_records = cfg.max_poll_records
        self.max_partition_records = cfg.max_partition_records
        self.fetch_max_wait = cfg.fetch_max_wait
        self._parked: list[ParkedFetch] = []
        broker.on(Fetch, self._fetch)

    def backlog(self, p: int, log: PartitionLog, group: str | None = None) -> int:
        return log.backlog(group)

    def waiting(self, p: int, log: PartitionLog, o: int) -> bool:
        """Whether record ``o`` is not yet read by every group (nor discarded)."""
        return o >= log.fetched and o not in log.gone

    def crashed(self) -> None:
        self._parked.clear()

    def truncated(self, p: int, keep: int) -> None:
        """Nothing to reset: consumers learn of the truncation by its epoch."""

    def _available(self, positions: dict[int, int], group: str) -> list[Record]:
        """Records from each position, partitions in the order the consumer asked (it rotates
        them, KIP-74), at most ``max_partition_records`` per partition and
        ``max_poll_records`` in all."""
        out: list[Record] = []
        budget = self.max_poll_records
        broker = self.broker
        for p, pos in positions.items():
            log = broker.logs[p]
            log.read_to(group, pos)
            stable = log.stable()
            if pos < stable:
                room = min(self.max_partition_records, budget - len(out))
                if log.gone:
                    chunk = []
                    for o in range(pos, stable):
                        if o not in log.gone:
                            chunk.append(log.records[o])
                            if len(chunk) >= room:
                                break
                else:
                    chunk = log.records[pos : min(pos + room, stable)]
                out.extend(self.retention.keep_fresh(broker, p, log, chunk))
            if len(out) >= budget:
                break
        return out

    def _response(
        self,
        request: int,
        positions: dict[int, int],
        resets: dict[int, int],
        group: str,
        records: list[Record] | None = None,
    ) -> FetchResponse:
        """The answer to a fetch: records from the partitions not being reset (``records`` when
        the caller already took them), the log epochs, and the resets."""
        if records is None:
            fresh = {p: pos for p, pos in positions.items() if p not in resets}
            records = self._available(fresh, group)
        epochs = {p: self.broker.logs[p].epoch for p in positions}
        return FetchResponse(request, records, epochs, resets)

    def _fetch(self, env: Envelope) -> None:
        consumer, msg = env.src, env.payload
        assert isinstance(msg, Fetch)
        logs = self.broker.logs
        resets = {}
        for p, pos in msg.positions.items():
            log = logs[p]
            point = log.divergence(msg.epochs.get(p, 0))
            if point is not None or pos > log.end:
                resets[p] = min(pos, log.end if point is None else point)
        fresh = {p: pos for p, pos in msg.positions.items() if p not in resets}
        records = self._available(fresh, msg.group)
        if resets or records:
            reply = self._response(msg.request, msg.positions, resets, msg.group, records)
            self.broker.send(consumer, reply)
            self._made_room(msg.positions)
            return
        self._park(consumer, msg)
        self._made_room(msg.positions)  # what it read up to its positions no longer counts

    def _park(self, consumer: str, msg: Fetch) -> None:
        """Nothing to answer yet: answer when records are appended or the long poll ends. (A
        method of its own: its callback is a closure, which the ``cpdef`` method :meth:`_fetch`
        cannot hold in the compiled build.)"""
        parked = ParkedFetch(consumer, msg.request, dict(msg.positions), msg.group)
        self._parked.append(parked)
        incarnation = self.broker.incarnation
        parked.timer = self.broker.timers.start(
            self.fetch_max_wait, lambda _t: self._expire(parked, incarnation)
        )

    def _expire(self, parked: ParkedFetch, incarnation: int) -> None:
        broker = self.broker
        if incarnation != broker.incarnation or parked not in self._parked:
            return
        if broker.state == "paused":  # answered late, when the pause ends
            broker.when_resumed(lambda: self._expire(parked, incarnation))
            return
        self._parked.remove(parked)
        reply = self._response(parked.request, parked.positions, {}, parked.group)
        broker.send(parked.consumer, reply)
        self._made_room(parked.positions)

    def _made_room(self, positions: dict[int, int]) -> None:
        """What a fetch read no longer counts against a bounded partition's capacity."""
        for p in positions:
            self.broker.room(p)

    def wake(self, partition: int) -> None:
        """Records were appended to ``partition``: answer the fetches parked on it."""
        broker = self.broker
        if not self._parked or broker.state != "up":
            return
        still: list[ParkedFetch] = []
        log = broker.logs[partition]
        end = log.stable()
        for parked in self._parked:
            if partition in parked.positions and parked.positions[partition] < end:
                if parked.timer is not None:
                    parked.timer.cancel()
                reply = self._response(parked.request, parked.positions, {}, parked.group)
                broker.send(parked.consumer, reply)
            else:
                still.append(parked)
        self._parked = still
