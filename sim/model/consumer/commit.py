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
from ..messages import (
    Delete,
    OffsetCommit,
    OffsetFetch,
    OffsetMove,
    ReceiveResponse,
    Record,
    SinkOffsetFetch,
)
from ..tasks import Ask

# (Op's members read once: see sim/history/ops.py, Reading a member)
_RELEASE = Op.RELEASE


class CommitMode:
    """The common part: positions of newly taken partitions come from the broker."""

    def __init__(self, consumer: ConsumerHost) -> None:
        self.consumer = consumer

    def before_poll(self) -> None:
        """Called by the poll loop before every fetch (nothing to do)."""

    def before_revoke(self, partitions: list[int]) -> Generator[Any, Any, None]:
        """Give back ``partitions``: what must be committed first (nothing)."""
        return
        yield

    def fetch_positions(self, partitions: list[int]) -> Generator[Any, Any, None]:
        """Where to resume ``partitions``: their committed offsets (at the group coordinator),
        with the leader epochs they refer to."""
        c = self.consumer
        fetch = partial(OffsetFetch, partitions=tuple(partitions), group=c.group_name)
        reply = yield Ask(c.topology.group_coordinator, fetch)
        c.positions.update(reply.offsets)
        c.epochs.update(reply.epochs)

    def commit_request(self, offsets: dict[int, int]) -> partial[OffsetCommit]:
        """An offset commit of ``offsets`` as this member of its generation."""
        c = self.consumer
        epochs = {p: c.epochs.get(p, 0) for p in offsets}
        leaders = {p: c.topology.leader_of(p) for p in offsets}
        c.commits += 1
        return partial(
            OffsetCommit,
            offsets=dict(offsets),
            epochs=epochs,
            leaders=leaders,
            generation=c.generation,
            member=c.member_id,
            sequence=(c.incarnation, c.commits),
            group=c.group_name,
        )

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
        reply = yield Ask(c.topology.group_coordinator, self.commit_request(offsets))
        c.abandon("commit refused", list(reply.refused))
        c.positions.update({p: o for p, o in offsets.items() if p in c.positions})
        c.reach("after-ack-before-process")
        for rec in batch:
            if rec.partition in reply.refused:  # not ours any more: it is no longer a member
                c.record(_RELEASE, c.name, (rec.eid,), detail="not-owner")
                continue
            yield from c.process(rec, attempts=1)

    def consume_queue(self, broker: str, reply: ReceiveResponse) -> Generator[Any, Any, None]:
        c = self.consumer
        items = tuple(
            (r.partition, r.offset, reply.epochs.get(r.partition, 0)) for r in reply.records
        )
        yield Ask(broker, lambda r: Delete(r, items, c.group_name))
        c.reach("after-ack-before-process")
        for rec in reply.records:
            yield from c.process(rec, attempts=1, dead_letter=False)


class AfterProcess(CommitMode):
    def __init__(self, consumer: ConsumerHost) -> None:
        super().__init__(consumer)
        self.last_auto_commit = float(consumer.env._now)
        self.auto_commit_interval = consumer.group.auto_commit_interval
        """(read at every poll: a pydantic model's attribute costs a __getattr__ hook)"""

    def before_poll(self) -> None:
        """Auto-commit inside poll(): every ``auto_commit_interval``, the positions of the
        records the previous polls returned (processed by now), without waiting."""
        c = self.consumer
        now = float(c.env._now)
        if now - self.last_auto_commit >= self.auto_commit_interval:
            self.last_auto_commit = now
            c.task(self.commit_processed(list(c.assigned)))

    def before_revoke(self, partitions: list[int]) -> Generator[Any, Any, None]:
        yield from self.commit_processed(partitions)

    def commit_processed(self, partitions: list[int]) -> Generator[Any, Any, None]:
        c = self.consumer
        changed = {
            p: c.processed[p]
            for p in sorted(partitions)
            if p in c.processed and c.processed[p] != c.committed.get(p)
        }
        if not changed:
            return
        request = self.commit_request(changed)
        reply = yield Ask(c.topology.group_coordinator, request, retry=False)
        if reply is None:
            return
        c.abandon("commit refused", list(reply.refused))
        for p, offset in changed.items():
            if p in c.committed:
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
                item = ((rec.partition, rec.offset, reply.epochs.get(rec.partition, 0)),)
                delete = partial(Delete, items=item, group=c.group_name)
                yield Ask(broker, delete, retry=False)


class InSink(CommitMode):
    def __init__(self, consumer: ConsumerHost) -> None:
        super().__init__(consumer)
        self.stored: dict[int, tuple[int, int]] = {}
        """What the sink holds per partition, as far as this consumer knows: (offset, epoch)."""

    def fetch_positions(self, partitions: list[int]) -> Generator[Any, Any, None]:
        """Resume from the offsets stored with the effects, with the leader epoch each refers
        to: a fetch with that epoch rewinds to the truncation point if the log lost records."""
        c = self.consumer
        fetch = partial(SinkOffsetFetch, partitions=tuple(partitions))
        reply = yield Ask(c.sink, fetch)
        self._resume(reply.offsets, reply.epochs)

    def _resume(self, offsets: dict[int, int], epochs: dict[int, int]) -> None:
        c = self.consumer
        for p, offset in offsets.items():
            self.stored[p] = (offset, epochs.get(p, 0))
            c.positions[p] = offset
            c.epochs[p] = epochs.get(p, 0)

    def consume(self, broker: str, batch: list[Record]) -> Generator[Any, Any, None]:
        c = self.consumer
        # Partitions whose position a refused transaction moved during this batch: the rest
        # of the batch was read from where the consumer no longer is (as a seek drops a Kafka
        # consumer's buffered records), so it is skipped and fetched again from the new one.
        moved: set[int] = set()
        for rec in batch:
            p = rec.partition
            position = c.positions.get(p)
            if position is None or rec.offset < position or p in moved:
                c.record(_RELEASE, c.name, (rec.eid,), detail="skipped")
                continue
            # the sink stores the offset after this record if it still holds what we expect
            # (records between them were expired or discarded by the broker)
            expected = self.stored.get(p, (position, c.epochs.get(p, 0)))
            new = (rec.offset + 1, c.epochs.get(p, 0))
            reply = yield from c.process(
                rec, {p: OffsetMove(broker, expected, new)}, c.max_receives
            )
            if reply is None or reply.offsets is None or p not in c.positions:
                continue
            held = reply.offsets.get(p, new)
            if held == new:
                self.stored[p], c.positions[p] = new, new[0]
            else:  # refused: resume from what the sink holds (a fetch rewinds if need be)
                self._resume({p: held[0]}, {p: held[1]})
                moved.add(p)


COMMIT_MODES: dict[str, type[CommitMode]] = {
    "on-receipt": OnReceipt,
    "after-process": AfterProcess,
    "in-sink": InSink,
}
