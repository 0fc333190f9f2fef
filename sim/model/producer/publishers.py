"""Publishers: how a producer hands records to the broker (a strategy's ``producer.publisher``).

- ``fire-and-forget`` sends once and reports success at once.
- ``retrying`` resends after ``request_timeout`` with exponential backoff until acknowledged, or
  until ``producer.retries`` run out or ``producer.delivery_timeout`` passes (KIP-91): the batch
  then fails and the application is told so.
- ``idempotent`` (Kafka's ``enable.idempotence``) first gets a producer id and an epoch for its
  transactional id from the coordinator broker; every restart bumps the epoch, which fences
  requests of the previous instance still in flight. Each request carries a sequence number
  per partition, at most ``max_in_flight`` requests are outstanding per partition, and a
  resend keeps its sequence, so the broker acknowledges a duplicate with its original offset.
  When a batch fails, or the broker no longer knows the sequence it expects (it truncated its
  log), the producer bumps its epoch and renumbers the batches still unacknowledged from 0
  (KIP-360), so later batches are not refused as out of sequence forever.

Unacknowledged events live only in the producer's memory: a crash loses them.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import simpy

from ...config.models import Producer as ProducerConfig
from ..host import ProducerHost
from ..messages import InitProducerId, Produce, ProduceAck, Record


class Publisher:
    """Fire-and-forget: one send, success reported at once."""

    def __init__(self, producer: ProducerHost, cfg: ProducerConfig) -> None:
        self.producer = producer
        self.cfg = cfg

    def start(self) -> None:
        """The producer (re)started."""

    def crashed(self) -> None:
        """The producer crashed: forget what is volatile."""

    def hand_off(self, rec: Record) -> Generator[Any, Any, None]:
        """Publish ``rec`` on behalf of the application (which is told the outcome)."""
        yield from self.until_acked(rec)

    def until_acked(self, rec: Record) -> Generator[Any, Any, bool]:
        """Publish ``rec``; True when the broker took it (as far as this publisher knows)."""
        p = self.producer
        broker = p.topology.leader_of(rec.partition)
        p.send(broker, Produce((rec,), 1))
        p.finish((rec.eid,), "sent", "ok")
        return True
        yield  # a generator, like every publisher's


class Retrying(Publisher):
    """Resend until acknowledged, with backoff, within ``retries`` and ``delivery_timeout``."""

    fenced = False

    def until_acked(self, rec: Record) -> Generator[Any, Any, bool]:
        broker = self.producer.topology.leader_of(rec.partition)
        records = (rec,)
        ok = yield from self.send_until_acked(broker, records, lambda n: Produce(records, n))
        return ok

    def send_until_acked(
        self,
        broker: str,
        records: tuple[Record, ...],
        make: Callable[[int], Produce],
        batch: Batch | None = None,
    ) -> Generator[Any, Any, bool]:
        """Send until acknowledged; True when it was, False when it failed."""
        try:
            return (yield from self._send(broker, records, make, batch))
        finally:
            self.producer.attempts.pop(records[0].eid, None)

    def _send(
        self,
        broker: str,
        records: tuple[Record, ...],
        make: Callable[[int], Produce],
        batch: Batch | None,
    ) -> Generator[Any, Any, bool]:
        p = self.producer
        eids = tuple(r.eid for r in records)
        deadline = records[0].created_at + self.cfg.delivery_timeout
        attempt = 0
        while True:
            if self.fenced:
                p.finish(eids, "gave-up", "fail")
                return False
            attempt += 1
            _, acked = p.acks.new(eids[0])
            request = make(attempt)
            p.attempts[eids[0]] = attempt
            p.send(broker, request)
            p.reach("after-send-before-ack")
            wait = min(self.cfg.request_timeout, max(0.0, deadline - float(p.env.now)))
            reply = yield from p.wait_for(acked, wait)
            outcome = yield from self._after_reply(reply, eids, request, batch)
            if outcome == "again":
                attempt -= 1
                continue
            if outcome != "retry":
                return outcome == "acked"
            retries_left = self.cfg.retries is None or attempt <= self.cfg.retries
            pause = self.cfg.backoff.delay(attempt)
            if not retries_left or float(p.env.now) + pause >= deadline:
                p.acks.forget(eids[0])
                p.finish(eids, "gave-up", "fail")
                return False
            if pause > 0:
                yield from p.sleep(pause)
            if acked.triggered and not getattr(acked.value, "error", ""):  # acked meanwhile
                outcome = yield from self._after_reply(acked.value, eids, request, batch)
                return outcome == "acked"

    def _after_reply(
        self, reply: ProduceAck | None, eids: tuple[str, ...], request: Produce, batch: Batch | None
    ) -> Generator[Any, Any, str]:
        """What a reply means: ``acked``; ``gave-up`` (fenced by a newer instance); ``again``
        (resend at once, not a failed attempt); ``retry`` (a failed attempt)."""
        p = self.producer
        if reply is None:
            return "retry"
        if not reply.error:
            if batch is not None:
                batch.proven = reply.in_sequence
            p.finish(eids, "acked", "ok")
            return "acked"
        if reply.error in ("fenced", "out-of-sequence") and batch is not None:
            return (yield from self._sequence_refused(reply.error, request, batch, eids))
        return "retry"

    def _sequence_refused(
        self, error: str, request: Produce, batch: Batch, eids: tuple[str, ...]
    ) -> Generator[Any, Any, str]:
        """Only an idempotent producer's requests carry sequences."""
        return "retry"
        yield


@dataclass(eq=False)
class Batch:
    """An idempotent producer's request: its records and its current sequence and epoch
    (both renumbered when the producer bumps its epoch)."""

    records: tuple[Record, ...]
    part: int
    seq: int
    epoch: int
    done: Any = field(default=None)
    """Triggered with True (acknowledged) or False (failed)."""
    proven: bool = False
    """Its acknowledgement says it was stored in sequence (so earlier ones were too)."""


class Idempotent(Retrying):
    """Producer id, epoch and per-partition sequences; batches what queued while in flight."""

    def __init__(self, producer: ProducerHost, cfg: ProducerConfig) -> None:
        super().__init__(producer, cfg)
        self.pid = -1
        self.epoch = -1
        self.ready: simpy.Event | None = None
        self._reset()

    def _reset(self) -> None:
        self.next_seq: dict[int, int] = {}
        self.queues: dict[int, list[Record]] = {}
        self.senders: dict[int, simpy.Process] = {}
        self.wake: dict[int, simpy.Event] = {}
        self.inflight: dict[int, list[Batch]] = {}
        """Unacknowledged batches per partition, in sequence order."""
        self.record_acked: dict[str, simpy.Event] = {}
        self.bumping: simpy.Event | None = None
        self.fenced = False

    def start(self) -> None:
        p = self.producer
        self.ready = p.env.event()
        self._reset()
        p.spawn(self._init_producer_id())

    def crashed(self) -> None:
        self.ready = None

    def _init_producer_id(self) -> Generator[Any, Any, None]:
        p = self.producer
        coordinator = p.topology.group_coordinator
        reply = yield from p.call(coordinator, lambda r: InitProducerId(r, p.name))
        self.pid, self.epoch = reply.pid, reply.epoch
        assert self.ready is not None
        self.ready.succeed()

    def hand_off(self, rec: Record) -> Generator[Any, Any, None]:
        part = rec.partition
        self.queues.setdefault(part, []).append(rec)
        if part not in self.senders:
            self.senders[part] = self.producer.spawn(self._sender(part))
        wake = self.wake.pop(part, None)
        if wake is not None:
            wake.succeed()
        return
        yield

    def until_acked(self, rec: Record) -> Generator[Any, Any, bool]:
        acked = self.record_acked[rec.eid] = self.producer.env.event()
        yield from self.hand_off(rec)
        return bool((yield acked))

    def _sender(self, part: int) -> Generator[Any, Any, None]:
        """Batches what queued for ``part`` while its requests were in flight, in order."""
        p = self.producer
        assert self.ready is not None
        yield self.ready
        broker = p.topology.leader_of(part)
        slots = simpy.Resource(p.env, capacity=self.cfg.max_in_flight)
        while True:
            while not self.queues.get(part):
                self.wake[part] = p.env.event()
                yield self.wake[part]
            slot = slots.request()
            yield slot  # at most max_in_flight requests outstanding per partition
            yield from p.unpaused()
            queue = self.queues[part]
            records = tuple(queue[: self.cfg.max_batch])
            del queue[: len(records)]
            seq = self.next_seq.get(part, 0)
            self.next_seq[part] = seq + 1
            batch = Batch(records, part, seq, self.epoch, p.env.event())
            self.inflight.setdefault(part, []).append(batch)
            p.spawn(self._send_batch(broker, batch, slots, slot))

    def _send_batch(
        self, broker: str, batch: Batch, slots: simpy.Resource, slot: Any
    ) -> Generator[Any, Any, None]:
        def make(attempt: int) -> Produce:
            return Produce(batch.records, attempt, self.pid, batch.epoch, batch.seq)

        ok = yield from self.send_until_acked(broker, batch.records, make, batch)
        slots.release(slot)
        pending = self.inflight.get(batch.part, [])
        if batch in pending:
            pending.remove(batch)
        if ok and batch.proven:
            self._resolve_earlier(batch, pending)
        batch.done.succeed(ok)
        for rec in batch.records:
            waiting = self.record_acked.pop(rec.eid, None)
            if waiting is not None:
                waiting.succeed(ok)
        if not ok and not self.fenced:  # a gap the broker will refuse: start a new epoch
            self.producer.spawn(self._bump())

    def _resolve_earlier(self, batch: Batch, pending: list[Batch]) -> None:
        """The broker accepts a producer's sequences only in order, so an acknowledged batch
        proves every earlier batch of its epoch was stored, even one whose acknowledgement
        was lost (Kafka's resolution of unresolved sequences)."""
        p = self.producer
        for earlier in pending:
            if earlier.epoch == batch.epoch and earlier.seq < batch.seq:
                eids = tuple(r.eid for r in earlier.records)
                proof = ProduceAck(eids[0], batch.part, -1, "", eids, p.attempts.get(eids[0], 0))
                p.acks.resolve(eids[0], proof)

    def _sequence_refused(
        self, error: str, request: Produce, batch: Batch, eids: tuple[str, ...]
    ) -> Generator[Any, Any, str]:
        p = self.producer
        if request.epoch < self.epoch:  # sent before this producer bumped its epoch
            return "again"
        if error == "fenced":  # a newer instance owns this transactional id
            self.fenced = True
            p.finish(eids, "gave-up", "fail")
            return "gave-up"
        pending = self.inflight.get(batch.part, [])
        before = pending[: pending.index(batch)] if batch in pending else []
        if before and not before[-1].done.triggered:  # resend once the earlier one is in
            yield from p.wait_for(before[-1].done, self.cfg.request_timeout)
            return "again"
        yield from self._bump()  # the broker expects a sequence nobody will send: KIP-360
        return "again"

    def _bump(self) -> Generator[Any, Any, None]:
        """Get a new epoch and renumber every unacknowledged batch from 0 in each partition."""
        if self.bumping is not None:
            yield self.bumping
            return
        p = self.producer
        self.bumping = done = p.env.event()
        reply = yield from p.call(p.topology.group_coordinator, lambda r: InitProducerId(r, p.name))
        self.pid, self.epoch = reply.pid, reply.epoch
        for part, batches in self.inflight.items():
            for seq, batch in enumerate(batches):
                batch.seq, batch.epoch = seq, self.epoch
            self.next_seq[part] = len(batches)
        self.bumping = None
        done.succeed()


PUBLISHERS: dict[str, type[Publisher]] = {
    "fire-and-forget": Publisher,
    "retrying": Retrying,
    "idempotent": Idempotent,
}
