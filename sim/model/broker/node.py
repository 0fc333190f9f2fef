"""The broker: partitions it leads, composed of behaviours chosen from the config and strategy.

- a *store* for consumption: log mode (:mod:`.fetch`: fetches, committed offsets) or queue
  mode (:mod:`.queue`: receives, visibility timeouts, deletes);
- a *durability* (:mod:`.durability`): what a crash keeps;
- *idempotence* (:mod:`.idempotence`): sequence checks for idempotent producers, when the
  strategy's broker role dedupes;
- *limits* (:mod:`.limits`): capacity with an overflow policy, and the TTL;
- a 2PC *participant* (``sim/model/twophase.py``): prepared writes, invisible until commit;
- on the coordinator broker, the consumer *group* (:mod:`.group`).

Every produce request goes the same way: limits, then the sequence check, then the append,
then the store is woken, then the acknowledgement.
"""

from __future__ import annotations

from collections import deque

from ...config.models import Broker as BrokerConfig
from ...config.models import ConsumerGroup, TwoPhaseCommit
from ...core.strategies import BrokerRole
from ...core.topology import GROUP_TAG
from ...history import causes
from ...history.ops import Op
from ..context import Context
from ..messages import (
    DeadLetter,
    DeadLetterAck,
    Envelope,
    InitProducerId,
    InitProducerIdResponse,
    Produce,
    ProduceAck,
    Record,
)
from ..node import Node
from ..twophase import Participant
from .durability import DURABILITIES
from .fetch import LogStore
from .group import Groups
from .idempotence import Idempotence, NoIdempotence, SequenceVerdict
from .limits import HOLD, Retention, overflow_policy
from .log import Committed, OffsetStore, PartitionLog
from .queue import QueueStore

# (Op's members read once: see sim/history/ops.py, Reading a member)
_APPEND, _HOLD, _DEDUPE = Op.APPEND, Op.HOLD, Op.DEDUPE


STORES: dict[str, type[LogStore | QueueStore]] = {"log": LogStore, "queue": QueueStore}
"""How consumers read a partition (``broker.mode``)."""


class Broker(Node):
    role = "broker"

    def __init__(
        self,
        name: str,
        ctx: Context,
        cfg: BrokerConfig,
        role: BrokerRole,
        two_pc: TwoPhaseCommit,
        groups: list[tuple[str, ConsumerGroup]] | None = None,
    ) -> None:
        super().__init__(name, ctx)
        self.cfg = cfg
        readers = len(ctx.topology.group_names)
        self.logs: dict[int, PartitionLog] = {
            p: PartitionLog(readers=readers) for p in ctx.topology.partitions_of(name)
        }
        self.dead_letters: list[Record] = []  # the dead-letter queue / topic (durable)
        fsync = cfg.fsync_time.sampler(ctx.streams(f"broker/fsync/{name}"))
        self.durability = DURABILITIES[cfg.durability](cfg.flush_interval, fsync)
        self.idempotence = (
            Idempotence(cfg.dedupe_window) if role.dedupe_producer_retries else NoIdempotence()
        )
        self.dedupe_durable = cfg.dedupe_durable
        self.retention = Retention(cfg.ttl)
        self.store = STORES[cfg.mode](self, cfg, self.retention)
        self.overflow = overflow_policy(
            cfg.capacity, cfg.overflow, self.store.backlog, self.store.waiting
        )
        self.acks = cfg.acks
        self.participant = Participant(
            self, two_pc, lambda rec: True, self._txn_apply, prepared=self._txn_hold
        )
        self.groups: Groups | None = None
        self.offset_stores: dict[str, OffsetStore] = {}
        if groups and self.store.hosts_group:
            partitions = list(range(ctx.topology.partitions))
            self.groups = Groups(self, groups, partitions, self.durability)
            self.offset_stores = {g.name: g.offsets for g in self.groups}
        self._blocked: dict[int, deque[Envelope]] = {}
        """Produce requests held back by a full partition (``overflow: block``), in order."""
        self._held_keys: set[tuple[str, tuple[str, ...]]] = set()
        """(producer, event ids) of every held request: a resend of one is not held twice."""
        self._unholding = False
        self.on(Produce, self._produce)
        self.on(InitProducerId, self._init_producer_id)
        self.on(DeadLetter, self._dead_letter)

    # ------------------------------------------------------------------ lifecycle

    def on_start(self) -> None:
        self.participant.recover()
        self.durability.start(self)
        for group in self.groups or ():
            group.restarted()
            self.spawn(group.sweeper())

    def on_crash(self) -> None:
        self._blocked = {}
        self._held_keys = set()
        self.store.crashed()
        self.durability.crashed(self)
        if not self.durability.keeps_state:
            for group in self.groups or ():
                group.reset()
        keeps = self.durability.keeps_state
        self.idempotence.crashed(keeps, keeps and self.dedupe_durable, causes.crash(self.name))

    def lose_unflushed(self, cause: str) -> None:
        self.durability.lose_unflushed(self, cause)

    def truncate(self, p: int, keep: int, cause: str) -> None:
        """Cut partition ``p`` to ``keep`` records, recording each record lost."""
        log = self.logs[p]
        if keep >= log.end:
            return
        self.record(Op.TRUNCATE, self.name, part=p, num=keep, detail=log.epoch + 1)
        for rec in log.records[keep:]:
            self.record(Op.LOG_LOSS, self.name, (rec.eid,), part=p, num=rec.offset, detail=cause)
        log.truncate(keep)
        self.idempotence.truncated(p, keep)
        self.store.truncated(p, keep)

    def reset_offsets(self, group: str, to: dict[int, Committed], cause: str) -> None:
        """A group's committed offsets fall back to ``to`` (what was on disk); record each
        that moved."""
        offsets = self.offset_stores[group]
        now = offsets.committed
        for p in sorted(set(now) | set(to)):
            if now.get(p) != to.get(p):
                was = to.get(p) or now[p]
                then = to.get(p)
                self.record(
                    Op.OFFSET_RESET,
                    self.name,
                    peer=GROUP_TAG + group,
                    part=p,
                    num=then.offset if then else 0,
                    detail=(was.leader, cause),
                )
        offsets.committed = dict(to)

    # ------------------------------------------------------------------ producing

    def _produce(self, env: Envelope) -> None:
        producer, msg = env.src, env.payload
        assert isinstance(msg, Produce)
        p = msg.records[0].partition
        log = self.logs[p]
        eids = env.eids
        blocked = self._blocked
        if blocked and blocked.get(p) and not self._unholding:  # others wait: queue behind them
            self._hold(env, p)
            return
        refused = self.overflow.refuses(self, producer, msg, p, log)
        if refused == HOLD:
            self._hold(env, p)
            return
        if refused:
            self.record(
                Op.REJECT,
                self.name,
                eids,
                peer=producer,
                part=p,
                detail=(refused, causes.overflow(self.name, p)),
            )
            self.send(producer, ProduceAck(eids[0], p, -1, refused, eids, msg.attempt))
            return
        verdict = self.idempotence.check(msg, self.env._now)
        if verdict.verdict != "append":
            self._refuse(producer, msg, verdict)
            return
        base = self._append(producer, msg, p, env.msgid, verdict.note)
        if self.acks != 0:
            self.reach("after-append-before-ack")
            batch = eids if len(eids) > 1 else ()
            in_sequence = msg.pid >= 0 and verdict.in_order
            ack = ProduceAck(eids[0], p, base, "", batch, msg.attempt, in_sequence)
            self._acknowledge(producer, ack, self.durability.ack_delay())

    def _append(self, producer: str, msg: Produce, p: int, msgid: int, note: str) -> int:
        """Append the request's records to partition ``p``; return the first offset."""
        log = self.logs[p]
        base = log.end
        detail = (msgid, note)
        records, record, name = log.records, self.record, self.name
        for r in msg.records:
            offset = records.add(r, p)
            record(_APPEND, name, (r.eid,), producer, p, offset, detail)
        self.durability.appended(log)
        self.idempotence.appended(msg, p, base)
        self.store.wake(p)
        return base

    def _acknowledge(self, producer: str, ack: ProduceAck, after: float) -> None:
        """Send ``ack`` once the append is flushed (``after`` seconds: the fsync)."""
        if after <= 0:
            if self.state == "up":
                self.send(producer, ack)
            return
        self.later(after, lambda: self.send(producer, ack))

    def _hold(self, env: Envelope, p: int) -> None:
        """Keep a request for a full partition until there is room (in memory: a crash loses
        it); a resend of a request it already holds is dropped."""
        msg = env.payload
        assert isinstance(msg, Produce)
        key = (env.src, msg.eids)
        if key in self._held_keys:
            return
        self._held_keys.add(key)
        self._blocked.setdefault(p, deque()).append(env)
        self.record(_HOLD, self.name, msg.eids, peer=env.src, part=p)

    def room(self, p: int) -> None:
        """A consumer made room in partition ``p``: append what waits, in order."""
        queue = self._blocked.get(p)
        if not queue or self._unholding or self.state != "up":
            return
        self._unholding = True
        try:
            while queue and self.overflow.has_room(p, self.logs[p]):
                env = queue.popleft()
                self._held_keys.discard((env.src, env.payload.eids))
                self.record(Op.RELEASE, self.name, env.payload.eids, detail="unheld")
                self._produce(env)
        finally:
            self._unholding = False

    def _refuse(self, producer: str, msg: Produce, said: SequenceVerdict) -> None:
        """A sequence check said no: a recognised duplicate, a fenced epoch, or a gap."""
        p, eids = msg.records[0].partition, msg.eids
        verdict, offset, note = said.verdict, said.offset, said.note
        if verdict == "duplicate":
            self.record(_DEDUPE, self.name, eids, peer=producer, part=p, num=offset, detail=note)
        elif verdict == "fenced":
            self.record(Op.FENCED, self.name, eids, peer=producer, part=p, detail=note)
        else:
            self.record(Op.REJECT, self.name, eids, peer=producer, part=p, detail=(verdict, note))
        error = "" if verdict == "duplicate" else verdict
        in_sequence = verdict == "duplicate" and said.in_order
        self.send(producer, ProduceAck(eids[0], p, offset, error, eids, msg.attempt, in_sequence))

    def _txn_hold(self, rec: Record) -> None:
        """2PC: a prepared transaction holds its partition's last stable offset where the log
        ends now, until it is decided."""
        log = self.logs[rec.partition]
        log.holds[rec.eid] = log.end

    def _txn_apply(self, rec: Record, commit: bool) -> None:
        """2PC: a committed transaction's prepared message becomes visible (appended); either
        decision lifts its hold on the partition."""
        p = rec.partition
        log = self.logs[p]
        log.holds.pop(rec.eid, None)
        if not commit:
            self.store.wake(p)
            return
        stored = rec.stored(p, log.end)
        log.records.append(stored)
        self.durability.appended(log)
        self.record(
            _APPEND,
            self.name,
            (rec.eid,),
            peer=self.topology.two_pc_coordinator,
            part=p,
            num=stored.offset,
            detail=(-1, ""),
        )
        self.store.wake(p)

    def _init_producer_id(self, env: Envelope) -> None:
        msg = env.payload
        assert isinstance(msg, InitProducerId)
        pid, epoch = self.idempotence.init_producer_id(msg.transactional_id)
        self.record(Op.PRODUCER_ID, self.name, peer=env.src, num=pid, detail=epoch)
        self.send(env.src, InitProducerIdResponse(msg.request, pid, epoch))

    def _dead_letter(self, env: Envelope) -> None:
        msg = env.payload
        assert isinstance(msg, DeadLetter)
        self.dead_letters.append(msg.record)
        self.record(
            Op.DEAD_LETTER,
            self.name,
            (msg.record.eid,),
            peer=env.src,
            part=msg.record.partition,
            num=msg.record.offset,
            detail=msg.reason,
        )
        self.send(env.src, DeadLetterAck(msg.request))

    # ------------------------------------------------------------------ probes

    def levels(self, group: str | None = None) -> list[tuple[int, int, int]]:
        """(partition, log end, backlog) of every partition it leads, for the lag probe; the
        backlog is what the store has not handed out for good yet to ``group`` (log: records
        from its last fetch position on; queue: messages of its queue not yet deleted)."""
        store = self.store
        return [(p, log.end, store.backlog(p, log, group)) for p, log in self.logs.items()]

    def committed_offsets(self, group: str) -> dict[int, int]:
        """The committed offsets of ``group`` it stores (the group coordinator), for the lag
        probe."""
        offsets = self.offset_stores.get(group)
        if offsets is None:
            return {}
        return {p: c.offset for p, c in offsets.committed.items()}
