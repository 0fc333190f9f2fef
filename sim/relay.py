"""The outbox relay of a producer (``relay-i``): its own node, crashable.

Every ``outbox.poll_interval`` (or, with ``relay: cdc``, as soon as a row commits, tailing the
database's log) it reads up to ``outbox.batch`` committed outbox rows from the producer's database, publishes them as one produce request per partition (the partitions in
parallel, each request retried until acknowledged, which keeps per-key order), then marks
them sent. A crash after publishing and before marking makes the
next poll publish them again: duplicates at the broker with the same event id, which the
idempotent consumer absorbs.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from .messages import Envelope, Produce, ProduceAck
from .node import Node, RequestTracker

if TYPE_CHECKING:
    from .producer import Producer
    from .world import World


class Relay(Node):
    role = "relay"

    def __init__(self, name: str, world: World, producer: Producer) -> None:
        super().__init__(name, world)
        self.producer = producer
        self.cfg = world.cfg.outbox
        self.timeout = world.cfg.producer.request_timeout
        self.backoff = world.cfg.producer.backoff
        self.acks = RequestTracker(self)

    def on_start(self) -> None:
        self.spawn(self._poll())

    def on_crash(self) -> None:
        self.acks.clear()

    def handle(self, env: Envelope) -> None:
        if isinstance(env.payload, ProduceAck) and not env.payload.error:
            self.acks.resolve(env.payload.eid, env.payload)

    def _poll(self) -> Generator[Any, Any, None]:
        while True:
            if self.cfg.relay == "cdc" and not self.producer.outbox:  # tail the log: wake on a commit
                self.producer.relay_wake = self.env.event()
                yield from self.wait_for(self.producer.relay_wake, self.cfg.poll_interval)
            elif self.cfg.relay == "poll":
                yield from self.sleep(self.cfg.poll_interval)
            rows = list(self.producer.outbox[: self.cfg.batch])  # a read of the producer's database
            if not rows:
                continue
            by_partition: dict[int, list[Any]] = {}
            for rec in rows:
                by_partition.setdefault(rec.partition, []).append(rec)
            senders = [self.spawn(self._publish(tuple(batch))) for _, batch in sorted(by_partition.items())]
            yield self.env.all_of(senders)
            yield from self.unpaused()
            self.reach("after-publish-before-mark")
            sent = {r.eid for r in rows}
            self.producer.outbox[:] = [r for r in self.producer.outbox if r.eid not in sent]
            self.record("outbox-mark", self.name, tuple(r.eid for r in rows), peer=self.producer.name)

    def _publish(self, batch: tuple[Any, ...]) -> Generator[Any, Any, None]:
        broker = self.world.leader_of(batch[0].partition)
        attempt = 0
        while True:
            attempt += 1
            _, acked = self.acks.new(batch[0].eid)
            self.send(broker, Produce(batch, attempt))
            reply = yield from self.wait_for(acked, self.timeout)
            if reply is not None:
                return
            pause = self.backoff.delay(attempt)
            if pause > 0:
                yield from self.sleep(pause)
            if acked.triggered:
                return
