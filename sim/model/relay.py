"""The outbox relay of a producer (``relay-i``): its own node, crashable, running in the
producer's service (``Topology.host_of``).

``relay: poll`` reads up to ``outbox.batch`` committed outbox rows every
``outbox.poll_interval``, publishes them as one produce request per partition (the partitions
in parallel, each request retried until acknowledged, which keeps per-key order), then marks
them sent (deletes them). A crash after publishing and before marking makes the next read
publish them again.

``relay: cdc`` tails the database's log as Debezium does: it wakes as soon as a row commits,
publishes from its in-memory source position, and stores that position only every
``outbox.offset_flush_interval`` (the rows below the stored position are then gone from the
log it tails). A crash loses the position: the restarted relay replays every row since the
last flush. Either way the replays are duplicates at the broker with the same event id, which
the idempotent consumer absorbs.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from ..config.models import Backoff, Outbox
from ..history.ops import Op
from .context import Context
from .messages import Envelope, Produce, ProduceAck, Record
from .node import Node, RequestTracker
from .producer.database import ProducerDatabase


class PollTrigger:
    """Read the outbox table every ``poll_interval``."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay

    def wait(self) -> Generator[Any, Any, None]:
        yield from self.relay.sleep(self.relay.cfg.poll_interval)


class CdcTrigger(PollTrigger):
    """Tail the database's log: wake as soon as an outbox row commits."""

    def __init__(self, relay: Relay) -> None:
        super().__init__(relay)
        self.wake: simpy.Event | None = None
        relay.database.outbox_written = self._written

    def _written(self) -> None:
        if self.wake is not None and not self.wake.triggered:
            self.wake.succeed()

    def wait(self) -> Generator[Any, Any, None]:
        relay = self.relay
        if len(relay.database.outbox) <= relay.position:
            self.wake = relay.env.event()
            yield from relay.wait_for(self.wake, relay.cfg.poll_interval)


TRIGGERS = {"poll": PollTrigger, "cdc": CdcTrigger}


class Relay(Node):
    role = "relay"

    def __init__(
        self,
        name: str,
        ctx: Context,
        cfg: Outbox,
        backoff: Backoff,
        database: ProducerDatabase,
        delivery_timeout: float = 120.0,
    ) -> None:
        super().__init__(name, ctx)
        self.cfg = cfg
        self.database = database
        self.timeout = ctx.request_timeout
        self.backoff = backoff
        self.delivery_timeout = delivery_timeout
        self.acks = RequestTracker(self.env)
        self.trigger = TRIGGERS[cfg.relay](self)
        self.tails_log = cfg.relay == "cdc"
        self.position = 0
        """``cdc``: outbox rows (from the last stored position) already published (volatile)."""
        self.stored = 0
        """``cdc``: rows below the stored position so far (they left the outbox)."""
        self.on(ProduceAck, self._on_ack)

    def on_start(self) -> None:
        self.position = 0  # replay from the last stored position
        self.spawn(self._poll())
        if self.tails_log:
            self.spawn(self._flush_offsets())

    def on_crash(self) -> None:
        self.acks.clear()

    def _on_ack(self, env: Envelope) -> None:
        msg = env.payload
        assert isinstance(msg, ProduceAck)
        if not msg.error:
            self.acks.resolve(msg.eid, msg)

    def _poll(self) -> Generator[Any, Any, None]:
        while True:
            yield from self.trigger.wait()
            start, stored = self.position, self.stored  # a read of the database (its log)
            rows = list(self.database.outbox[start : start + self.cfg.batch])
            if not rows:
                continue
            by_partition: dict[int, list[Record]] = {}
            for rec in rows:
                by_partition.setdefault(rec.partition, []).append(rec)
            batches = [tuple(batch) for _, batch in sorted(by_partition.items())]
            senders = [self.spawn(self._publish(batch)) for batch in batches]
            yield self.env.all_of(senders)
            yield from self.unpaused()
            self.reach("after-publish-before-mark")
            sent = [r for batch, s in zip(batches, senders, strict=True) if s.value for r in batch]
            if self.tails_log:  # the position moves past a read only once all of it is out
                if len(sent) == len(rows):  # (a flush may have moved the rows meanwhile)
                    self.position = max(self.position, start + stored - self.stored + len(rows))
            elif sent:  # rows whose publication failed stay in the outbox for the next read
                self._mark(sent)

    def _mark(self, rows: list[Record]) -> None:
        self.database.mark_sent({r.eid for r in rows})
        eids = tuple(r.eid for r in rows)
        self.record(Op.OUTBOX_MARK, self.name, eids, peer=self.database.owner)

    def _flush_offsets(self) -> Generator[Any, Any, None]:
        """``cdc``: store the source position every ``offset_flush_interval``."""
        while True:
            yield from self.sleep(self.cfg.offset_flush_interval)
            if self.position:
                self._mark(list(self.database.outbox[: self.position]))
                self.stored += self.position
                self.position = 0

    def _publish(self, batch: tuple[Record, ...]) -> Generator[Any, Any, bool]:
        """Publish one partition's rows, retried until acknowledged (True) or until
        ``producer.delivery_timeout`` passes (False)."""
        broker = self.topology.leader_of(batch[0].partition)
        deadline = float(self.env._now) + self.delivery_timeout
        attempt = 0
        while True:
            attempt += 1
            _, acked = self.acks.new(batch[0].eid)
            self.send(broker, Produce(batch, attempt))
            wait = min(self.timeout, max(0.0, deadline - float(self.env._now)))
            reply = yield from self.wait_for(acked, wait)
            if reply is not None:
                return True
            pause = self.backoff.delay(attempt)
            if float(self.env._now) + pause >= deadline:
                return False
            if pause > 0:
                yield from self.sleep(pause)
            if acked.triggered:
                return True
