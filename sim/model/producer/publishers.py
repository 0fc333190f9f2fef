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
from functools import partial
from typing import Any

import simpy

from ...config.models import Producer as ProducerConfig
from ..clock import Call, Timer, call_later, call_soon
from ..host import ProducerHost
from ..messages import InitProducerId, Produce, ProduceAck, Record
from ..node import Handover


class Publisher:
    """Fire-and-forget: one send, success reported at once."""

    def __init__(self, producer: ProducerHost, cfg: ProducerConfig) -> None:
        self.producer = producer
        self.cfg = cfg
        # (read for every batch: a pydantic model's attribute costs a __getattr__ hook)
        self.max_batch = cfg.max_batch
        self.request_timeout = cfg.request_timeout
        self.delivery_timeout = cfg.delivery_timeout

    def start(self) -> None:
        """The producer (re)started."""

    def crashed(self) -> None:
        """The producer crashed: forget what is volatile."""

    def hand_off(self, rec: Record) -> None:
        """Publish ``rec`` on behalf of the application (which is told the outcome); returns
        at once, the publication goes on by itself."""
        self.publish(rec)

    def publish(self, rec: Record, done: Callable[[bool], object] | None = None) -> None:
        """Publish ``rec``; ``done(ok)``, if given, is told whether the broker took it (as far
        as this publisher knows)."""
        p = self.producer
        broker = p.topology.leader_of(rec.partition)
        p.send(broker, Produce((rec,), 1))
        p.finish((rec.eid,), "sent", "ok")
        if done is not None:
            done(True)

    def until_acked(self, rec: Record) -> Generator[Any, Any, bool]:
        """:meth:`publish` for a process: wait for the outcome."""
        outcome = Handover(self.producer.env)
        self.publish(rec, outcome.give)
        return bool((yield from outcome.wait()))


class Retrying(Publisher):
    """Resend until acknowledged, with backoff, within ``retries`` and ``delivery_timeout``."""

    def __init__(self, producer: ProducerHost, cfg: ProducerConfig) -> None:
        super().__init__(producer, cfg)
        self.fenced = False
        """A newer instance owns this producer's transactional id (idempotent producers)."""

    def publish(self, rec: Record, done: Callable[[bool], object] | None = None) -> None:
        broker = self.producer.topology.leader_of(rec.partition)
        records = (rec,)
        Sending(self, broker, records, lambda n: Produce(records, n), None, done).start()

    def sequence_refused(
        self, error: str, request: Produce, batch: Batch, eids: tuple[str, ...]
    ) -> str | Generator[Any, Any, str]:
        """What a refused sequence means (only an idempotent producer's requests carry one):
        ``again``, ``gave-up`` or ``retry``, or a process's generator that first waits and then
        says."""
        return "retry"


class Sending:
    """One produce request of a retrying publisher, in flight: sent, and sent again after a
    timeout or a refusal (after the backoff), until it is acknowledged, given up, or out of
    ``delivery_timeout``; ``done(ok)`` is told the outcome.

    It runs on the producer's callbacks (its acknowledgement, its timer, the end of a backoff)
    instead of a process, and does exactly what the process did: a reply that comes while the
    attempt waits is handled at once; a timer that fires while the producer is paused ends
    the wait at once and decides once the pause is over; an acknowledgement that comes after
    the wait ended (during a backoff, or the pause) is taken when the backoff is over. A crash
    ends it: every callback of an older incarnation does nothing."""

    __slots__ = (
        "publisher",
        "producer",
        "broker",
        "records",
        "eids",
        "make",
        "batch",
        "done",
        "deadline",
        "attempt",
        "incarnation",
        "request",
        "waiting",
        "reply",
        "timer",
        "timeout",
        "ended",
    )

    def __init__(
        self,
        publisher: Retrying,
        broker: str,
        records: tuple[Record, ...],
        make: Callable[[int], Produce],
        batch: Batch | None,
        done: Callable[[bool], object] | None,
    ) -> None:
        self.publisher = publisher
        self.producer = publisher.producer
        self.broker = broker
        self.records = records
        self.eids = (records[0].eid,) if len(records) == 1 else tuple([r.eid for r in records])
        self.make = make
        self.batch = batch
        self.done = done
        self.deadline = records[0].created_at + publisher.delivery_timeout
        self.attempt = 0
        self.incarnation = self.producer.incarnation
        self.request: Produce | None = None
        self.waiting = False
        """An attempt is out and its reply not yet come (nor its timer fired)."""
        self.reply: ProduceAck | None = None
        """The reply to the current attempt, once one came."""
        self.timer = 0
        """The current attempt's number of its timer (an older attempt's is stale)."""
        self.timeout: Timer | None = None
        self.ended = False

    def start(self) -> None:
        self._attempt()

    def _alive(self) -> bool:
        return not self.ended and self.producer.incarnation == self.incarnation

    def _attempt(self) -> None:
        p = self.producer
        if self.publisher.fenced:
            p.finish(self.eids, "gave-up", "fail")
            self._end(False)
            return
        self.attempt += 1
        key = self.eids[0]
        p.acks.wait(key, self.resolved)
        self.reply = None
        self.request = request = self.make(self.attempt)
        p.attempts[key] = self.attempt
        p.send(self.broker, request)
        p.reach("after-send-before-ack")
        if p.incarnation != self.incarnation:
            return  # it crashed at that step
        wait = min(self.publisher.request_timeout, max(0.0, self.deadline - float(p.env._now)))
        self.waiting = True
        self.timer += 1
        self.timeout = p.timers.start(wait, self._timed_out, self.timer)

    def resolved(self, reply: ProduceAck) -> None:
        """The producer's acknowledgement handler resolved this request: a reply the attempt
        waits for is taken at once; one that comes after the wait ended (a timeout, during
        the backoff) is remembered for when the backoff is over."""
        if not self._alive():
            return
        self.reply = reply
        if self.waiting:
            self.waiting = False
            assert self.timeout is not None
            self.timeout.cancel()
            self._replied(reply)

    def _timed_out(self, call: Timer) -> None:
        if call.arg != self.timer or not self.waiting or not self._alive():
            return
        self.waiting = False
        p = self.producer
        if p.state == "paused":  # the wait is over, the decision waits for the pause to end
            p.when_resumed(self._no_reply)
        else:
            self._no_reply()

    def _no_reply(self) -> None:
        if self._alive():
            self._failed()

    def _replied(self, reply: ProduceAck) -> None:
        """What a reply means: acknowledged; fenced by a newer instance (given up); resend at
        once, not counted as a failed attempt; or a failed attempt."""
        if not reply.error:
            if self.batch is not None:
                self.batch.proven = reply.in_sequence
            self.producer.finish(self.eids, "acked", "ok")
            self._end(True)
            return
        if reply.error in ("fenced", "out-of-sequence") and self.batch is not None:
            assert self.request is not None
            verdict = self.publisher.sequence_refused(
                reply.error, self.request, self.batch, self.eids
            )
            if isinstance(verdict, str):
                self._then(verdict)
            else:
                self.producer.spawn(self._after(verdict))
            return
        self._failed()

    def _after(self, verdict: Generator[Any, Any, str]) -> Generator[Any, Any, None]:
        """Wait as the refusal says, then go on."""
        self._then((yield from verdict))

    def _then(self, verdict: str) -> None:
        if verdict == "again":
            self.attempt -= 1
            self._attempt()
        elif verdict == "gave-up":
            self._end(False)
        else:
            self._failed()

    def _failed(self) -> None:
        """A failed attempt: retry after the backoff, or give up."""
        p, cfg = self.producer, self.publisher.cfg
        retries_left = cfg.retries is None or self.attempt <= cfg.retries
        pause = cfg.backoff.delay(self.attempt)
        if not retries_left or float(p.env._now) + pause >= self.deadline:
            p.acks.forget(self.eids[0])
            p.finish(self.eids, "gave-up", "fail")
            self._end(False)
            return
        if pause > 0:
            call_later(p.env, pause, self._backed_off)
        else:
            self._acked_meanwhile()

    def _backed_off(self, _call: Call) -> None:
        if not self._alive():
            return
        if self.producer.state == "paused":
            self.producer.when_resumed(self._resumed_after_backoff)
        else:
            self._acked_meanwhile()

    def _resumed_after_backoff(self) -> None:
        if self._alive():
            self._backed_off(None)  # type: ignore[arg-type]

    def _acked_meanwhile(self) -> None:
        """An acknowledgement that came after the wait ended counts; else send again."""
        reply = self.reply
        if reply is not None and not reply.error:
            self._replied(reply)
        else:
            self._attempt()

    def _end(self, ok: bool) -> None:
        self.ended = True
        self.producer.attempts.pop(self.eids[0], None)
        if self.done is not None:
            self.done(ok)


@dataclass(eq=False)
class Batch:
    """An idempotent producer's request: its records and its current sequence and epoch
    (both renumbered when the producer bumps its epoch)."""

    records: tuple[Record, ...]
    part: int
    seq: int
    epoch: int
    done: Any = field(default=None)
    """An event triggered with True (acknowledged) or False (failed), made only once a resend
    waits for it (most batches have no waiter, and an event nobody waits for would still be
    a step of the kernel's)."""
    proven: bool = False
    """Its acknowledgement says it was stored in sequence (so earlier ones were too)."""
    finished: bool = False
    """Acknowledged or failed."""


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
        self.lanes: dict[int, Lane] = {}
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

    def hand_off(self, rec: Record) -> None:
        part = rec.partition
        self.queues.setdefault(part, []).append(rec)
        lane = self.lanes.get(part)
        if lane is None:
            self.lanes[part] = Lane(self, part)
        elif lane.idle:
            lane.wake()

    def until_acked(self, rec: Record) -> Generator[Any, Any, bool]:
        acked = self.record_acked[rec.eid] = self.producer.env.event()
        self.hand_off(rec)
        return bool((yield acked))

    def batch_done(self, batch: Batch, ok: bool) -> None:
        """``batch`` was acknowledged (``ok``) or failed."""
        pending = self.inflight.get(batch.part, [])
        if batch in pending:
            pending.remove(batch)
        if ok and batch.proven:
            self._resolve_earlier(batch, pending)
        assert not batch.finished, "a batch ends once"
        batch.finished = True
        if batch.done is not None:
            batch.done.succeed(ok)
        for rec in batch.records:
            waiting = self.record_acked.pop(rec.eid, None)
            if waiting is not None:
                waiting.succeed(ok)
        if not ok and not self.fenced:  # a gap the broker will refuse: start a new epoch
            self.producer.spawn(self._bump())

    def _produce_request(self, batch: Batch, attempt: int) -> Produce:
        """The produce request of ``batch``'s attempt ``attempt``."""
        return Produce(batch.records, attempt, self.pid, batch.epoch, batch.seq)

    def _resolve_earlier(self, batch: Batch, pending: list[Batch]) -> None:
        """The broker accepts a producer's sequences only in order, so an acknowledged batch
        proves every earlier batch of its epoch was stored, even one whose acknowledgement
        was lost (Kafka's resolution of unresolved sequences)."""
        p = self.producer
        for earlier in list(pending):  # (each one resolved leaves `pending` at once)
            if earlier.epoch == batch.epoch and earlier.seq < batch.seq:
                eids = tuple(r.eid for r in earlier.records)
                proof = ProduceAck(eids[0], batch.part, -1, "", eids, p.attempts.get(eids[0], 0))
                p.acks.resolve(eids[0], proof)

    def sequence_refused(
        self, error: str, request: Produce, batch: Batch, eids: tuple[str, ...]
    ) -> str | Generator[Any, Any, str]:
        p = self.producer
        if request.epoch < self.epoch:  # sent before this producer bumped its epoch
            return "again"
        if error == "fenced":  # a newer instance owns this transactional id
            self.fenced = True
            p.finish(eids, "gave-up", "fail")
            return "gave-up"
        pending = self.inflight.get(batch.part, [])
        before = pending[: pending.index(batch)] if batch in pending else []
        if before and not before[-1].finished:  # resend once the earlier one is in
            earlier = before[-1]
            if earlier.done is None:
                earlier.done = p.env.event()
            return self._after_earlier(earlier.done)
        return self._after_bump()  # the broker expects a sequence nobody will send: KIP-360

    def _after_earlier(self, done: simpy.Event) -> Generator[Any, Any, str]:
        yield from self.producer.wait_for(done, self.request_timeout)
        return "again"

    def _after_bump(self) -> Generator[Any, Any, str]:
        yield from self._bump()
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


class Lane:
    """One partition's sender of an idempotent publisher: it sends what queued for the
    partition while its requests were in flight as one batch, in order, with at most
    ``max_in_flight`` requests outstanding (the slots).

    It runs on kernel callbacks instead of a process and a ``simpy.Resource``, each at exactly
    the place in the kernel's order where the process's step was (so a run gives the same
    results): it starts where a spawned process starts (:func:`call_soon`), once the producer
    has its id; it is woken where a succeeded event wakes a process; a slot is granted where
    the resource's grant is processed (at once when one is free, else where the release
    event that frees one is processed); each batch's sending starts where its spawned process
    started. A crash ends it: every callback of an older incarnation does nothing."""

    __slots__ = ("publisher", "producer", "part", "incarnation", "broker", "free", "idle", "queued")

    def __init__(self, publisher: Idempotent, part: int) -> None:
        self.publisher = publisher
        self.producer = publisher.producer
        self.part = part
        self.incarnation = self.producer.incarnation
        self.broker = ""
        self.free = 0
        """Slots free: ``max_in_flight`` less the requests outstanding."""
        self.idle = False
        """It waits for records to send (:meth:`wake` it)."""
        self.queued = False
        """It waits for a free slot."""
        call_soon(self.producer.env, self._started)

    def _alive(self) -> bool:
        return self.producer.incarnation == self.incarnation

    def _started(self, _call: Call) -> None:
        if not self._alive():
            return
        ready = self.publisher.ready
        assert ready is not None
        if ready.callbacks is not None:  # not processed yet: wait for it (as `yield ready`)
            ready.callbacks.append(self._ready)
        else:
            self._ready(ready)

    def _ready(self, _event: Any) -> None:
        if not self._alive():
            return
        self.broker = self.producer.topology.leader_of(self.part)
        self.free = self.publisher.cfg.max_in_flight
        self._next()

    def wake(self) -> None:
        """Records queued while it was idle."""
        self.idle = False
        call_later(self.producer.env, 0, self._woken)

    def _woken(self, _call: Call) -> None:
        if self._alive():
            self._next()

    def _next(self) -> None:
        """Wait for records, then for a slot."""
        if not self.publisher.queues.get(self.part):
            self.idle = True
        elif self.free > 0:
            self.free -= 1
            call_later(self.producer.env, 0, self._granted)
        else:
            self.queued = True

    def _granted(self, _call: Call | None) -> None:
        if not self._alive():
            return
        p = self.producer
        if p.state == "paused":  # go on once the pause is over
            p.when_resumed(self._resumed)
            return
        pub = self.publisher
        part = self.part
        queue = pub.queues[part]
        records = tuple(queue[: pub.max_batch])
        del queue[: len(records)]
        seq = pub.next_seq.get(part, 0)
        pub.next_seq[part] = seq + 1
        batch = Batch(records, part, seq, pub.epoch)
        pub.inflight.setdefault(part, []).append(batch)
        call_soon(p.env, self._send, batch)
        self._next()

    def _resumed(self) -> None:
        self._granted(None)

    def _send(self, call: Call) -> None:
        if not self._alive():
            return
        batch: Batch = call.arg
        pub = self.publisher
        make = partial(pub._produce_request, batch)
        Sending(pub, self.broker, batch.records, make, batch, partial(self._sent, batch)).start()

    def _sent(self, batch: Batch, ok: bool) -> None:
        """Its sending ended: free its slot, then conclude."""
        self.free += 1
        call_later(self.producer.env, 0, self._released)
        self.publisher.batch_done(batch, ok)

    def _released(self, _call: Call) -> None:
        """A slot freed: the wait for one, if it is still on, asks again (what waits for a
        slot has records queued: only this lane takes them)."""
        if self.queued and self._alive():
            self.queued = False
            self._next()


PUBLISHERS: dict[str, type[Publisher]] = {
    "fire-and-forget": Publisher,
    "retrying": Retrying,
    "idempotent": Idempotent,
}
