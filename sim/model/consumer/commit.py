"""Commit modes: when a consumer commits its position relative to applying the effect
(a strategy's ``consumer.commit``).

- ``on-receipt`` commits the fetched offsets (synchronously) and then processes, so a crash
  in between loses the batch (at-most-once). In queue mode it deletes on receipt.
- ``after-process`` processes, then commits processed offsets every ``auto_commit_interval``
  and on revocation, so a crash redelivers what was processed since the last commit
  (at-least-once). In queue mode it deletes each message after processing it.
- ``in-sink`` stores the consumed offset in the same sink transaction as the effect, guarded by
  the offset it expects, and resumes from the sink's offsets (Kafka's exactly-once
  consume-transform-produce).
"""

from __future__ import annotations

from collections.abc import Generator
from functools import partial
from typing import Any

from ...history.ops import Op
from ..host import ConsumerHost
from ..messages import Delete, OffsetCommit, OffsetFetch, ReceiveResponse, Record, SinkOffsetFetch


class CommitMode:
    """The common part: positions of newly taken partitions come from the broker."""

    def __init__(self, consumer: ConsumerHost) -> None:
        self.consumer = consumer

    def start(self) -> None:
        """Background work of a running group consumer (none)."""

    def before_revoke(self, partitions: list[int]) -> Generator[Any, Any, None]:
        """Give back ``partitions``: what must be committed first (nothing)."""
        return
        yield

    def fetch_positions(self, partitions: list[int]) -> Generator[Any, Any, None]:
        """Where to resume ``partitions``: their committed offsets at their leaders."""
        c = self.consumer
        for broker, parts in c.topology.by_leader(partitions).items():
            reply = yield from c.call(broker, partial(OffsetFetch, partitions=tuple(parts)))
            c.positions.update(reply.offsets)
            c.epochs.update(reply.epochs)

    def consume(self, broker: str, batch: list[Record]) -> Generator[Any, Any, None]:
        raise NotImplementedError

    def consume_queue(self, broker: str, reply: ReceiveResponse) -> Generator[Any, Any, None]:
        raise NotImplementedError


class OnReceipt(CommitMode):
    def consume(self, broker: str, batch: list[Record]) -> Generator[Any, Any, None]:
        c = self.consumer
        offsets = {}
        for rec in batch:
            offsets[rec.partition] = rec.offset + 1
        epochs = {p: c.epochs.get(p, 0) for p in offsets}
        reply = yield from c.call(
            broker, lambda r: OffsetCommit(r, dict(offsets), epochs, c.generation)
        )
        c.positions.update(
            {p: o for p, o in offsets.items() if p not in reply.refused and p in c.positions}
        )
        c.reach("after-ack-before-process")
        for rec in batch:
            if rec.partition in reply.refused:  # not ours any more: another member has it
                c.record(Op.RELEASE, c.name, (rec.eid,), detail="not-owner")
                continue
            yield from c.process(rec, attempts=1)

    def consume_queue(self, broker: str, reply: ReceiveResponse) -> Generator[Any, Any, None]:
        c = self.consumer
        items = tuple((r.partition, r.offset) for r in reply.records)
        yield from c.call(broker, lambda r: Delete(r, items))
        c.reach("after-ack-before-process")
        for rec in reply.records:
            yield from c.process(rec, attempts=1, dead_letter=False)


class AfterProcess(CommitMode):
    def start(self) -> None:
        self.consumer.spawn(self._auto_commit())

    def _auto_commit(self) -> Generator[Any, Any, None]:
        c = self.consumer
        while True:
            yield from c.sleep(c.group.auto_commit_interval)
            yield from self.commit_processed(list(c.assigned))

    def before_revoke(self, partitions: list[int]) -> Generator[Any, Any, None]:
        yield from self.commit_processed(partitions)

    def commit_processed(self, partitions: list[int]) -> Generator[Any, Any, None]:
        c = self.consumer
        for broker, parts in c.topology.by_leader(partitions).items():
            changed = {
                p: c.processed[p]
                for p in parts
                if p in c.processed and c.processed[p] != c.committed.get(p)
            }
            if not changed:
                continue
            epochs = {p: c.epochs.get(p, 0) for p in changed}
            reply = yield from c.call(
                broker,
                partial(OffsetCommit, offsets=changed, epochs=epochs, generation=c.generation),
                retry=False,
            )
            if reply is not None:
                for p, offset in changed.items():
                    if p not in reply.refused and p in c.committed:
                        c.committed[p] = offset

    def consume(self, broker: str, batch: list[Record]) -> Generator[Any, Any, None]:
        c = self.consumer
        attempts = c.max_receives if c.dead_letters else 1
        for rec in batch:
            yield from c.process(rec, attempts=attempts)
            if rec.partition in c.positions:
                c.positions[rec.partition] = rec.offset + 1
                c.processed[rec.partition] = rec.offset + 1
            c.reach("after-process-before-commit")

    def consume_queue(self, broker: str, reply: ReceiveResponse) -> Generator[Any, Any, None]:
        c = self.consumer
        for rec in reply.records:
            done = yield from c.process(rec, attempts=1, dead_letter=False)
            c.reach("after-process-before-commit")
            if done is not None:
                item = ((rec.partition, rec.offset),)
                yield from c.call(broker, partial(Delete, items=item), retry=False)


class InSink(CommitMode):
    def fetch_positions(self, partitions: list[int]) -> Generator[Any, Any, None]:
        """Resume from the offsets stored with the effects."""
        c = self.consumer
        reply = yield from c.call(c.topology.sink, lambda r: SinkOffsetFetch(r, tuple(partitions)))
        c.positions.update(reply.offsets)

    def consume(self, broker: str, batch: list[Record]) -> Generator[Any, Any, None]:
        c = self.consumer
        for rec in batch:
            p = rec.partition
            position = c.positions.get(p)
            if position is None or rec.offset < position:  # moved by a refused transaction
                c.record(Op.RELEASE, c.name, (rec.eid,), detail="skipped")
                continue
            # the sink stores the offset after this record if it still holds our position
            # (records between them were expired or discarded by the broker)
            offsets = {p: (broker, position, rec.offset + 1)}
            reply = yield from c.process(rec, offsets, c.max_receives)
            if reply is not None and reply.offsets is not None and p in c.positions:
                c.positions[p] = reply.offsets.get(p, rec.offset + 1)


COMMIT_MODES: dict[str, type[CommitMode]] = {
    "on-receipt": OnReceipt,
    "after-process": AfterProcess,
    "in-sink": InSink,
}
