"""Queue mode (SQS-like): receive, visibility timeout, delete, dead-letter after max_receives.

A receive takes up to ``max_records`` visible messages, oldest first, partitions (queue
shards) in turn, and makes each invisible for ``visibility_timeout``. A delete is the
acknowledgement. A message received ``max_receives`` times and not deleted moves to the
dead-letter queue on the next receive. A receive with nothing visible long-polls for up to
``fetch_max_wait``.
"""

from __future__ import annotations

from ...config.models import Broker as BrokerConfig
from ...history.ops import Op
from ..messages import (
    ChangeVisibility,
    Delete,
    DeleteAck,
    Envelope,
    Receive,
    ReceiveResponse,
    Record,
)
from .limits import Retention
from .log import BrokerHost, PartitionLog


class QueueStore:
    hosts_group = False
    """Queue mode has no consumer group: consumers receive from every partition."""

    def __init__(self, broker: BrokerHost, cfg: BrokerConfig, retention: Retention) -> None:
        self.broker = broker
        self.retention = retention
        self.visibility_timeout = cfg.visibility_timeout
        self.max_receives = cfg.max_receives
        self.fetch_max_wait = cfg.fetch_max_wait
        partitions = list(broker.logs)
        # per partition: when each in-flight message becomes visible again and how often it was
        # received (durable with the queue)
        self.visible_at: dict[int, dict[int, float]] = {p: {} for p in partitions}
        self.receives: dict[int, dict[int, int]] = {p: {} for p in partitions}
        self.head: dict[int, int] = {p: 0 for p in partitions}
        self._parked: list[tuple[str, Receive]] = []
        self._turn = 0
        broker.on(Receive, self._receive)
        broker.on(Delete, self._delete)
        broker.on(ChangeVisibility, self._extend)

    def backlog(self, p: int, log: PartitionLog) -> int:
        """Messages not yet deleted, dead-lettered or expired."""
        return sum(1 for o in range(self.head[p], log.end) if o not in log.gone)

    def crashed(self) -> None:
        self._parked.clear()

    def truncated(self, p: int, keep: int) -> None:
        """The queue lost its tail: offsets from ``keep`` on will be reused by new messages."""
        self.head[p] = min(self.head[p], keep)
        for table in (self.visible_at[p], self.receives[p]):
            for o in [o for o in table if o >= keep]:
                del table[o]

    def _visible(self, limit: int) -> tuple[list[Record], list[int]]:
        """Take up to ``limit`` visible messages (and how often each was received now)."""
        now = float(self.broker.env.now)
        out: list[Record] = []
        counts: list[int] = []
        parts = sorted(self.broker.logs)
        self._turn = (self._turn + 1) % len(parts)
        for p in parts[self._turn :] + parts[: self._turn]:
            log = self.broker.logs[p]
            while self.head[p] < log.end and self.head[p] in log.gone:
                self.head[p] += 1
            for rec in log.records[self.head[p] :]:
                if len(out) >= limit:
                    break
                n = self._take(p, log, rec, now)
                if n:
                    out.append(rec)
                    counts.append(n)
        return out, counts

    def _take(self, p: int, log: PartitionLog, rec: Record, now: float) -> int:
        """Receive ``rec`` if it is visible: its receive count, or 0 when it is not handed out."""
        o = rec.offset
        if o in log.gone or self.visible_at[p].get(o, 0.0) > now:
            return 0
        broker = self.broker
        if self.retention.keep_fresh(broker, p, log, [rec]) == []:
            return 0
        n = self.receives[p].get(o, 0)
        if self.max_receives is not None and n >= self.max_receives:
            log.gone.add(o)
            broker.dead_letters.append(rec)
            broker.record(
                Op.DEAD_LETTER, broker.name, (rec.eid,), part=p, num=o, detail=f"received {n} times"
            )
            return 0
        self.receives[p][o] = n + 1
        self._invisible_until(p, o, now + self.visibility_timeout)
        return n + 1

    def _invisible_until(self, p: int, o: int, until: float) -> None:
        """Hide message ``o`` until ``until``; a parked receive is answered when it reappears."""
        self.visible_at[p][o] = until
        broker = self.broker
        timer = broker.env.timeout(until - float(broker.env.now))
        timer.callbacks.append(lambda _e: self._reappeared(p, o, until))

    def _reappeared(self, p: int, o: int, until: float) -> None:
        if self.visible_at[p].get(o) == until and o not in self.broker.logs[p].gone:
            self.wake(p)

    def _response(self, request: int, records: list[Record], counts: list[int]) -> ReceiveResponse:
        epochs = {r.partition: self.broker.logs[r.partition].epoch for r in records}
        return ReceiveResponse(request, records, counts, epochs)

    def _receive(self, env: Envelope) -> None:
        consumer, msg = env.src, env.payload
        assert isinstance(msg, Receive)
        records, counts = self._visible(msg.max_records)
        if records:
            self.broker.send(consumer, self._response(msg.request, records, counts))
            self._made_room()
            return
        entry = (consumer, msg)
        self._parked.append(entry)
        incarnation = self.broker.incarnation
        timer = self.broker.env.timeout(self.fetch_max_wait)
        timer.callbacks.append(lambda _e: self._receive_timeout(entry, incarnation))

    def _receive_timeout(self, entry: tuple[str, Receive], incarnation: int) -> None:
        broker = self.broker
        if incarnation != broker.incarnation or entry not in self._parked or broker.state != "up":
            return
        self._parked.remove(entry)
        consumer, msg = entry
        records, counts = self._visible(msg.max_records)
        broker.send(consumer, self._response(msg.request, records, counts))

    def _made_room(self) -> None:
        """Deleted, dead-lettered or expired messages no longer count against capacity."""
        for p in self.broker.logs:
            self.broker.room(p)

    def wake(self, partition: int) -> None:
        """Records were appended or became visible again: answer parked receives."""
        while self._parked and self.broker.state == "up":
            records, counts = self._visible(self._parked[0][1].max_records)
            if not records:
                return
            consumer, msg = self._parked.pop(0)
            self.broker.send(consumer, self._response(msg.request, records, counts))

    def _extend(self, env: Envelope) -> None:
        """ChangeMessageVisibility: the consumer is still working on these messages."""
        msg = env.payload
        assert isinstance(msg, ChangeVisibility)
        now = float(self.broker.env.now)
        for p, offset, epoch in msg.items:
            log = self.broker.logs[p]
            if epoch == log.epoch and offset < log.end and offset not in log.gone:
                self._invisible_until(p, offset, now + self.visibility_timeout)

    def _delete(self, env: Envelope) -> None:
        msg = env.payload
        assert isinstance(msg, Delete)
        broker = self.broker
        for p, offset, epoch in msg.items:
            log = broker.logs[p]
            if epoch == log.epoch and offset < log.end and offset not in log.gone:
                log.gone.add(offset)
                broker.record(
                    Op.DELETE,
                    broker.name,
                    (log.records[offset].eid,),
                    peer=env.src,
                    part=p,
                    num=offset,
                )
        broker.send(env.src, DeleteAck(msg.request))
        self._made_room()
