"""The consumer: reads from the brokers, processes events, applies their effects in the sink.

It composes a *consumption* chosen by the broker mode (a group member's poll loop in log mode,
``group.py``; a receive loop in queue mode, ``queue.py``) and a *commit mode* chosen by its
strategy (``commit.py``). Processing takes the event's process time and then applies its
effect in one sink transaction; a poison event fails every attempt.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator
from typing import Any

from ...config.models import Broker as BrokerConfig
from ...config.models import ConsumerGroup
from ...core.strategies import ConsumerRole
from ...history.ops import Op
from ..context import Context
from ..messages import (
    DeadLetter,
    DeadLetterAck,
    DeleteAck,
    FetchResponse,
    GroupResponse,
    OffsetCommitAck,
    OffsetFetchResponse,
    OffsetMove,
    ReceiveResponse,
    Record,
    SinkAck,
    SinkTxn,
)
from ..node import Node
from ..tasks import Ask, Sleep
from .commit import COMMIT_MODES
from .group import GroupConsumption
from .queue import QueueConsumption

# (Op's members read once: see sim/history/ops.py, Reading a member)
_RECEIVE, _RELEASE = Op.RECEIVE, Op.RELEASE


CONSUMPTIONS: dict[str, type[GroupConsumption | QueueConsumption]] = {
    "log": GroupConsumption,
    "queue": QueueConsumption,
}
"""How a consumer reads (``broker.mode``): as a group member, or from a queue."""


class Consumer(Node):
    role = "consumer"

    def __init__(
        self,
        name: str,
        ctx: Context,
        role: ConsumerRole,
        group: ConsumerGroup,
        broker: BrokerConfig,
        failure_probability: float = 0.0,
        group_name: str = "default",
    ) -> None:
        super().__init__(name, ctx)
        self.group = group
        self.group_name = group_name
        self.sink = ctx.topology.sink_of(group_name)
        """Its group's sink."""
        self.instance = name if group.static_membership else ""
        self.retry_sink = role.retry_sink
        self.dedupe_ids = role.dedupe_ids
        self.dedupe_retention = role.dedupe_retention
        self.failure_probability = failure_probability
        self.attempts: Counter[str] = Counter()
        """Processing attempts per event (by this consumer, across deliveries)."""
        self.dead_letters = role.dead_letter
        self.fetch_wait = broker.fetch_max_wait
        self.max_receives = broker.max_receives
        self.max_records = broker.max_poll_records
        self.visibility_heartbeat = broker.visibility_heartbeat
        self.commit = COMMIT_MODES[role.commit](self)
        self.consumption = CONSUMPTIONS[broker.mode](self)
        self.on_reply(
            FetchResponse,
            OffsetFetchResponse,
            OffsetCommitAck,
            SinkAck,
            GroupResponse,
            ReceiveResponse,
            DeleteAck,
            DeadLetterAck,
        )
        self._reset()

    def _reset(self) -> None:
        """Volatile state: what it holds, where it is, what the coordinator asked."""
        self.assigned: list[int] = []
        self.positions: dict[int, int] = {}
        self.processed: dict[int, int] = {}
        self.committed: dict[int, int] = {}
        self.epochs: dict[int, int] = {}
        self.generation = -1
        self.to_revoke: set[int] = set()
        self.to_take: set[int] = set()
        self.changed = self.env.event()
        self.member_id = ""
        self.last_heartbeat = float(self.env._now)
        self.last_poll = float(self.env._now)
        self.polled = self.env.event()
        self.contact = self.env.event()
        self.fetches = 0
        self.commits = 0

    def on_start(self) -> None:
        self._reset()
        self.consumption.start()

    # ------------------------------------------------------------------ group state

    def mark_polled(self) -> None:
        """The poll loop polls now (``max_poll_interval`` counts from here)."""
        self.last_poll = float(self.env._now)
        if self.polled.callbacks:  # someone waits for a poll (a member that left): tell it
            if not self.polled.triggered:
                self.polled.succeed()
            self.polled = self.env.event()

    def forget(self, partitions: list[int]) -> None:
        for p in partitions:
            for table in (self.positions, self.processed, self.committed):
                table.pop(p, None)

    def abandon(self, why: str, partitions: list[int]) -> None:
        """Give ``partitions`` up without committing: it is no longer a member of the group
        that granted them (Kafka's ``onPartitionsLost``)."""
        gone = sorted(set(partitions) & (set(self.assigned) | self.to_take))
        if not gone:
            return
        self.assigned = [p for p in self.assigned if p not in gone]
        self.to_take -= set(gone)
        self.to_revoke -= set(gone)
        self.forget(gone)
        self.record(Op.ABANDON, self.name, num=self.generation, detail=(why, tuple(gone)))

    # ------------------------------------------------------------------ processing

    def consume(self, broker: str, batch: list[Record]) -> Generator[Any, Any, None]:
        """A fetched batch: record the deliveries, then let the commit mode process it."""
        for rec in batch:
            self.record(
                _RECEIVE,
                self.name,
                (rec.eid,),
                peer=broker,
                part=rec.partition,
                num=rec.offset,
                detail=(0, self.epochs.get(rec.partition, 0)),
            )
        yield from self.commit.consume(broker, batch)

    def process(
        self,
        rec: Record,
        offsets: dict[int, OffsetMove] | None = None,
        attempts: int | None = None,
        dead_letter: bool | None = None,
    ) -> Generator[Any, Any, Any]:
        """Process ``rec`` and apply its effect (with ``offsets``, in the same sink transaction).

        A poison record fails every attempt. The consumer tries it ``attempts`` times in place
        (blocking its partition, as an in-consumer retry handler does), then, if it
        ``dead_letter``s (default: its strategy's choice), publishes it to the dead-letter
        topic and moves on."""
        tries = 0
        while True:
            if rec.process_time > 0:
                yield Sleep(rec.process_time)
            why = self._failure(rec, tries)
            if not why:
                break
            tries += 1
            self.record(
                Op.PROCESS_FAIL, self.name, (rec.eid,), part=rec.partition, num=tries, detail=why
            )
            if attempts is not None and tries >= attempts:
                publish = self.dead_letters if dead_letter is None else dead_letter
                return (yield from self._give_up(rec, offsets, tries, publish))
        dedupe, keep = self.dedupe_ids, self.dedupe_retention
        reply = yield Ask(
            self.sink,
            lambda r: SinkTxn(r, (rec,), offsets, dedupe, keep),
            retry=self.retry_sink,
        )
        self.record(
            _RELEASE, self.name, (rec.eid,), detail="done" if reply is not None else "gave-up"
        )
        return reply

    def _failure(self, rec: Record, tries: int) -> str:
        """Why this attempt fails ("" if it succeeds): poison always; otherwise a transient
        failure with ``workload.failure_probability``, drawn per (event, delivery, attempt)."""
        if rec.poison:
            return "poison"
        if self.failure_probability > 0:
            self.attempts[rec.eid] += 1
            n = self.attempts[rec.eid]
            u = self.ctx.streams.uniform_of(f"workload/failure/{rec.eid}/{self.name}/{n}")
            if u < self.failure_probability:
                return "failure"
        return ""

    def _give_up(
        self,
        rec: Record,
        offsets: dict[int, OffsetMove] | None,
        tries: int,
        dead_letter: bool,
    ) -> Generator[Any, Any, Any]:
        if not dead_letter:
            self.record(_RELEASE, self.name, (rec.eid,), detail="failed")
            return None
        leader = self.topology.leader_of(rec.partition)
        yield Ask(leader, lambda r: DeadLetter(r, rec, f"failed {tries} times"))
        reply = None
        if offsets is not None:  # a transactional consumer still stores its position past it
            reply = yield Ask(self.sink, lambda r: SinkTxn(r, (), offsets))
        self.record(_RELEASE, self.name, (rec.eid,), detail="dead-lettered")
        return reply if reply is not None else True
