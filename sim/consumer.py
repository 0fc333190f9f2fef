"""The consumer: a single-threaded poll loop over its assigned partitions (as Kafka's).

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
    Envelope,
    Fetch,
    FetchResponse,
    OffsetCommit,
    OffsetCommitAck,
    OffsetFetch,
    OffsetFetchResponse,
    Record,
    SinkAck,
    SinkOffsetFetch,
    SinkTxn,
)
from .node import Node, RequestTracker

if TYPE_CHECKING:
    from .world import World


class Consumer(Node):
    role = "consumer"

    def __init__(self, name: str, world: World, partitions: list[int]) -> None:
        super().__init__(name, world)
        self.policy = world.strategy.consumer
        self.group = world.cfg.consumer_group
        self.timeout = world.cfg.producer.request_timeout
        self.fetch_wait = world.cfg.broker.fetch_max_wait
        self.partitions = sorted(partitions)
        self.by_broker: dict[str, list[int]] = {}
        for p in self.partitions:
            self.by_broker.setdefault(world.leader_of(p), []).append(p)
        self.requests = RequestTracker(self)
        self.positions: dict[int, int] = {}
        self.processed: dict[int, int] = {}
        self.epochs: dict[int, int] = {}

    def on_start(self) -> None:
        if self.partitions:
            self.spawn(self._run())

    def on_crash(self) -> None:
        self.requests.clear()
        self.positions = {}
        self.processed = {}
        self.epochs = {}

    def handle(self, env: Envelope) -> None:
        msg = env.payload
        if isinstance(msg, FetchResponse | OffsetFetchResponse | OffsetCommitAck | SinkAck):
            self.requests.resolve(msg.request, msg)

    # ------------------------------------------------------------------ request helpers

    def _call(self, dst: str, make: Any, retry: bool = True, timeout: float | None = None) -> Generator[Any, Any, Any]:
        """Send ``make(request_id)`` to ``dst`` and wait for the reply; resend on timeout if ``retry``."""
        while True:
            req, ev = self.requests.new()
            self.send(dst, make(req))
            reply = yield from self.wait_for(ev, self.timeout if timeout is None else timeout)
            if reply is not None:
                return reply
            self.requests.forget(req)
            if not retry:
                return None

    # ------------------------------------------------------------------ the poll loop

    def _run(self) -> Generator[Any, Any, None]:
        if self.policy.commit == "in-sink":  # resume from the offsets stored with the effects
            reply = yield from self._call("sink", lambda r: SinkOffsetFetch(r, tuple(self.partitions)))
            self.positions.update(reply.offsets)
        else:
            for broker, parts in self.by_broker.items():
                reply = yield from self._call(broker, lambda r, parts=parts: OffsetFetch(r, tuple(parts)))
                self.positions.update(reply.offsets)
                self.epochs.update(reply.epochs)
        self.processed = dict(self.positions)
        if self.policy.commit == "after-process":
            self.spawn(self._auto_commit())
        while True:
            for broker, parts in self.by_broker.items():
                positions = {p: self.positions[p] for p in parts}
                epochs = {p: self.epochs.get(p, 0) for p in parts}
                reply = yield from self._call(
                    broker, lambda r, pos=positions, ep=epochs: Fetch(r, pos, ep), retry=False,
                    timeout=self.fetch_wait + self.timeout,
                )
                if reply is None:
                    continue
                for p, offset in reply.resets.items():  # the log was truncated: rewind to it
                    self.positions[p] = min(self.positions[p], offset)
                    self.processed[p] = min(self.processed[p], offset)
                self.epochs.update(reply.epochs)
                batch = [r for r in reply.records if r.offset >= self.positions[r.partition]]
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
            yield from self._call(broker, lambda r: OffsetCommit(r, dict(offsets), epochs))
            self.positions.update(offsets)
            self.reach("after-ack-before-process")
            for rec in batch:
                yield from self._process(rec)
        elif self.policy.commit == "in-sink":
            for rec in batch:
                p = rec.partition
                if rec.offset != self.positions[p]:  # moved by a refused transaction: skip
                    self.record("release", self.name, (rec.eid,), info="skipped")
                    continue
                reply = yield from self._process(rec, {p: (broker, rec.offset, rec.offset + 1)})
                if reply is not None and reply.offsets is not None:
                    self.positions[p] = reply.offsets.get(p, rec.offset + 1)
        else:
            for rec in batch:
                yield from self._process(rec)
                self.positions[rec.partition] = rec.offset + 1
                self.processed[rec.partition] = rec.offset + 1
                self.reach("after-process-before-commit")

    def _process(self, rec: Record, offsets: dict[int, tuple[str, int, int]] | None = None) -> Generator[Any, Any, Any]:
        """Process ``rec`` and apply its effect (with ``offsets``, in the same sink transaction)."""
        if rec.process_time > 0:
            yield from self.sleep(rec.process_time)
        reply = yield from self._call("sink", lambda r: SinkTxn(r, (rec,), offsets), retry=self.policy.retry_sink)
        self.record("release", self.name, (rec.eid,), info="done" if reply is not None else "gave-up")
        return reply

    def _auto_commit(self) -> Generator[Any, Any, None]:
        committed = dict(self.processed)
        while True:
            yield from self.sleep(self.group.auto_commit_interval)
            for broker, parts in self.by_broker.items():
                changed = {p: self.processed[p] for p in parts if self.processed[p] != committed.get(p)}
                if changed:
                    epochs = {p: self.epochs.get(p, 0) for p in changed}
                    reply = yield from self._call(broker, lambda r, c=changed, ep=epochs: OffsetCommit(r, c, ep), retry=False)
                    if reply is not None:
                        committed.update(changed)
