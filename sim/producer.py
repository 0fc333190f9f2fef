"""The producer: the application that turns business events into produce requests.

Its policy decides whether it waits for the broker's acknowledgement and whether it resends
after ``request_timeout`` (with exponential backoff). Unacknowledged events live only in its
memory, so a producer crash loses them.

An *idempotent* producer (Kafka's ``enable.idempotence``) first gets a producer id and an
epoch for its transactional id from the coordinator (``broker-0``); every restart bumps the
epoch, which fences requests of the previous instance still in flight. Each request carries
a sequence number per partition, at most ``max_in_flight`` requests are outstanding per
partition, and a resend keeps its sequence, so the broker can acknowledge a duplicate with
its original offset instead of appending it again.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from .messages import (
    Begin,
    Decision,
    Envelope,
    InitProducerId,
    InitProducerIdResponse,
    Outcome,
    Prepare,
    Produce,
    ProduceAck,
    Record,
)
from .node import Node, RequestTracker
from .rng import stable_index
from .twophase import COORDINATOR as TWO_PC_COORDINATOR
from .twophase import Participant
from .workload import Arrival

if TYPE_CHECKING:
    from .world import World

COORDINATOR = "broker-0"


class Producer(Node):
    role = "producer"

    def __init__(self, name: str, world: World) -> None:
        super().__init__(name, world)
        self.cfg = world.cfg.producer
        self.policy = world.strategy.producer
        self.partitions = world.cfg.topology.partitions
        self.acks = RequestTracker(self)
        broker_cfg = world.cfg.broker
        self.blocking = broker_cfg.capacity is not None and broker_cfg.overflow == "block"
        # the producer's own database (durable): business rows, the outbox, 2PC prepared writes
        self.rows: dict[str, str] = {}
        self.outbox: list[Record] = []
        self.relay_wake: simpy.Event | None = None
        self.participant = Participant(self, self._db_vote, self._db_apply)
        self.open_txns: dict[str, simpy.Event] = {}
        self.aborting: dict[str, bool] = {}
        # volatile idempotence state, renewed by every start
        self.pid = -1
        self.epoch = -1
        self.ready: simpy.Event | None = None
        self.next_seq: dict[int, int] = {}
        self.queues: dict[int, list[Record]] = {}
        self.senders: dict[int, simpy.Process] = {}
        self.wake: dict[int, simpy.Event] = {}
        self.seq_acked: dict[tuple[int, int], simpy.Event] = {}
        self.fenced = False

    def partition_of(self, key: int) -> int:
        return stable_index(f"key-{key}", self.partitions)

    def on_start(self) -> None:
        self.open_txns, self.aborting = {}, {}
        for eid, state in sorted(self.rows.items()):
            if state == "open" and eid not in self.participant.prepared:  # rolled back by recovery
                self._txn_end(eid, False, "open at the crash")
        self.participant.recover()
        if self.policy.idempotent:
            self.ready = self.env.event()
            self.next_seq = {}
            self.queues, self.senders, self.wake, self.seq_acked = {}, {}, {}, {}
            self.fenced = False
            self.spawn(self._init_producer_id())

    def on_crash(self) -> None:
        self.acks.clear()
        self.ready = None

    def _init_producer_id(self) -> Generator[Any, Any, None]:
        reply = yield from self.call(COORDINATOR, lambda r: InitProducerId(r, self.name))
        self.pid, self.epoch = reply.pid, reply.epoch
        assert self.ready is not None
        self.ready.succeed()

    def arrive(self, a: Arrival) -> None:
        """A business event arrives from the application (not created if the producer is down)."""
        if self.state == "crashed":
            return
        self.spawn(self._publish(a))

    def _finish(self, eids: tuple[str, ...], copy: str, outcome: str) -> None:
        self.record("release", self.name, eids, info=copy)
        for eid in eids:
            self.record("outcome", self.name, (eid,), info=outcome)

    def _publish(self, a: Arrival) -> Generator[Any, Any, None]:
        yield from self.unpaused()
        part = self.partition_of(a.key)
        rec = Record(a.eid, a.key, part, a.time, a.process_time, poison=a.poison)
        self.record("create", self.name, (a.eid,), part=part, num=a.key, info=repr(a.time))
        broker = self.world.leader_of(part)
        coupling = self.policy.coupling
        if coupling != "none":
            self.record("txn-begin", self.name, (a.eid,))
            yield from self._with_database(a, rec, broker, coupling)
            return
        if not self.policy.await_ack:
            if self.blocking:  # a full partition pushes back: the send waits until there is room
                while True:
                    _, verdict = self.acks.new(a.eid)
                    self.send(broker, Produce((rec,), 1))
                    reply = yield from self.wait_for(verdict, self.cfg.request_timeout)
                    if reply is None or reply.error != "full":
                        break
                    yield from self.sleep(max(self.cfg.backoff.initial, 0.01))
            else:
                self.send(broker, Produce((rec,), 1))
            self._finish((a.eid,), "sent", "ok")
        elif not self.policy.idempotent:
            yield from self._until_acked(broker, (rec,), lambda attempt: Produce((rec,), attempt))
        else:
            self.queues.setdefault(part, []).append(rec)
            if part not in self.senders:
                self.senders[part] = self.spawn(self._sender(part))
            wake = self.wake.pop(part, None)
            if wake is not None:
                wake.succeed()

    # ------------------------------------------------------------------ database-coupled publishing

    def _txn_end(self, eid: str, commit: bool, why: str = "") -> None:
        self.rows[eid] = "committed" if commit else "aborted"
        self.record("txn-commit" if commit else "txn-abort", self.name, (eid,), info=why)

    def _with_database(self, a: Arrival, rec: Record, broker: str, coupling: str) -> Generator[Any, Any, None]:
        eid = a.eid
        publish = lambda attempt: Produce((rec,), attempt)  # noqa: E731
        if coupling == "commit-then-publish":
            if a.aborts:
                self._txn_end(eid, False, "rolled back")
                self._finish((eid,), "aborted", "fail")
                return
            self._txn_end(eid, True)
            self.reach("after-commit-before-publish")  # the intent to publish lives only in memory
            yield from self._until_acked(broker, (rec,), publish)
        elif coupling == "publish-then-commit":
            ok = yield from self._until_acked(broker, (rec,), publish)
            self.reach("before-commit-after-publish")
            if ok:
                self._txn_end(eid, not a.aborts, "" if not a.aborts else "rolled back after publishing")
                if a.aborts:
                    self.record("outcome", self.name, (eid,), info="fail")
        elif coupling == "outbox":
            if a.aborts:
                self._txn_end(eid, False, "rolled back")
                self._finish((eid,), "aborted", "fail")
                return
            # business row and outbox row in one local transaction
            self._txn_end(eid, True)
            self.outbox.append(rec)
            self.record("outbox-write", self.name, (eid,), part=rec.partition)
            self._finish((eid,), "outboxed", "ok")
            self.reach("after-commit-before-publish")
            if self.relay_wake is not None and not self.relay_wake.triggered:
                self.relay_wake.succeed()
        elif coupling == "two-phase-commit":
            yield from self._two_phase(a, rec)

    def _two_phase(self, a: Arrival, rec: Record) -> Generator[Any, Any, None]:
        eid = a.eid
        self.rows[eid] = "open"
        prepared = self.env.event()
        self.open_txns[eid] = prepared
        _, outcome = self.acks.new(eid)
        self.aborting[eid] = a.aborts
        self.send(TWO_PC_COORDINATOR, Begin(rec, a.aborts))
        self.spawn(self._prepare_timeout(eid, prepared))
        cfg = self.world.cfg.two_phase_commit
        reply = yield from self.wait_for(outcome, cfg.prepare_timeout + 2 * self.cfg.request_timeout)
        if reply is None:
            self.acks.forget(eid)
        verdict = "unknown" if reply is None else ("ok" if reply.committed else "fail")
        self.record("release", self.name, (eid,), info="2pc")
        self.record("outcome", self.name, (eid,), info=verdict)

    def _prepare_timeout(self, eid: str, prepared: simpy.Event) -> Generator[Any, Any, None]:
        """A participant that never saw prepare aborts its open transaction on its own."""
        yield from self.wait_for(prepared, self.world.cfg.two_phase_commit.prepare_timeout)
        if not prepared.triggered and self.rows.get(eid) == "open":
            self.rows[eid] = "aborted"
            self.record("txn-abort", self.name, (eid,), info="no prepare in time")

    def _db_vote(self, rec: Record) -> bool:
        ev = self.open_txns.pop(rec.eid, None)
        if ev is not None and not ev.triggered:
            ev.succeed()
        return self.rows.get(rec.eid) == "open" and not self.aborting.get(rec.eid, True)

    def _db_apply(self, rec: Record, commit: bool) -> None:
        self.rows[rec.eid] = "committed" if commit else "aborted"

    # ------------------------------------------------------------------ idempotent sending

    def _sender(self, part: int) -> Generator[Any, Any, None]:
        """Batches what queued for ``part`` while its requests were in flight, in sequence order."""
        assert self.ready is not None
        yield self.ready
        broker = self.world.leader_of(part)
        slots = simpy.Resource(self.env, capacity=self.cfg.max_in_flight)
        while True:
            while not self.queues.get(part):
                self.wake[part] = self.env.event()
                yield self.wake[part]
            slot = slots.request()
            yield slot  # at most max_in_flight requests outstanding per partition
            yield from self.unpaused()
            queue = self.queues[part]
            batch = tuple(queue[: self.cfg.max_batch])
            del queue[: len(batch)]
            seq = self.next_seq.get(part, 0)
            self.next_seq[part] = seq + 1
            self.spawn(self._send_batch(broker, part, seq, batch, slots, slot))

    def _send_batch(self, broker: str, part: int, seq: int, batch: tuple[Record, ...], slots: simpy.Resource, slot: Any) -> Generator[Any, Any, None]:
        pid, epoch = self.pid, self.epoch
        ok = yield from self._until_acked(broker, batch, lambda attempt: Produce(batch, attempt, pid, epoch, seq), (part, seq))
        slots.release(slot)
        if ok:
            self._seq_event(part, seq).succeed()

    def _seq_event(self, part: int, seq: int) -> simpy.Event:
        ev = self.seq_acked.get((part, seq))
        if ev is None:
            ev = self.seq_acked[(part, seq)] = self.env.event()
        return ev

    def _until_acked(self, broker: str, batch: tuple[Record, ...], make: Any, sequence: tuple[int, int] | None = None) -> Generator[Any, Any, bool]:
        """Send until acknowledged; True when it was. An out-of-sequence refusal waits for the
        previous sequence to be acknowledged and resends at once (no backoff)."""
        eids = tuple(r.eid for r in batch)
        key = eids[0]
        attempt = 0
        backoff = self.cfg.backoff
        while True:
            if self.fenced:
                self._finish(eids, "gave-up", "fail")
                return False
            attempt += 1
            _, acked = self.acks.new(key)
            self.send(broker, make(attempt))
            self.reach("after-send-before-ack")
            reply = yield from self.wait_for(acked, self.cfg.request_timeout)
            if reply is not None and not reply.error:
                self._finish(eids, "acked", "ok")
                return True
            if reply is not None and reply.error == "fenced":
                self.fenced = True  # a newer instance owns this transactional id
                self._finish(eids, "gave-up", "fail")
                return False
            if reply is not None and reply.error == "full":  # backpressure: wait for room, not a failure
                yield from self.sleep(max(backoff.initial, 0.01))
                attempt -= 1
                continue
            if reply is not None and reply.error == "out-of-sequence" and sequence is not None:
                part, seq = sequence
                previous = self._seq_event(part, seq - 1) if seq > 0 else None
                if previous is not None and not previous.triggered:  # resend once the earlier one is in
                    yield from self.wait_for(previous, self.cfg.request_timeout)
                else:
                    yield from self.sleep(max(backoff.initial, 1e-3))
                attempt -= 1
                continue
            retries_left = self.cfg.retries is None or attempt <= self.cfg.retries
            if not (self.policy.retry and retries_left):
                self.acks.forget(key)
                self._finish(eids, "gave-up", "fail")
                return False
            pause = backoff.delay(attempt)
            if pause > 0:
                yield from self.sleep(pause)
            if acked.triggered and not getattr(acked.value, "error", ""):  # acknowledged during the backoff
                self._finish(eids, "acked", "ok")
                return True

    def handle(self, env: Envelope) -> None:
        msg = env.payload
        if isinstance(msg, ProduceAck):
            self.acks.resolve(msg.eid, msg)
        elif isinstance(msg, InitProducerIdResponse):
            self.requests.resolve(msg.request, msg)
        elif isinstance(msg, Outcome):
            self.acks.resolve(msg.txn, msg)
        elif isinstance(msg, Prepare):
            self.participant.on_prepare(env.src, msg)
        elif isinstance(msg, Decision):
            self.participant.on_decision(env.src, msg)
