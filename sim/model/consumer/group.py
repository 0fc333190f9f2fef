"""Log-mode consumption: a group member with a single-threaded poll loop (as Kafka's).

Membership runs beside the poll loop: join, heartbeat, and apply what the coordinator says
(revoke, take) between batches, as Kafka's ``poll()`` does; a partition taken over starts
from its committed offset (the commit mode says where that is kept).
"""

from __future__ import annotations

from collections.abc import Generator
from functools import partial
from typing import Any

from ...history.ops import Op
from ..host import ConsumerHost
from ..messages import Fetch, GroupResponse, Heartbeat, JoinGroup


class GroupConsumption:
    def __init__(self, consumer: ConsumerHost) -> None:
        self.consumer = consumer

    def start(self) -> None:
        c = self.consumer
        c.spawn(self._membership())
        c.spawn(self._run())
        c.commit.start()

    # ------------------------------------------------------------------ membership

    def _membership(self) -> Generator[Any, Any, None]:
        c = self.consumer
        coordinator = c.topology.group_coordinator
        reply = yield from c.call(coordinator, lambda r: JoinGroup(r))
        self._apply(reply)
        while True:
            settling = (
                bool(c.to_revoke or c.to_take)
                or reply is None
                or reply.generation != c.generation
                or not reply.grant
            )
            interval = c.group.heartbeat_interval
            fast = settling and c.generation >= 0
            yield from c.sleep(min(0.05, interval) if fast else interval)
            held = tuple(sorted(c.assigned))
            reply = yield from c.call(
                coordinator, partial(Heartbeat, generation=c.generation, held=held), retry=False
            )
            if reply is None:
                continue
            if reply.rejoin:  # the coordinator forgot us (session timeout, or it restarted)
                self._apply(reply)
                reply = yield from c.call(coordinator, lambda r: JoinGroup(r))
            self._apply(reply)

    def _apply(self, reply: GroupResponse) -> None:
        c = self.consumer
        c.generation = reply.generation
        c.to_revoke |= set(reply.revoke) & set(c.assigned)
        c.to_take |= set(reply.grant) - set(c.assigned)
        if (c.to_revoke or c.to_take) and not c.changed.triggered:
            c.changed.succeed()

    def _rebalance(self) -> Generator[Any, Any, None]:
        """Between batches: give back what was revoked (committing first), take what was granted."""
        c = self.consumer
        c.changed = c.env.event()
        if c.to_revoke:
            gone = sorted(c.to_revoke)
            c.to_revoke = set()
            yield from c.commit.before_revoke(gone)
            c.assigned = [p for p in c.assigned if p not in gone]
            for p in gone:
                for table in (c.positions, c.processed, c.committed):
                    table.pop(p, None)
            c.record(Op.REVOKE, c.name, num=c.generation, detail=tuple(gone))
        if c.to_take:
            new = sorted(c.to_take)
            c.to_take = set()
            yield from c.commit.fetch_positions(new)
            for p in new:
                c.processed[p] = c.committed[p] = c.positions[p]
            c.assigned = sorted(set(c.assigned) | set(new))
            c.record(Op.ASSIGN, c.name, num=c.generation, detail=tuple(new))

    # ------------------------------------------------------------------ the poll loop

    def _run(self) -> Generator[Any, Any, None]:
        c = self.consumer
        while True:
            if c.to_revoke or c.to_take:
                yield from self._rebalance()
            if not c.assigned:
                yield from c.wait_for(c.changed, c.group.heartbeat_interval)
                continue
            for broker, parts in c.topology.by_leader(c.assigned).items():
                if c.to_revoke or c.to_take:
                    break
                yield from self._poll(broker, parts)

    def _poll(self, broker: str, parts: list[int]) -> Generator[Any, Any, None]:
        """One fetch from ``broker`` for ``parts`` and the batch it returns."""
        c = self.consumer
        positions = {p: c.positions[p] for p in parts}
        epochs = {p: c.epochs.get(p, 0) for p in parts}
        reply = yield from c.call(
            broker,
            lambda r: Fetch(r, positions, epochs),
            retry=False,
            timeout=c.fetch_wait + c.request_timeout,
        )
        if reply is None:
            return
        for p, offset in reply.resets.items():  # the log was truncated: rewind to it
            if p in c.positions:
                c.positions[p] = min(c.positions[p], offset)
                c.processed[p] = min(c.processed[p], offset)
        c.epochs.update(reply.epochs)
        batch = [
            r
            for r in reply.records
            if r.partition in c.positions and r.offset >= c.positions[r.partition]
        ]
        if batch:
            yield from c.consume(broker, batch)
