"""Publishers: how a producer hands records to the broker (a strategy's ``producer.publisher``).

- ``fire-and-forget`` sends once and reports success at once (with ``overflow: block`` it waits
  while the partition reports it is full).
- ``retrying`` resends after ``request_timeout`` with exponential backoff until acknowledged (or
  ``producer.retries`` run out).
- ``idempotent`` (Kafka's ``enable.idempotence``) first gets a producer id and an epoch for its
  transactional id from the coordinator broker; every restart bumps the epoch, which fences
  requests of the previous instance still in flight. Each request carries a sequence number
  per partition, at most ``max_in_flight`` requests are outstanding per partition, and a
  resend keeps its sequence, so the broker acknowledges a duplicate with its original offset.

Unacknowledged events live only in the producer's memory: a crash loses them.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import simpy

from ...config.models import Producer as ProducerConfig
from ..host import ProducerHost
from ..messages import InitProducerId, Produce, ProduceAck, Record


class Publisher:
    """Fire-and-forget: one send, success reported at once."""

    def __init__(self, producer: ProducerHost, cfg: ProducerConfig, blocking: bool) -> None:
        self.producer = producer
        self.cfg = cfg
        self.blocking = blocking

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
        if self.blocking:  # a full partition pushes back: the send waits until there is room
            while True:
                _, verdict = p.acks.new(rec.eid)
                p.send(broker, Produce((rec,), 1))
                reply = yield from p.wait_for(verdict, self.cfg.request_timeout)
                if reply is None or reply.error != "full":
                    break
                yield from p.sleep(max(self.cfg.backoff.initial, 0.01))
        else:
            p.send(broker, Produce((rec,), 1))
        p.finish((rec.eid,), "sent", "ok")
        return True


class Retrying(Publisher):
    """Resend until acknowledged, with backoff (``producer.retries`` caps the resends)."""

    fenced = False

    def until_acked(self, rec: Record) -> Generator[Any, Any, bool]:
        broker = self.producer.topology.leader_of(rec.partition)
        batch = (rec,)
        return (
            yield from self.send_until_acked(broker, batch, lambda attempt: Produce(batch, attempt))
        )

    def send_until_acked(
        self,
        broker: str,
        batch: tuple[Record, ...],
        make: Callable[[int], Produce],
        sequence: tuple[int, int] | None = None,
    ) -> Generator[Any, Any, bool]:
        """Send until acknowledged; True when it was. An out-of-sequence refusal waits for the
        previous sequence to be acknowledged and resends at once (no backoff)."""
        p = self.producer
        eids = tuple(r.eid for r in batch)
        key = eids[0]
        attempt = 0
        while True:
            if self.fenced:
                p.finish(eids, "gave-up", "fail")
                return False
            attempt += 1
            _, acked = p.acks.new(key)
            p.send(broker, make(attempt))
            p.reach("after-send-before-ack")
            reply = yield from p.wait_for(acked, self.cfg.request_timeout)
            outcome = yield from self._after_reply(reply, eids, sequence)
            if outcome == "again":
                attempt -= 1
                continue
            if outcome != "retry":
                return outcome == "acked"
            if not (self.cfg.retries is None or attempt <= self.cfg.retries):
                p.acks.forget(key)
                p.finish(eids, "gave-up", "fail")
                return False
            pause = self.cfg.backoff.delay(attempt)
            if pause > 0:
                yield from p.sleep(pause)
            if acked.triggered and not getattr(acked.value, "error", ""):  # acked meanwhile
                p.finish(eids, "acked", "ok")
                return True

    def _after_reply(
        self, reply: ProduceAck | None, eids: tuple[str, ...], sequence: tuple[int, int] | None
    ) -> Generator[Any, Any, str]:
        """What a reply means: ``acked``; ``gave-up`` (fenced); ``again`` (resend at once,
        not counted as a failed attempt); ``retry`` (a failed attempt: timeout or refusal)."""
        p = self.producer
        if reply is None:
            return "retry"
        if not reply.error:
            p.finish(eids, "acked", "ok")
            return "acked"
        if reply.error == "fenced":
            self.fenced = True  # a newer instance owns this transactional id
            p.finish(eids, "gave-up", "fail")
            return "gave-up"
        if reply.error == "full":  # backpressure: wait for room, not a failure
            yield from p.sleep(max(self.cfg.backoff.initial, 0.01))
            return "again"
        if reply.error == "out-of-sequence" and sequence is not None:
            yield from self._after_gap(sequence)
            return "again"
        return "retry"

    def _after_gap(self, sequence: tuple[int, int]) -> Generator[Any, Any, None]:
        yield from self.producer.sleep(max(self.cfg.backoff.initial, 1e-3))


class Idempotent(Retrying):
    """Producer id, epoch and per-partition sequences; batches what queued while in flight."""

    def __init__(self, producer: ProducerHost, cfg: ProducerConfig, blocking: bool) -> None:
        super().__init__(producer, cfg, blocking)
        self.pid = -1
        self.epoch = -1
        self.ready: simpy.Event | None = None
        self._reset()

    def _reset(self) -> None:
        self.next_seq: dict[int, int] = {}
        self.queues: dict[int, list[Record]] = {}
        self.senders: dict[int, simpy.Process] = {}
        self.wake: dict[int, simpy.Event] = {}
        self.seq_acked: dict[tuple[int, int], simpy.Event] = {}
        self.record_acked: dict[str, simpy.Event] = {}
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
            batch = tuple(queue[: self.cfg.max_batch])
            del queue[: len(batch)]
            seq = self.next_seq.get(part, 0)
            self.next_seq[part] = seq + 1
            p.spawn(self._send_batch(broker, part, seq, batch, slots, slot))

    def _send_batch(
        self,
        broker: str,
        part: int,
        seq: int,
        batch: tuple[Record, ...],
        slots: simpy.Resource,
        slot: Any,
    ) -> Generator[Any, Any, None]:
        pid, epoch = self.pid, self.epoch
        make = lambda attempt: Produce(batch, attempt, pid, epoch, seq)  # noqa: E731
        ok = yield from self.send_until_acked(broker, batch, make, (part, seq))
        slots.release(slot)
        if ok:
            self._seq_event(part, seq).succeed()
        for rec in batch:
            waiting = self.record_acked.pop(rec.eid, None)
            if waiting is not None:
                waiting.succeed(ok)

    def _seq_event(self, part: int, seq: int) -> simpy.Event:
        ev = self.seq_acked.get((part, seq))
        if ev is None:
            ev = self.seq_acked[(part, seq)] = self.producer.env.event()
        return ev

    def _after_gap(self, sequence: tuple[int, int]) -> Generator[Any, Any, None]:
        part, seq = sequence
        previous = self._seq_event(part, seq - 1) if seq > 0 else None
        if previous is not None and not previous.triggered:  # resend once the earlier one is in
            yield from self.producer.wait_for(previous, self.cfg.request_timeout)
        else:
            yield from self.producer.sleep(max(self.cfg.backoff.initial, 1e-3))


PUBLISHERS: dict[str, type[Publisher]] = {
    "fire-and-forget": Publisher,
    "retrying": Retrying,
    "idempotent": Idempotent,
}
