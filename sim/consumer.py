"""The consumer: a group member with a single-threaded poll loop over its partitions (as Kafka's).

Membership runs beside the poll loop: join, heartbeat, and apply what the coordinator says
(revoke, take) between batches, as Kafka's ``poll()`` does; a partition taken over starts from
its committed offset (from the sink's offsets for a transactional consumer).

Its commit policy decides the order of the two things that matter: ``on-receipt`` commits the
fetched offsets (synchronously) and then processes, so a crash in between loses the batch;
``after-process`` processes and commits processed offsets every ``auto_commit_interval``, so a
crash redelivers what was processed since the last commit. Processing takes the event's
process time and then applies its effect in one sink transaction.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from .messages import (
    DeadLetter,
    DeadLetterAck,
    Delete,
    DeleteAck,
    Envelope,
    Fetch,
    FetchResponse,
    GroupResponse,
    Heartbeat,
    JoinGroup,
    OffsetCommit,
    OffsetCommitAck,
    OffsetFetch,
    OffsetFetchResponse,
    Receive,
    ReceiveResponse,
    Record,
    SinkAck,
    SinkOffsetFetch,
    SinkTxn,
)
from .node import Node

if TYPE_CHECKING:
    from .world import World


class Consumer(Node):
    role = "consumer"

    def __init__(self, name: str, world: World) -> None:
        super().__init__(name, world)
        self.policy = world.strategy.consumer
        self.group = world.cfg.consumer_group
        self.fetch_wait = world.cfg.broker.fetch_max_wait
        self.coordinator = world.coordinator_name
        self.queue_mode = world.cfg.broker.mode == "queue"
        self.max_receives = world.cfg.broker.max_receives
        self.max_records = world.cfg.broker.max_poll_records
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

    def on_start(self) -> None:
        self._reset()
        if self.queue_mode:
            self.spawn(self._run_queue())
            return
        self.spawn(self._membership())
        self.spawn(self._run())
        if self.policy.commit == "after-process":
            self.spawn(self._auto_commit())

    def handle(self, env: Envelope) -> None:
        msg = env.payload
        if isinstance(msg, FetchResponse | OffsetFetchResponse | OffsetCommitAck | SinkAck | GroupResponse
                      | ReceiveResponse | DeleteAck | DeadLetterAck):
            self.requests.resolve(msg.request, msg)

    def _by_broker(self, partitions: list[int]) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for p in sorted(partitions):
            out.setdefault(self.world.leader_of(p), []).append(p)
        return out

    # ------------------------------------------------------------------ membership

    def _membership(self) -> Generator[Any, Any, None]:
        reply = yield from self.call(self.coordinator, lambda r: JoinGroup(r))
        self._apply(reply)
        while True:
            settling = bool(self.to_revoke or self.to_take) or reply is None or reply.generation != self.generation or not reply.grant
            yield from self.sleep(min(0.05, self.group.heartbeat_interval) if settling and self.generation >= 0 else self.group.heartbeat_interval)
            held = tuple(sorted(self.assigned))
            reply = yield from self.call(self.coordinator, lambda r, h=held: Heartbeat(r, self.generation, h), retry=False)
            if reply is None:
                continue
            if reply.rejoin:  # the coordinator forgot us (session timeout, or it restarted)
                self._apply(reply)
                reply = yield from self.call(self.coordinator, lambda r: JoinGroup(r))
            self._apply(reply)

    def _apply(self, reply: GroupResponse) -> None:
        self.generation = reply.generation
        self.to_revoke |= set(reply.revoke) & set(self.assigned)
        self.to_take |= set(reply.grant) - set(self.assigned)
        if (self.to_revoke or self.to_take) and not self.changed.triggered:
            self.changed.succeed()

    def _rebalance(self) -> Generator[Any, Any, None]:
        """Between batches: give back what was revoked (committing it first), take what was granted."""
        self.changed = self.env.event()
        if self.to_revoke:
            gone = sorted(self.to_revoke)
            self.to_revoke = set()
            if self.policy.commit == "after-process":
                yield from self._commit_processed(gone)
            self.assigned = [p for p in self.assigned if p not in gone]
            for p in gone:
                for table in (self.positions, self.processed, self.committed):
                    table.pop(p, None)
            self.record("revoke", self.name, num=self.generation, info=",".join(map(str, gone)))
        if self.to_take:
            new = sorted(self.to_take)
            self.to_take = set()
            if self.policy.commit == "in-sink":  # resume from the offsets stored with the effects
                reply = yield from self.call("sink", lambda r: SinkOffsetFetch(r, tuple(new)))
                self.positions.update(reply.offsets)
            else:
                for broker, parts in self._by_broker(new).items():
                    reply = yield from self.call(broker, lambda r, ps=parts: OffsetFetch(r, tuple(ps)))
                    self.positions.update(reply.offsets)
                    self.epochs.update(reply.epochs)
            for p in new:
                self.processed[p] = self.committed[p] = self.positions[p]
            self.assigned = sorted(set(self.assigned) | set(new))
            self.record("assign", self.name, num=self.generation, info=",".join(map(str, new)))

    # ------------------------------------------------------------------ the poll loop

    def _run(self) -> Generator[Any, Any, None]:
        while True:
            if self.to_revoke or self.to_take:
                yield from self._rebalance()
            if not self.assigned:
                yield from self.wait_for(self.changed, self.group.heartbeat_interval)
                continue
            for broker, parts in self._by_broker(self.assigned).items():
                if self.to_revoke or self.to_take:
                    break
                positions = {p: self.positions[p] for p in parts}
                epochs = {p: self.epochs.get(p, 0) for p in parts}
                reply = yield from self.call(
                    broker, lambda r, pos=positions, ep=epochs: Fetch(r, pos, ep), retry=False,
                    timeout=self.fetch_wait + self.request_timeout,
                )
                if reply is None:
                    continue
                for p, offset in reply.resets.items():  # the log was truncated: rewind to it
                    if p in self.positions:
                        self.positions[p] = min(self.positions[p], offset)
                        self.processed[p] = min(self.processed[p], offset)
                self.epochs.update(reply.epochs)
                batch = [r for r in reply.records if r.partition in self.positions and r.offset >= self.positions[r.partition]]
                if batch:
                    yield from self._consume(broker, batch)

    def _consume(self, broker: str, batch: list[Record]) -> Generator[Any, Any, None]:
        for rec in batch:
            self.record("receive", self.name, (rec.eid,), peer=broker, part=rec.partition, num=rec.offset)
        if self.policy.commit == "on-receipt":
            offsets = {}
            for rec in batch:
                offsets[rec.partition] = rec.offset + 1
            epochs = {p: self.epochs.get(p, 0) for p in offsets}
            reply = yield from self.call(broker, lambda r: OffsetCommit(r, dict(offsets), epochs, self.generation))
            self.positions.update({p: o for p, o in offsets.items() if p not in reply.refused and p in self.positions})
            self.reach("after-ack-before-process")
            for rec in batch:
                if rec.partition in reply.refused:  # not ours any more: another member has it
                    self.record("release", self.name, (rec.eid,), info="not-owner")
                    continue
                yield from self._process(rec, attempts=1)
        elif self.policy.commit == "in-sink":
            for rec in batch:
                p = rec.partition
                position = self.positions.get(p)
                if position is None or rec.offset < position:  # moved by a refused transaction: skip
                    self.record("release", self.name, (rec.eid,), info="skipped")
                    continue
                # the sink stores the offset after this record if it still holds our position
                # (records between them were expired or discarded by the broker)
                reply = yield from self._process(rec, {p: (broker, position, rec.offset + 1)}, self.max_receives)
                if reply is not None and reply.offsets is not None and p in self.positions:
                    self.positions[p] = reply.offsets.get(p, rec.offset + 1)
        else:
            for rec in batch:
                yield from self._process(rec, attempts=self.max_receives if self.policy.dead_letter else 1)
                if rec.partition in self.positions:
                    self.positions[rec.partition] = rec.offset + 1
                    self.processed[rec.partition] = rec.offset + 1
                self.reach("after-process-before-commit")

    def _process(self, rec: Record, offsets: dict[int, tuple[str, int, int]] | None = None, attempts: int | None = None) -> Generator[Any, Any, Any]:
        """Process ``rec`` and apply its effect (with ``offsets``, in the same sink transaction).

        A poison record fails every attempt. In log mode the consumer tries it ``attempts``
        times in place (blocking its partition, as an in-consumer retry handler does), then,
        if its policy dead-letters, publishes it to the dead-letter topic and moves on."""
        if rec.poison:
            return (yield from self._fail(rec, offsets, attempts))
        if rec.process_time > 0:
            yield from self.sleep(rec.process_time)
        dedupe = self.policy.dedupe_ids
        reply = yield from self.call("sink", lambda r: SinkTxn(r, (rec,), offsets, dedupe), retry=self.policy.retry_sink)
        self.record("release", self.name, (rec.eid,), info="done" if reply is not None else "gave-up")
        return reply

    def _fail(self, rec: Record, offsets: dict[int, tuple[str, int, int]] | None, attempts: int | None) -> Generator[Any, Any, Any]:
        tries = 0
        while True:
            if rec.process_time > 0:
                yield from self.sleep(rec.process_time)
            tries += 1
            self.record("process-fail", self.name, (rec.eid,), part=rec.partition, num=tries, info="poison")
            if attempts is not None and tries >= attempts:
                break
        if self.queue_mode or not self.policy.dead_letter:
            self.record("release", self.name, (rec.eid,), info="failed")
            return None
        yield from self.call(self.world.leader_of(rec.partition), lambda r: DeadLetter(r, rec, f"failed {tries} times"))
        reply = None
        if offsets is not None:  # a transactional consumer still stores its position past it
            reply = yield from self.call("sink", lambda r: SinkTxn(r, (), offsets))
        self.record("release", self.name, (rec.eid,), info="dead-lettered")
        return reply if reply is not None else True

    # ------------------------------------------------------------------ queue mode

    def _run_queue(self) -> Generator[Any, Any, None]:
        """SQS-style: receive from every broker in turn; delete on receipt (at-most-once) or
        after processing (at-least-once); what is not deleted becomes visible again."""
        brokers = [b.name for b in self.world.brokers]
        while True:
            for broker in brokers:
                reply = yield from self.call(
                    broker, lambda r: Receive(r, self.max_records), retry=False, timeout=self.fetch_wait + self.request_timeout
                )
                if reply is None or not reply.records:
                    continue
                for rec, n in zip(reply.records, reply.receives, strict=True):
                    self.record("receive", self.name, (rec.eid,), peer=broker, part=rec.partition, num=rec.offset, info=f"receive {n}")
                if self.policy.commit == "on-receipt":
                    items = tuple((r.partition, r.offset) for r in reply.records)
                    yield from self.call(broker, lambda r, i=items: Delete(r, i))
                    self.reach("after-ack-before-process")
                    for rec in reply.records:
                        yield from self._process(rec, attempts=1)
                else:
                    for rec in reply.records:
                        done = yield from self._process(rec, attempts=1)
                        self.reach("after-process-before-commit")
                        if done is not None:
                            yield from self.call(broker, lambda r, rec=rec: Delete(r, ((rec.partition, rec.offset),)), retry=False)

    # ------------------------------------------------------------------ committing (after-process)

    def _commit_processed(self, partitions: list[int]) -> Generator[Any, Any, None]:
        for broker, parts in self._by_broker(partitions).items():
            changed = {p: self.processed[p] for p in parts if p in self.processed and self.processed[p] != self.committed.get(p)}
            if not changed:
                continue
            epochs = {p: self.epochs.get(p, 0) for p in changed}
            reply = yield from self.call(broker, lambda r, c=changed, ep=epochs: OffsetCommit(r, c, ep, self.generation), retry=False)
            if reply is not None:
                for p, offset in changed.items():
                    if p not in reply.refused and p in self.committed:
                        self.committed[p] = offset

    def _auto_commit(self) -> Generator[Any, Any, None]:
        while True:
            yield from self.sleep(self.group.auto_commit_interval)
            yield from self._commit_processed(list(self.assigned))
