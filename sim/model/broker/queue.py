"""Queue mode (SQS-like): receive, visibility timeout, delete, dead-letter after max_receives.

A receive takes up to ``max_records`` visible messages, oldest first, partitions (queue
shards) in turn, and makes each invisible for ``visibility_timeout``. A delete is the
acknowledgement. A message received ``max_receives`` times and not deleted moves to the
dead-letter queue on the next receive. A receive with nothing visible long-polls for up to
``fetch_max_wait``.

Each consumer group has a queue of its own (as SNS fanning out to one SQS queue per
subscriber): every appended message is in every group's queue, and each queue keeps its own
head, visibility timers, receive counts, deletions, expiries and dead letters. The broker's
operations on one queue with no consumer to name have the ``peer`` ``group:<name>``.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from ...config.models import Broker as BrokerConfig
from ...core.topology import GROUP_TAG
from ...history.ops import Op
from ..clock import call_later
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
from .offsets import Offsets


@dataclass
class GroupQueue:
    """One group's queue over the partitions the broker leads (durable with the broker)."""

    name: str
    partitions: list[int]
    visible_at: dict[int, dict[int, float]] = field(default_factory=dict)
    """Per partition: when each in-flight message becomes visible again."""
    receives: dict[int, dict[int, int]] = field(default_factory=dict)
    """Per partition: how often each message was received."""
    head: dict[int, int] = field(default_factory=dict)
    """Per partition: every message below is out of this queue for good."""
    gone: dict[int, Offsets] = field(default_factory=dict)
    """Per partition: offsets from the head on deleted, dead-lettered or expired in this
    queue (those below the head are forgotten: the head says they are out)."""
    parked: list[tuple[str, Receive]] = field(default_factory=list)
    turn: int = 0
    scan: dict[int, int] = field(default_factory=dict)
    """Per partition: every message below was received at least once (or is gone)."""
    due: dict[int, list[tuple[float, int]]] = field(default_factory=dict)
    """Per partition: a heap of (visible again at, offset) of the messages received; an entry
    is stale once ``visible_at`` says otherwise (extended, or received again)."""

    def __post_init__(self) -> None:
        self.tag = GROUP_TAG + self.name
        for p in self.partitions:
            self.visible_at[p], self.receives[p] = {}, {}
            self.head[p], self.gone[p] = 0, Offsets()
            self.scan[p], self.due[p] = 0, []

    def reappeared(self, p: int, log: PartitionLog, now: float) -> list[int]:
        """Take from the heap the received messages visible again at ``now``, oldest first."""
        heap, visible_at, scan = self.due[p], self.visible_at[p], self.scan[p]
        found: set[int] = set()
        while heap and heap[0][0] <= now:
            until, o = heapq.heappop(heap)
            if o < scan and visible_at.get(o) == until and not self.done(p, log, o):
                found.add(o)
        return sorted(found)

    def done(self, p: int, log: PartitionLog, o: int) -> bool:
        """Whether message ``o`` of partition ``p`` is out of this queue for good."""
        return o < self.head[p] or o in self.gone[p] or o in log.gone

    def advance(self, p: int, log: PartitionLog) -> None:
        """Move the head past the messages out for good and forget what was kept of them
        (so a queue holds what is in it, not every message it ever had)."""
        was, end, gone = self.head[p], log.end, self.gone[p]
        head = was
        while head < end and (head in gone or head in log.gone):
            head += 1
        if head == was:
            return
        self.head[p] = head
        gone.forget_below(head)
        visible_at, receives = self.visible_at[p], self.receives[p]
        for o in range(was, head):
            visible_at.pop(o, None)
            receives.pop(o, None)

    def backlog(self, p: int, log: PartitionLog) -> int:
        """Messages from the head on not yet out of this queue (gone from the queue or from
        the log: an offset dropped from the log that the queue had deleted counts once)."""
        head, end, gone = self.head[p], log.end, self.gone[p]
        both = sum(1 for o in log.gone.within(head, end) if o in gone)
        return end - head - gone.count(head, end) - log.gone.count(head, end) + both

    def truncated(self, p: int, keep: int) -> None:
        self.head[p] = min(self.head[p], keep)
        for table in (self.visible_at[p], self.receives[p]):
            for o in [o for o in table if o >= keep]:
                del table[o]
        self.gone[p] = self.gone[p].below(keep)
        self.scan[p] = min(self.scan[p], keep)
        self.due[p] = [entry for entry in self.due[p] if entry[1] < keep]
        heapq.heapify(self.due[p])


class QueueStore:
    hosts_group = False
    """Queue mode has no consumer group coordinator: consumers receive from every partition."""

    def __init__(self, broker: BrokerHost, cfg: BrokerConfig, retention: Retention) -> None:
        self.broker = broker
        self.retention = retention
        self.visibility_timeout = cfg.visibility_timeout
        self.max_receives = cfg.max_receives
        self.fetch_max_wait = cfg.fetch_max_wait
        partitions = list(broker.logs)
        self.queues = {g: GroupQueue(g, partitions) for g in broker.topology.group_names}
        broker.on(Receive, self._receive)
        broker.on(Delete, self._delete)
        broker.on(ChangeVisibility, self._extend)

    def backlog(self, p: int, log: PartitionLog, group: str | None = None) -> int:
        """Messages not yet deleted, dead-lettered or expired (in ``group``'s queue; without
        a group, in the fullest)."""
        if group is not None and group in self.queues:
            return self.queues[group].backlog(p, log)
        return max(q.backlog(p, log) for q in self.queues.values())

    def waiting(self, p: int, log: PartitionLog, o: int) -> bool:
        """Whether message ``o`` is still in some group's queue."""
        return any(not q.done(p, log, o) for q in self.queues.values())

    def crashed(self) -> None:
        for q in self.queues.values():
            q.parked.clear()

    def truncated(self, p: int, keep: int) -> None:
        """The queues lost their tail: offsets from ``keep`` on will be reused."""
        for q in self.queues.values():
            q.truncated(p, keep)

    def _visible(self, q: GroupQueue, limit: int) -> tuple[list[Record], list[int]]:
        """Take up to ``limit`` visible messages of ``q`` (and how often each was received):
        in each partition, oldest first, those visible again before those never received
        (whose offsets are all higher). In flight or gone, a message is passed over."""
        now = float(self.broker.env._now)
        out: list[Record] = []
        counts: list[int] = []
        parts = sorted(self.broker.logs)
        q.turn = (q.turn + 1) % len(parts)
        for p in parts[q.turn :] + parts[: q.turn]:
            log = self.broker.logs[p]
            q.advance(p, log)
            q.scan[p] = max(q.scan[p], q.head[p])
            again = q.reappeared(p, log, now)
            for i, o in enumerate(again):
                if len(out) >= limit:  # not taken now: still visible, still due
                    for rest in again[i:]:
                        heapq.heappush(q.due[p], (q.visible_at[p][rest], rest))
                    break
                self._give(q, p, log, o, now, out, counts)
            while q.scan[p] < log.end and len(out) < limit:
                o = q.scan[p]
                q.scan[p] += 1
                if not q.done(p, log, o):
                    self._give(q, p, log, o, now, out, counts)
        return out, counts

    def _give(
        self,
        q: GroupQueue,
        p: int,
        log: PartitionLog,
        o: int,
        now: float,
        out: list[Record],
        counts: list[int],
    ) -> None:
        """Hand out message ``o`` (visible) unless it expires or is dead-lettered."""
        rec = log.records[o]
        n = self._take(q, p, log, rec, now)
        if n:
            out.append(rec)
            counts.append(n)

    def _take(self, q: GroupQueue, p: int, log: PartitionLog, rec: Record, now: float) -> int:
        """Receive ``rec``, a visible message (:meth:`_visible` looked): its receive count, or 0
        when it is not handed out (expired, or dead-lettered)."""
        o = rec.offset
        broker = self.broker
        if not self.retention.keep_fresh(broker, p, log, [rec], q.gone[p], q.tag):
            return 0
        n = q.receives[p].get(o, 0)
        if self.max_receives is not None and n >= self.max_receives:
            q.gone[p].add(o)
            broker.dead_letters.append(rec)
            broker.record(
                Op.DEAD_LETTER,
                broker.name,
                (rec.eid,),
                peer=q.tag,
                part=p,
                num=o,
                detail=f"received {n} times",
            )
            return 0
        q.receives[p][o] = n + 1
        self._invisible_until(q, p, o, now + self.visibility_timeout)
        return n + 1

    def _invisible_until(self, q: GroupQueue, p: int, o: int, until: float) -> None:
        """Hide message ``o`` until ``until``; a parked receive is answered when it reappears."""
        q.visible_at[p][o] = until
        heapq.heappush(q.due[p], (until, o))
        broker = self.broker
        call_later(
            broker.env, until - float(broker.env._now), lambda _c: self._reappeared(q, p, o, until)
        )

    def _reappeared(self, q: GroupQueue, p: int, o: int, until: float) -> None:
        if q.visible_at[p].get(o) == until and not q.done(p, self.broker.logs[p], o):
            self._answer(q)

    def _response(self, request: int, records: list[Record], counts: list[int]) -> ReceiveResponse:
        epochs = {r.partition: self.broker.logs[r.partition].epoch for r in records}
        return ReceiveResponse(request, records, counts, epochs)

    def _receive(self, env: Envelope) -> None:
        consumer, msg = env.src, env.payload
        assert isinstance(msg, Receive)
        q = self.queues[msg.group]
        records, counts = self._visible(q, msg.max_records)
        self._made_room()  # (also when the receive found only expired or dead-lettered ones)
        if records:
            self.broker.send(consumer, self._response(msg.request, records, counts))
            return
        entry = (consumer, msg)
        q.parked.append(entry)
        incarnation = self.broker.incarnation
        call_later(
            self.broker.env,
            self.fetch_max_wait,
            lambda _c: self._receive_timeout(q, entry, incarnation),
        )

    def _receive_timeout(self, q: GroupQueue, entry: tuple[str, Receive], incarnation: int) -> None:
        broker = self.broker
        if incarnation != broker.incarnation or entry not in q.parked or broker.state != "up":
            return
        q.parked.remove(entry)
        consumer, msg = entry
        records, counts = self._visible(q, msg.max_records)
        broker.send(consumer, self._response(msg.request, records, counts))
        self._made_room()

    def _made_room(self) -> None:
        """Deleted, dead-lettered or expired messages no longer count against capacity."""
        for p in self.broker.logs:
            self.broker.room(p)

    def wake(self, partition: int) -> None:
        """Records were appended: answer the parked receives of every queue."""
        for q in self.queues.values():
            self._answer(q)

    def _answer(self, q: GroupQueue) -> None:
        """Answer ``q``'s parked receives while it has visible messages."""
        while q.parked and self.broker.state == "up":
            records, counts = self._visible(q, q.parked[0][1].max_records)
            if not records:
                self._made_room()
                return
            consumer, msg = q.parked.pop(0)
            self.broker.send(consumer, self._response(msg.request, records, counts))
            self._made_room()

    def _extend(self, env: Envelope) -> None:
        """ChangeMessageVisibility: the consumer is still working on these messages."""
        msg = env.payload
        assert isinstance(msg, ChangeVisibility)
        q = self.queues[msg.group]
        now = float(self.broker.env._now)
        for p, offset, epoch in msg.items:
            log = self.broker.logs[p]
            if _handle_valid(log, offset, epoch) and not q.done(p, log, offset):
                self._invisible_until(q, p, offset, now + self.visibility_timeout)

    def _delete(self, env: Envelope) -> None:
        msg = env.payload
        assert isinstance(msg, Delete)
        broker = self.broker
        q = self.queues[msg.group]
        for p, offset, epoch in msg.items:
            log = broker.logs[p]
            if _handle_valid(log, offset, epoch) and not q.done(p, log, offset):
                q.gone[p].add(offset)
                broker.record(
                    Op.DELETE,
                    broker.name,
                    (log.records.eids[offset],),
                    peer=env.src,
                    part=p,
                    num=offset,
                )
        broker.send(env.src, DeleteAck(msg.request))
        self._made_room()


def _handle_valid(log: PartitionLog, offset: int, epoch: int) -> bool:
    """Whether a receipt handle (offset, log epoch) still names the message it was given for:
    the queue has not lost it since (a truncation below it reuses its offset)."""
    point = log.divergence(epoch)
    return offset < log.end and (point is None or offset < point)
