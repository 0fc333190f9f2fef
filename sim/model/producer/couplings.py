"""Couplings: how publishing is tied to the business transaction (``producer.coupling``).

- ``none``: no transaction; the event is handed to the publisher as it arrives.
- ``commit-then-publish``: commit locally, then publish; the intent to publish lives only in
  memory, so a crash in between loses the event.
- ``publish-then-commit``: publish, then commit; a rollback or a crash in between makes a
  phantom (an effect of an event that does not exist).
- ``outbox``: the business row and an outbox row in one local transaction; the relay
  (``sim/model/relay.py``) publishes committed rows.
- ``two-phase-commit``: the business write and the message commit atomically through the
  coordinator (``sim/model/twophase.py``).

A fraction ``abort_probability`` of business transactions roll back (the same events in every
strategy).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from ...config.models import TwoPhaseCommit
from ...history.ops import Op
from ..host import ProducerHost
from ..messages import Begin, Record
from ..workload import Arrival
from .database import ProducerDatabase
from .publishers import Publisher

# (Op's members read once: see sim/history/ops.py, Reading a member)
_OUTCOME, _RELEASE = Op.OUTCOME, Op.RELEASE


class NoCoupling:
    transactional = False
    inline = True
    """Whether an arrival is published by callbacks (:meth:`start`), without a process: a
    coupling that waits for something (a commit, an outcome) runs :meth:`publish` as one."""
    commits_after_publish = False
    """The business transaction commits after the publish: the application learns the outcome
    from the commit, not from the acknowledgement (the producer then tells it nothing when
    the publish succeeds; the coupling does, once the transaction has ended)."""

    def __init__(
        self,
        producer: ProducerHost,
        publisher: Publisher,
        db: ProducerDatabase,
        two_pc: TwoPhaseCommit,
    ) -> None:
        self.producer = producer
        self.publisher = publisher
        self.db = db
        self.two_pc = two_pc

    def start(self, a: Arrival, rec: Record) -> None:
        self.publisher.hand_off(rec)

    def publish(self, a: Arrival, rec: Record) -> Generator[Any, Any, None]:
        self.start(a, rec)
        return
        yield

    def _rolled_back(self, a: Arrival) -> bool:
        """Roll the transaction back if the application aborts it (the event never exists)."""
        if not a.aborts:
            return False
        self.db.end(a.eid, False, "rolled back")
        self.producer.finish((a.eid,), "aborted", "fail")
        return True


class CommitThenPublish(NoCoupling):
    transactional = True
    inline = False

    def publish(self, a: Arrival, rec: Record) -> Generator[Any, Any, None]:
        if self._rolled_back(a):
            return
        self.db.end(a.eid, True)
        self.producer.reach("after-commit-before-publish")  # the intent lives only in memory
        yield from self.publisher.until_acked(rec)


class PublishThenCommit(NoCoupling):
    """Publish, then commit: the application is told ``ok`` only once the transaction has
    committed (``fail`` when it rolls back); a crash in between tells it nothing."""

    transactional = True
    commits_after_publish = True
    inline = False

    def publish(self, a: Arrival, rec: Record) -> Generator[Any, Any, None]:
        self.db.rows[a.eid] = "open"  # a crash before the commit rolls it back (recovery)
        ok = yield from self.publisher.until_acked(rec)
        if not ok:  # the application does not commit what it could not publish
            self.db.end(a.eid, False, "publish failed")
            return
        self.producer.reach("before-commit-after-publish")
        self.db.end(a.eid, not a.aborts, "rolled back after publishing" if a.aborts else "")
        outcome = "fail" if a.aborts else "ok"
        self.producer.record(_OUTCOME, self.producer.name, (a.eid,), detail=outcome)


class Outbox(NoCoupling):
    transactional = True

    def start(self, a: Arrival, rec: Record) -> None:
        if self._rolled_back(a):
            return
        p = self.producer
        self.db.end(a.eid, True)  # business row and outbox row in one local transaction
        self.db.write_outbox(rec)
        p.finish((a.eid,), "outboxed", "ok")
        incarnation = p.incarnation
        p.reach("after-commit-before-publish")
        if p.incarnation != incarnation:
            return  # it crashed at that step
        if self.db.outbox_written is not None:
            self.db.outbox_written()


class TwoPhase(NoCoupling):
    """The application begins a transaction at the coordinator and waits for its outcome; its
    database is a participant, and aborts an open transaction that sees no prepare in time."""

    transactional = True
    inline = False

    def publish(self, a: Arrival, rec: Record) -> Generator[Any, Any, None]:
        p, eid = self.producer, a.eid
        self.db.rows[eid] = "open"
        prepared = p.env.event()
        self.db.open_txns[eid] = prepared
        _, outcome = p.acks.new(eid)
        self.db.aborting[eid] = a.aborts
        p.send(p.topology.two_pc_coordinator, Begin(rec, a.aborts))
        p.spawn(self._prepare_timeout(eid, prepared))
        wait = self.two_pc.prepare_timeout + 2 * p.request_timeout
        reply = yield from p.wait_for(outcome, wait)
        if reply is None:
            p.acks.forget(eid)
        verdict = "unknown" if reply is None else ("ok" if reply.committed else "fail")
        p.record(_RELEASE, p.name, (eid,), detail="2pc")
        p.record(_OUTCOME, p.name, (eid,), detail=verdict)

    def _prepare_timeout(self, eid: str, prepared: Any) -> Generator[Any, Any, None]:
        """A participant that never saw prepare aborts its open transaction on its own."""
        yield from self.producer.wait_for(prepared, self.two_pc.prepare_timeout)
        if not prepared.triggered and self.db.rows.get(eid) == "open":
            self.db.end(eid, False, "no prepare in time")


COUPLINGS: dict[str, type[NoCoupling]] = {
    "none": NoCoupling,
    "commit-then-publish": CommitThenPublish,
    "publish-then-commit": PublishThenCommit,
    "outbox": Outbox,
    "two-phase-commit": TwoPhase,
}
