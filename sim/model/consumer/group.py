"""Log-mode consumption: a group member with a single-threaded poll loop (as Kafka's).

Membership runs beside the poll loop: join (getting a member id), heartbeat reporting what it
holds or has been granted, and apply what the coordinator says (revoke, take) between
batches, as Kafka's ``poll()`` does; a partition taken over starts from its committed offset
(the commit mode says where that is kept).

A member that learns it is no longer one (its session expired, or a commit was refused as
coming from an unknown member or an old generation) gives its partitions up without
committing (Kafka's ``onPartitionsLost``) and joins again. One whose heartbeats have gone
unanswered for a whole ``session_timeout`` stops fetching until it reaches the coordinator
again, and one whose poll loop stalls for ``max_poll_interval`` leaves the group.
"""

from __future__ import annotations

from collections.abc import Generator
from functools import partial
from typing import Any

from ...history.ops import Op
from ..host import ConsumerHost
from ..messages import Fetch, GroupResponse, Heartbeat, JoinGroup, LeaveGroup
from ..tasks import Ask, Wait


class GroupConsumption:
    def __init__(self, consumer: ConsumerHost) -> None:
        self.consumer = consumer
        self.session_timeout = consumer.group.session_timeout
        """(read at every poll: a pydantic model's attribute costs a __getattr__ hook)"""

    def start(self) -> None:
        c = self.consumer
        c.spawn(self._membership())
        c.task(self._run())

    # ------------------------------------------------------------------ membership

    def _join(self) -> Generator[Any, Any, GroupResponse]:
        c = self.consumer
        coordinator = c.topology.group_coordinator
        join = partial(JoinGroup, instance=c.instance, group=c.group_name)
        reply = yield from c.call(coordinator, join)
        c.member_id = reply.member
        c.last_heartbeat = float(c.env._now)
        self._apply(reply)
        return reply

    def _membership(self) -> Generator[Any, Any, None]:
        c = self.consumer
        coordinator = c.topology.group_coordinator
        reply = yield from self._join()
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
            if self._stalled():
                yield from self._leave()
                reply = yield from self._join()
                continue
            held = tuple(sorted({*c.assigned, *c.to_take}))
            beat = partial(
                Heartbeat,
                member=c.member_id,
                generation=c.generation,
                held=held,
                group=c.group_name,
            )
            reply = yield from c.call(coordinator, beat, retry=False)
            if reply is None:
                continue
            c.last_heartbeat = float(c.env._now)
            if not c.contact.triggered:  # the poll loop may be waiting to reach us again
                c.contact.succeed()
            if reply.rejoin:  # the coordinator does not know it (session timeout, restart)
                c.abandon("no longer a member", [*c.assigned, *c.to_take])
                reply = yield from self._join()
                continue
            self._apply(reply)

    def _stalled(self) -> bool:
        """Whether the poll loop has not polled for ``max_poll_interval``."""
        c = self.consumer
        limit = c.group.max_poll_interval
        return limit is not None and float(c.env._now) - c.last_poll > limit

    def _leave(self) -> Generator[Any, Any, None]:
        """Leave the group, give everything up, and wait for the poll loop to poll again."""
        c = self.consumer
        member = c.member_id
        c.send(c.topology.group_coordinator, LeaveGroup(-1, member, c.group_name))
        c.abandon("max.poll.interval exceeded", [*c.assigned, *c.to_take])
        c.member_id = ""
        while self._stalled():
            yield from c.wait_for(c.polled, c.group.heartbeat_interval)

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
            c.forget(gone)
            c.record(Op.REVOKE, c.name, num=c.generation, detail=tuple(gone))
        if c.to_take:
            new = sorted(c.to_take)  # still reported as held while their positions are fetched
            yield from c.commit.fetch_positions(new)
            new = [p for p in new if p in c.to_take]  # not given up meanwhile
            c.to_take -= set(new)
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
            if not c.assigned:  # an idle member's loop still polls (and gets nothing)
                c.mark_polled()
                if c.changed.triggered:  # a change already handled or withdrawn: wait anew
                    c.changed = c.env.event()
                yield Wait(c.changed, c.group.heartbeat_interval)
                continue
            if not self._coordinator_reachable():  # poll() does not fetch, but it is called
                c.mark_polled()
                c.contact = c.env.event()
                yield Wait(c.contact, c.group.heartbeat_interval)
                continue
            for broker, parts in c.topology.by_leader(c.assigned).items():
                if c.to_revoke or c.to_take:
                    break
                yield from self._poll(broker, [p for p in parts if p in c.positions])

    def _coordinator_reachable(self) -> bool:
        """Kafka's poll() does not fetch while the coordinator is unknown: here, once no
        heartbeat has been answered for a whole session timeout."""
        c = self.consumer
        return float(c.env._now) - c.last_heartbeat <= self.session_timeout

    def _poll(self, broker: str, parts: list[int]) -> Generator[Any, Any, None]:
        """One fetch from ``broker`` for ``parts`` and the batch it returns."""
        c = self.consumer
        c.mark_polled()
        c.commit.before_poll()
        if not parts:
            return
        turn = c.fetches % len(parts)  # rotate the partitions: each leads a fetch in turn
        c.fetches += 1
        positions = {p: c.positions[p] for p in parts[turn:] + parts[:turn]}
        epochs = {p: c.epochs.get(p, 0) for p in parts}
        reply = yield Ask(
            broker,
            lambda r: Fetch(r, positions, epochs, c.group_name),
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
