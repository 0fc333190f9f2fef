"""The producer: the service that turns business events into produce requests.

It composes a *publisher* (how records reach the broker: ``publishers.py``) and a *coupling*
(how publishing relates to its business transaction: ``couplings.py``), both chosen by its
strategy. Its database (``database.py``) is durable and shared with its outbox relay; it is
also a 2PC participant.
"""

from __future__ import annotations

from collections.abc import Generator
from functools import partial
from typing import Any

import simpy

from ...config.models import Producer as ProducerConfig
from ...config.models import TwoPhaseCommit
from ...core.rng import stable_index
from ...core.strategies import ProducerRole
from ...history import causes
from ...history.ops import Op
from ..context import Context
from ..messages import (
    Envelope,
    InitProducerIdResponse,
    Outcome,
    ProduceAck,
    Record,
    new_record,
)
from ..node import Node, NodeCrashed, RequestTracker
from ..twophase import Participant
from ..workload import Arrival
from .couplings import COUPLINGS
from .database import ProducerDatabase
from .publishers import PUBLISHERS

# (Op's members read once: see sim/history/ops.py, Reading a member)
_CREATE, _RELEASE, _OUTCOME, _TXN_BEGIN = Op.CREATE, Op.RELEASE, Op.OUTCOME, Op.TXN_BEGIN


class Producer(Node):
    role = "producer"

    def __init__(
        self,
        name: str,
        ctx: Context,
        cfg: ProducerConfig,
        role: ProducerRole,
        database: ProducerDatabase,
        two_pc: TwoPhaseCommit,
    ) -> None:
        super().__init__(name, ctx)
        self.cfg = cfg
        self.database = database
        self.acks = RequestTracker(self.env)
        """Replies keyed by the first event id of a request (or the 2PC transaction)."""
        self.attempts: dict[str, int] = {}
        """The attempt in flight per request (keyed as ``acks``)."""
        self._partitions: dict[int, int] = {}
        """Key -> its partition (the stable hash, computed once per key)."""
        self._waiting: list[Arrival] = []
        """Arrivals that came during a pause (a coupling without a process of its own)."""
        self.publisher = PUBLISHERS[role.publisher](self, cfg)
        self.coupling = COUPLINGS[role.coupling](self, self.publisher, database, two_pc)
        self.participant = Participant(self, two_pc, database.vote, database.apply)
        self.on(ProduceAck, self._on_ack)
        self.on(Outcome, self._on_outcome)
        self.on_reply(InitProducerIdResponse)

    def partition_of(self, key: int) -> int:
        part = self._partitions.get(key)
        if part is None:
            part = self._partitions[key] = stable_index(f"key-{key}", self.topology.partitions)
        return part

    def on_start(self) -> None:
        self.database.recover(self.participant.prepared)
        self.participant.recover()
        self.publisher.start()

    def on_crash(self) -> None:
        self.acks.clear()
        self.attempts.clear()
        self.publisher.crashed()
        waiting, self._waiting = self._waiting, []
        for a in waiting:  # arrivals that waited out a pause, refused in the order they came
            self._refuse(a)

    def _on_ack(self, env: Envelope) -> None:
        msg = env.payload
        assert isinstance(msg, ProduceAck)
        if msg.error and msg.attempt != self.attempts.get(msg.eid, msg.attempt):
            return  # a late refusal of an earlier attempt: the current one is still out
        self.acks.resolve(msg.eid, msg)

    def _on_outcome(self, env: Envelope) -> None:
        msg = env.payload
        assert isinstance(msg, Outcome)
        self.acks.resolve(msg.txn, msg)

    def arrive(self, a: Arrival) -> None:
        """A business event arrives from the application; while the service is down, it is
        refused (the application is told it failed), while it is paused it waits."""
        if self.state == "crashed":
            self._refuse(a)
        elif not self.coupling.inline:
            self.spawn(self._publish(a))
        elif self.state == "paused":  # unhandled until the pause ends: a crash refuses it
            self._waiting.append(a)
            self.when_resumed(partial(self._unpaused, a, self.incarnation))
        else:
            self._start(a)

    def _unpaused(self, a: Arrival, incarnation: int) -> None:
        if incarnation != self.incarnation:
            return  # refused by the crash
        if self.state == "paused":
            self.when_resumed(partial(self._unpaused, a, incarnation))
            return
        self._waiting.remove(a)
        self._start(a)

    def _refuse(self, a: Arrival) -> None:
        """The service never handled ``a``: the application is told it failed."""
        part = self.partition_of(a.key)
        self.record(_CREATE, self.name, (a.eid,), part=part, num=a.key, detail=a.time)
        self.record(Op.REFUSED, self.name, (a.eid,), detail=causes.crash(self.name))
        self.record(_OUTCOME, self.name, (a.eid,), detail="fail")

    def _created(self, a: Arrival) -> Record:
        """Take ``a`` in: the record to publish, and its creation in the history."""
        part = self.partition_of(a.key)
        rec = new_record(a.eid, a.key, part, a.time, a.process_time, -1, a.poison)
        self.record(_CREATE, self.name, (a.eid,), part=part, num=a.key, detail=a.time)
        if self.coupling.transactional:
            self.record(_TXN_BEGIN, self.name, (a.eid,))
        return rec

    def _start(self, a: Arrival) -> None:
        """Publish ``a`` now, by the coupling's callbacks (no process)."""
        self.coupling.start(a, self._created(a))

    def _publish(self, a: Arrival) -> Generator[Any, Any, None]:
        try:  # an arrival during a pause waits for it, unhandled: a crash meanwhile refuses it
            yield from self.unpaused()
        except (simpy.Interrupt, NodeCrashed):
            self._refuse(a)
            raise
        yield from self.coupling.publish(a, self._created(a))

    def finish(self, eids: tuple[str, ...], copy: str, outcome: str) -> None:
        """Let go of the in-memory copy of ``eids`` and tell the application ``outcome`` (a
        successful publish whose transaction commits after it is told by the coupling)."""
        self.record(_RELEASE, self.name, eids, detail=copy)
        if outcome == "ok" and self.coupling.commits_after_publish:
            return
        for eid in eids:
            self.record(_OUTCOME, self.name, (eid,), detail=outcome)
