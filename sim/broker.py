"""The broker in log mode (Kafka-like): partitions are append-only logs with offsets.

Durability decides what a crash keeps: ``fsync`` flushes every append before acknowledging it;
``interval`` acknowledges at append and flushes every ``flush_interval`` (a process crash keeps
the page cache, so unflushed writes are lost only when a ``disk-loss`` fault is armed);
``memory`` keeps nothing across a crash, committed offsets included. Fetches long-poll: a
fetch with nothing to return waits up to ``fetch_max_wait`` for an append.

A truncated log reuses offsets, so each partition has a *log epoch* bumped by every
truncation (as Kafka's leader epochs, KIP-320): a consumer fetching or committing with an
older epoch is told the truncation point and rewinds its position to it, instead of
skipping the records appended since.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .group import GroupCoordinator
from .messages import (
    DeadLetter,
    DeadLetterAck,
    Decision,
    Delete,
    DeleteAck,
    Envelope,
    Fetch,
    FetchResponse,
    Heartbeat,
    InitProducerId,
    InitProducerIdResponse,
    JoinGroup,
    OffsetCommit,
    OffsetCommitAck,
    OffsetFetch,
    OffsetFetchResponse,
    Prepare,
    Produce,
    ProduceAck,
    Receive,
    ReceiveResponse,
    Record,
)
from .node import Node
from .twophase import Participant

if TYPE_CHECKING:
    from .world import World


@dataclass
class PartitionLog:
    records: list[Record] = field(default_factory=list)
    flushed: int = 0
    """Number of records (a prefix of ``records``) that are on disk."""
    committed: int = 0
    committed_flushed: int = 0
    epoch: int = 0
    truncations: list[tuple[int, int]] = field(default_factory=list)
    """(epoch that began, offset the log was truncated to)."""
    gone: set[int] = field(default_factory=set)
    """Offsets never to hand out again: expired (TTL) or discarded (drop-oldest)."""
    fetched: int = 0
    """The highest position a consumer fetched from: what lies below it has been read."""

    def backlog(self) -> int:
        """Records not yet read or committed (what ``capacity`` bounds)."""
        consumed = max(self.committed, self.fetched)
        return sum(1 for o in range(consumed, self.end) if o not in self.gone)

    def divergence(self, epoch: int) -> int | None:
        """The lowest truncation point since ``epoch`` (None: the log is unchanged since then)."""
        points = [offset for began, offset in self.truncations if began > epoch]
        return min(points) if points else None

    @property
    def end(self) -> int:
        return len(self.records)


@dataclass
class ProducerState:
    """Idempotence state of one (producer id, partition): the last sequences and their offsets."""

    epoch: int
    last_seq: int
    recent: dict[int, int]
    last_active: float
    base: int = 0
    """The first sequence seen: lower ones are unknown when the state was rebuilt empty."""
    rebuilt: str = ""
    lost: str = ""
    """Set when this state was started after the broker lost producer state (or it expired):
    its appends are annotated, since one of them may repeat a batch the lost state knew."""
    """Why the state started empty in the middle of a sequence (the crash that lost it)."""
    gaps: set[int] = field(default_factory=set)
    """Rebuilt states only: sequences skipped over, which may still arrive."""


DEDUPE_DEPTH = 5  # Kafka keeps the last five batches per producer and partition


@dataclass
class ParkedFetch:
    consumer: str
    request: int
    positions: dict[int, int]
    timer: Any = None


class Broker(Node):
    role = "broker"

    def __init__(self, name: str, world: World, partitions: list[int]) -> None:
        super().__init__(name, world)
        cfg = world.cfg.broker
        self.cfg = cfg
        self.policy = world.strategy.broker
        self.logs: dict[int, PartitionLog] = {p: PartitionLog() for p in partitions}
        self._parked: list[ParkedFetch] = []
        # idempotent producers: the coordinator's registry (broker-0) and per-partition state
        self.transactional_ids: dict[str, tuple[int, int]] = {}
        self.max_epoch: dict[int, int] = {}
        self.producer_state: dict[tuple[int, int], ProducerState] = {}
        self.state_lost = ""
        self.dead_letters: list[Record] = []  # the dead-letter queue / topic (durable)
        # queue mode: per partition, when each in-flight message becomes visible again and how
        # often it was received (durable with the queue)
        self.visible_at: dict[int, dict[int, float]] = {p: {} for p in partitions}
        self.receives: dict[int, dict[int, int]] = {p: {} for p in partitions}
        self.head: dict[int, int] = {p: 0 for p in partitions}
        self._parked_receives: list[tuple[str, Receive]] = []
        self._turn = 0
        self.participant = Participant(self, lambda rec: True, self._txn_apply)
        self.group: GroupCoordinator | None = None
        if name == world.coordinator_name and world.cfg.broker.mode == "log":
            self.group = GroupCoordinator(self, list(range(world.cfg.topology.partitions)))

    # ------------------------------------------------------------------ lifecycle

    def _txn_apply(self, rec: Record, commit: bool) -> None:
        """2PC: a committed transaction's prepared message becomes visible (appended)."""
        if not commit:
            return
        p = rec.partition
        log = self.logs[p]
        stored = replace(rec, offset=log.end)
        log.records.append(stored)
        if self.cfg.durability == "fsync":
            log.flushed = log.end
        self.record("append", self.name, (rec.eid,), peer="coordinator", part=p, num=stored.offset, info="2pc")
        self._wake(p)
        self._wake_receives()

    def on_start(self) -> None:
        self.participant.recover()
        if self.cfg.durability == "interval":
            self.spawn(self._flusher())
        if self.group is not None:
            self.spawn(self.group.sweeper())

    def _flusher(self) -> Generator[Any, Any, None]:
        while True:
            yield from self.sleep(self.cfg.flush_interval)
            for log in self.logs.values():
                log.flushed = log.end
                log.committed_flushed = log.committed

    def on_crash(self) -> None:
        self._parked.clear()
        self._parked_receives.clear()
        if self.group is not None:
            self.group.reset()
        if self.cfg.durability == "memory":
            self._truncate_all(f"crash:{self.name}")
            self.transactional_ids.clear()
        if self.cfg.durability == "memory" or not self.cfg.dedupe_durable:
            if self.producer_state or self.max_epoch:
                self.state_lost = f"crash:{self.name}"
            self.producer_state.clear()
            self.max_epoch.clear()

    def lose_unflushed(self, cause: str) -> None:
        if self.cfg.durability == "interval":
            for p, log in self.logs.items():
                self._truncate(p, log, log.flushed, cause)
                if log.committed != log.committed_flushed:
                    log.committed = log.committed_flushed
                    self.record("offset-reset", self.name, part=p, num=log.committed)

    def _truncate_all(self, cause: str) -> None:
        for p, log in self.logs.items():
            self._truncate(p, log, 0, cause)
            if log.committed != 0:
                log.committed = log.committed_flushed = 0
                self.record("offset-reset", self.name, part=p, num=0)

    def _truncate(self, p: int, log: PartitionLog, keep: int, cause: str) -> None:
        if keep >= log.end:
            return
        for rec in log.records[keep:]:
            self.record("log-loss", self.name, (rec.eid,), part=p, num=rec.offset, info=cause)
        del log.records[keep:]
        log.flushed = min(log.flushed, keep)
        log.epoch += 1
        log.truncations.append((log.epoch, keep))

    # ------------------------------------------------------------------ requests

    def handle(self, env: Envelope) -> None:
        msg = env.payload
        if isinstance(msg, Produce):
            self._produce(env.src, msg, env.msgid)
        elif isinstance(msg, Fetch):
            self._fetch(env.src, msg)
        elif isinstance(msg, OffsetCommit):
            self._commit(env.src, msg)
        elif isinstance(msg, JoinGroup) and self.group is not None:
            reply = self.group.join(env.src)
            reply.request = msg.request
            self.send(env.src, reply)
        elif isinstance(msg, Heartbeat) and self.group is not None:
            reply = self.group.heartbeat(env.src, msg.generation, msg.held)
            reply.request = msg.request
            self.send(env.src, reply)
        elif isinstance(msg, InitProducerId):
            pid, epoch = self.transactional_ids.get(msg.transactional_id, (len(self.transactional_ids), -1))
            self.transactional_ids[msg.transactional_id] = (pid, epoch + 1)
            self.record("producer-id", self.name, peer=env.src, num=pid, info=f"epoch {epoch + 1}")
            self.send(env.src, InitProducerIdResponse(msg.request, pid, epoch + 1))
        elif isinstance(msg, Prepare):
            self.participant.on_prepare(env.src, msg)
        elif isinstance(msg, Decision):
            self.participant.on_decision(env.src, msg)
        elif isinstance(msg, Receive):
            self._receive(env.src, msg)
        elif isinstance(msg, Delete):
            for p, offset in msg.items:
                log = self.logs[p]
                if offset not in log.gone:
                    log.gone.add(offset)
                    self.record("delete", self.name, (log.records[offset].eid,), peer=env.src, part=p, num=offset)
            self.send(env.src, DeleteAck(msg.request))
        elif isinstance(msg, DeadLetter):
            self.dead_letters.append(msg.record)
            self.record("dead-letter", self.name, (msg.record.eid,), peer=env.src, part=msg.record.partition, num=msg.record.offset, info=msg.reason)
            self.send(env.src, DeadLetterAck(msg.request))
        elif isinstance(msg, OffsetFetch):
            offsets = {p: self.logs[p].committed for p in msg.partitions}
            epochs = {p: self.logs[p].epoch for p in msg.partitions}
            self.send(env.src, OffsetFetchResponse(msg.request, offsets, epochs))

    def _sequence_check(self, producer: str, msg: Produce) -> tuple[str, int, str]:
        """(verdict, offset of a duplicate, note) for an idempotent produce request."""
        p, pid, epoch, seq = msg.records[0].partition, msg.pid, msg.epoch, msg.seq
        newest = self.max_epoch.get(pid, -1)
        if epoch < newest:
            return "fenced", -1, f"epoch {epoch} < {newest}"
        self.max_epoch[pid] = epoch
        st = self.producer_state.get((pid, p))
        now = float(self.env.now)
        note = ""
        window = self.cfg.dedupe_window
        if st is not None and window is not None and now - st.last_active > window:
            st, note = None, "dedupe-window expired"
        if st is not None and st.epoch < epoch:
            st = None
        if st is None:
            if seq != 0 and not (self.state_lost or note):
                return "out-of-sequence", -1, f"expected 0, got {seq}"
            lost = note or self.state_lost
            rebuilt = "" if seq == 0 else lost
            self.producer_state[(pid, p)] = ProducerState(epoch, seq - 1, {}, now, base=seq, rebuilt=rebuilt, lost=lost)
            return "append", -1, lost
        st.last_active = now
        if seq in st.recent:
            return "duplicate", st.recent[seq], ""
        if seq == st.last_seq + 1:
            return "append", -1, st.lost
        if st.rebuilt:  # rebuilt empty mid-stream: accept what it cannot know it has seen
            if seq > st.last_seq + 1:
                st.gaps.update(range(st.last_seq + 1, seq))
                return "append", -1, st.rebuilt
            if seq < st.base or seq in st.gaps:
                st.gaps.discard(seq)
                return "append", -1, st.rebuilt
        if seq <= st.last_seq - DEDUPE_DEPTH:
            return "duplicate", -1, "older than the dedupe window"
        return "out-of-sequence", -1, f"expected {st.last_seq + 1}, got {seq}"

    def _overflow(self, producer: str, msg: Produce, p: int, log: PartitionLog) -> bool:
        """Apply ``capacity`` to a produce request: True when it was refused (block / reject).

        A request is refused only when the partition is already full, so a batch may overshoot
        the capacity by its own size (as a broker checks per request, not per record)."""
        cap = self.cfg.capacity
        if cap is None:
            return False
        backlog = self._backlog(p, log)
        if self.cfg.overflow == "drop-oldest":
            if backlog + len(msg.records) <= cap:
                return False
            consumed = max(log.committed, log.fetched)
            excess = backlog + len(msg.records) - cap
            for rec in log.records[consumed:]:
                if excess <= 0:
                    break
                if rec.offset in log.gone:
                    continue
                log.gone.add(rec.offset)
                excess -= 1
                self.record("log-loss", self.name, (rec.eid,), part=p, num=rec.offset, info=f"overflow:{self.name}/p{p} (drop-oldest)")
            return False
        if backlog < cap:
            return False
        verdict = "full" if self.cfg.overflow == "block" else "rejected"
        self.record("reject", self.name, msg.eids, peer=producer, part=p, info=f"{verdict} overflow:{self.name}/p{p}")
        self.send(producer, ProduceAck(msg.eids[0], p, -1, verdict, msg.eids))
        return True

    def _backlog(self, p: int, log: PartitionLog) -> int:
        if self.cfg.mode == "queue":  # messages not yet deleted, dead-lettered or expired
            return sum(1 for o in range(self.head[p], log.end) if o not in log.gone)
        return log.backlog()

    def _drop_expired(self, p: int, log: PartitionLog, records: list[Record]) -> list[Record]:
        """Discard records older than the TTL (they are never handed out); return the others."""
        ttl = self.cfg.ttl
        if ttl is None:
            return records
        now = float(self.env.now)
        kept = []
        for rec in records:
            if now - rec.created_at > ttl:
                log.gone.add(rec.offset)
                self.record("expire", self.name, (rec.eid,), part=p, num=rec.offset, info=f"ttl:{self.name}/p{p}")
            else:
                kept.append(rec)
        return kept

    def _produce(self, producer: str, msg: Produce, msgid: int) -> None:
        p = msg.records[0].partition
        log = self.logs[p]
        eids = msg.eids
        note = ""
        if self._overflow(producer, msg, p, log):
            return
        if self.policy.dedupe_producer_retries and msg.pid >= 0:
            verdict, offset, note = self._sequence_check(producer, msg)
            if verdict != "append":
                op = {"duplicate": "dedupe", "fenced": "fenced"}.get(verdict, "reject")
                self.record(op, self.name, eids, peer=producer, part=p, num=offset, info=f"{verdict} {note}".strip())
                error = "" if verdict == "duplicate" else verdict
                self.send(producer, ProduceAck(eids[0], p, offset, error, eids))
                return
        base = log.end
        info = f"{msgid} state-lost:{note}" if note else str(msgid)
        for r in msg.records:
            rec = replace(r, partition=p, offset=log.end)
            log.records.append(rec)
            self.record("append", self.name, (rec.eid,), peer=producer, part=p, num=rec.offset, info=info)
        if self.cfg.durability == "fsync":
            log.flushed = log.end
        if self.policy.dedupe_producer_retries and msg.pid >= 0:
            st = self.producer_state[(msg.pid, p)]
            st.last_seq = max(st.last_seq, msg.seq)
            st.recent[msg.seq] = base
            if len(st.recent) > DEDUPE_DEPTH:
                del st.recent[min(st.recent)]
        self._wake(p)
        self._wake_receives()
        if self.cfg.acks != 0:
            self.reach("after-append-before-ack")
            if self.state == "up":
                self.send(producer, ProduceAck(eids[0], p, base, "", eids if len(eids) > 1 else ()))

    # ------------------------------------------------------------------ queue mode (SQS-like)

    def _visible(self, limit: int) -> tuple[list[Record], list[int]]:
        """Take up to ``limit`` visible messages, oldest first, partitions in turn; a message
        already received ``max_receives`` times moves to the dead-letter queue instead."""
        now = float(self.env.now)
        out: list[Record] = []
        counts: list[int] = []
        parts = sorted(self.logs)
        self._turn = (self._turn + 1) % len(parts)
        for p in parts[self._turn :] + parts[: self._turn]:
            log = self.logs[p]
            while self.head[p] < log.end and self.head[p] in log.gone:
                self.head[p] += 1
            visible_at, receives = self.visible_at[p], self.receives[p]
            for rec in log.records[self.head[p] :]:
                if len(out) >= limit:
                    break
                o = rec.offset
                if o in log.gone or visible_at.get(o, 0.0) > now:
                    continue
                if self._drop_expired(p, log, [rec]) == []:
                    continue
                n = receives.get(o, 0)
                if self.cfg.max_receives is not None and n >= self.cfg.max_receives:
                    log.gone.add(o)
                    self.dead_letters.append(rec)
                    self.record("dead-letter", self.name, (rec.eid,), part=p, num=o, info=f"received {n} times")
                    continue
                receives[o] = n + 1
                visible_at[o] = now + self.cfg.visibility_timeout
                out.append(rec)
                counts.append(n + 1)
        return out, counts

    def _receive(self, consumer: str, msg: Receive) -> None:
        records, counts = self._visible(msg.max_records)
        if records:
            self.send(consumer, ReceiveResponse(msg.request, records, counts))
            return
        entry = (consumer, msg)
        self._parked_receives.append(entry)
        incarnation = self.incarnation
        timer = self.env.timeout(self.cfg.fetch_max_wait)
        timer.callbacks.append(lambda _e: self._receive_timeout(entry, incarnation))

    def _receive_timeout(self, entry: tuple[str, Receive], incarnation: int) -> None:
        if incarnation != self.incarnation or entry not in self._parked_receives or self.state != "up":
            return
        self._parked_receives.remove(entry)
        consumer, msg = entry
        records, counts = self._visible(msg.max_records)
        self.send(consumer, ReceiveResponse(msg.request, records, counts))

    def _wake_receives(self) -> None:
        while self._parked_receives and self.state == "up":
            records, counts = self._visible(self._parked_receives[0][1].max_records)
            if not records:
                return
            consumer, msg = self._parked_receives.pop(0)
            self.send(consumer, ReceiveResponse(msg.request, records, counts))

    # ------------------------------------------------------------------ log mode

    def _available(self, positions: dict[int, int]) -> list[Record]:
        out: list[Record] = []
        budget = self.cfg.max_poll_records
        for p, pos in sorted(positions.items()):
            log = self.logs[p]
            log.fetched = max(log.fetched, min(pos, log.end))
            if pos < log.end:
                if log.gone:
                    chunk = []
                    for rec in log.records[pos:]:
                        if rec.offset not in log.gone:
                            chunk.append(rec)
                            if len(chunk) >= budget - len(out):
                                break
                else:
                    chunk = log.records[pos : pos + budget - len(out)]
                out.extend(self._drop_expired(p, log, chunk))
            if len(out) >= budget:
                break
        return out

    def _response(self, request: int, positions: dict[int, int], resets: dict[int, int],
                  records: list[Record] | None = None) -> FetchResponse:
        """The answer to a fetch: records from the partitions not being reset (``records`` when
        the caller already took them), the log epochs, and the resets."""
        if records is None:
            records = self._available({p: pos for p, pos in positions.items() if p not in resets})
        epochs = {p: self.logs[p].epoch for p in positions}
        return FetchResponse(request, records, epochs, resets)

    def _fetch(self, consumer: str, msg: Fetch) -> None:
        resets = {}
        for p, pos in msg.positions.items():
            point = self.logs[p].divergence(msg.epochs.get(p, 0))
            if point is not None or pos > self.logs[p].end:
                resets[p] = min(pos, self.logs[p].end if point is None else point)
        records = self._available({p: pos for p, pos in msg.positions.items() if p not in resets})
        if resets or records:
            self.send(consumer, self._response(msg.request, msg.positions, resets, records))
            return
        parked = ParkedFetch(consumer, msg.request, dict(msg.positions))
        self._parked.append(parked)
        incarnation = self.incarnation
        timer = self.env.timeout(self.cfg.fetch_max_wait)
        timer.callbacks.append(lambda _e: self._expire(parked, incarnation))
        parked.timer = timer

    def _expire(self, parked: ParkedFetch, incarnation: int) -> None:
        if incarnation != self.incarnation or parked not in self._parked:
            return
        if self.state == "paused":  # answered late, when the pause ends
            ev = self._resumed
            assert ev is not None
            ev.callbacks.append(lambda _e: self._expire(parked, incarnation))
            return
        self._parked.remove(parked)
        self.send(parked.consumer, self._response(parked.request, parked.positions, {}))

    def _wake(self, partition: int) -> None:
        if not self._parked or self.state != "up":
            return
        still: list[ParkedFetch] = []
        for parked in self._parked:
            if partition in parked.positions and parked.positions[partition] < self.logs[partition].end:
                self.send(parked.consumer, self._response(parked.request, parked.positions, {}))
            else:
                still.append(parked)
        self._parked = still

    def _commit(self, consumer: str, msg: OffsetCommit) -> None:
        coordinator = self.world.nodes[self.world.coordinator_name]
        group = getattr(coordinator, "group", None)
        refused = tuple(
            p for p in sorted(msg.offsets)
            if coordinator.state != "up" or group is None or not group.owns(consumer, p)
        )
        if refused:  # a member the group no longer counts (or an unreachable coordinator)
            self.record("commit-refused", self.name, peer=consumer, num=msg.generation, info=",".join(map(str, refused)))
        for p, offset in sorted(msg.offsets.items()):
            if p in refused:
                continue
            log = self.logs[p]
            point = log.divergence(msg.epochs.get(p, 0))
            offset = min(offset, log.end if point is None else point)  # never commit past the log
            if offset != log.committed:
                log.committed = offset
                if self.cfg.durability == "fsync":
                    log.committed_flushed = offset
                self.record("commit", self.name, peer=consumer, part=p, num=offset)
        self.send(consumer, OffsetCommitAck(msg.request, refused))
