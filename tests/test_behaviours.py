"""Behaviour objects on their own, with a small fake host instead of a whole run (in the style
of SimPy's and desmod's small ``env`` fixtures): the group protocol, the broker's sequence
checks, and what each durability keeps across a crash."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import pytest
import simpy

from sim.config.models import ConsumerGroup
from sim.history import Op, Recorder
from sim.model.broker.durability import DURABILITIES
from sim.model.broker.group import GroupCoordinator
from sim.model.broker.idempotence import DEDUPE_DEPTH, Idempotence
from sim.model.broker.log import Committed, OffsetStore, PartitionLog
from sim.model.clock import Clock
from sim.model.messages import Envelope, Produce, Record


class FakeBroker:
    """Just enough of a broker for its behaviours: a clock, a recorder, logs, handlers."""

    def __init__(self, partitions: int = 2) -> None:
        self.name = "broker-0"
        self.env = Clock()
        self.record = Recorder(self.env)
        self.state = "up"
        self.incarnation = 0
        self.logs = {p: PartitionLog() for p in range(partitions)}
        self.dead_letters: list[Record] = []
        self.offset_stores: dict[str, OffsetStore] = {}
        self.sent: list[tuple[str, Any]] = []
        self.handlers: dict[type, Callable[[Envelope], None]] = {}

    def on(self, kind: type, handler: Callable[[Envelope], None]) -> None:
        self.handlers[kind] = handler

    def send(self, dst: str, payload: Any) -> None:
        self.sent.append((dst, payload))

    def spawn(self, gen: Generator[Any, Any, Any]) -> simpy.Process:
        return self.env.process(gen)

    def sleep(self, delay: float) -> Generator[Any, Any, None]:
        yield self.env.timeout(delay)

    def truncate(self, p: int, keep: int, cause: str) -> None:
        for rec in self.logs[p].truncate(keep):
            self.record(Op.LOG_LOSS, self.name, (rec.eid,), part=p, num=rec.offset, detail=cause)

    def reset_offsets(self, group: str, to: dict, cause: str) -> None:
        self.offset_stores[group].committed = dict(to)

    def append(self, p: int, n: int) -> None:
        log = self.logs[p]
        for _ in range(n):
            log.records.append(Record(f"e{p}-{log.end}", 0, p, 0.0, 0.0, offset=log.end))


# ----------------------------------------------------------------------------- the group protocol


def group(assignor: str) -> tuple[FakeBroker, GroupCoordinator]:
    broker = FakeBroker()
    cfg = ConsumerGroup(assignor=assignor, session_timeout=10, heartbeat_interval=3)
    durability = DURABILITIES["fsync"](1.0, lambda: 0.0)
    return broker, GroupCoordinator(broker, "default", cfg, [0, 1, 2, 3], durability, OffsetStore())  # type: ignore[arg-type]


def test_a_partition_is_granted_only_after_its_holder_revokes_it_eager() -> None:
    _, g = group("range")
    first = g.join("c0")
    c0 = first.member
    assert first.grant == (0, 1, 2, 3)
    g.heartbeat(c0, first.generation, (0, 1, 2, 3))
    second = g.join("c1")  # a new generation: c1 must wait for c0 to give up 2 and 3
    c1 = second.member
    assert second.grant == ()
    told = g.heartbeat(c0, first.generation, (0, 1, 2, 3))
    assert told.revoke == (0, 1, 2, 3)  # eager: everything is revoked on a new generation
    assert g.heartbeat(c1, second.generation, ()).grant == ()  # c0 has not rejoined yet
    back = g.heartbeat(c0, second.generation, ())  # c0 revoked everything and rejoins
    assert back.grant == (0, 1)
    assert g.heartbeat(c1, second.generation, ()).grant == (2, 3)


def test_cooperative_sticky_moves_only_the_moved_partitions() -> None:
    _, g = group("cooperative-sticky")
    first = g.join("c0")
    c0 = first.member
    g.heartbeat(c0, first.generation, first.grant)
    second = g.join("c1")
    told = g.heartbeat(c0, first.generation, first.grant)
    assert set(told.revoke) | set(told.grant) <= set(first.grant)
    assert len(told.revoke) == 2  # only what moves to c1 stops
    kept = tuple(p for p in first.grant if p not in told.revoke)
    assert g.heartbeat(second.member, second.generation, ()).grant == ()  # not yet given back
    g.heartbeat(c0, second.generation, kept)
    assert set(g.heartbeat(second.member, second.generation, ()).grant) == set(told.revoke)


def test_a_granted_partition_not_yet_taken_stays_with_its_grantee() -> None:
    """The member reports what it was granted but has not taken yet: it is not freed."""
    _, g = group("range")
    first = g.join("c0")
    granted = g.heartbeat(first.member, first.generation, ()).grant or first.grant
    g.heartbeat(first.member, first.generation, granted)  # held = assigned + to_take
    assert all(g.owner[p] == first.member for p in granted)


def test_commits_from_an_unknown_member_or_an_old_generation_are_refused() -> None:
    _, g = group("range")
    first = g.join("c0")
    g.heartbeat(first.member, first.generation, first.grant)
    assert g.may_commit(first.member, first.generation, 0) == ""
    second = g.join("c1")  # a new generation; c0 still owns its partitions until it revokes
    assert g.may_commit(first.member, first.generation, 0) == ""  # its revocation commit
    g.heartbeat(first.member, second.generation, ())  # c0 revoked everything; 3 moves to c1
    assert g.may_commit(first.member, first.generation, 3) == "illegal generation"
    assert g.may_commit("c0#99", second.generation, 0) == "unknown member"
    again = g.join("c0")  # a restarted c0 is a new member; its old id is not a member's
    assert again.member != first.member


def test_a_static_member_that_restarts_keeps_its_partitions_without_a_rebalance() -> None:
    broker = FakeBroker()
    cfg = ConsumerGroup(assignor="range", session_timeout=10, heartbeat_interval=3)
    durability = DURABILITIES["fsync"](1.0, lambda: 0.0)
    g = GroupCoordinator(broker, "default", cfg, [0, 1, 2, 3], durability, OffsetStore())  # type: ignore[arg-type]
    a, b = g.join("c0", "c0"), g.join("c1", "c1")
    for m in (a, b):
        g.heartbeat(m.member, b.generation, ())
    generation = g.generation
    back = g.join("c0", "c0")  # c0 restarted with the same group.instance.id
    assert g.generation == generation and back.member != a.member
    assert set(back.grant) == set(g.target[back.member]) and back.grant


def test_a_silent_member_is_declared_dead_after_the_session_timeout() -> None:
    broker, g = group("range")
    member = g.join("c0").member
    broker.env.run(until=10.5)
    g.expire()
    assert member not in g.members
    assert g.may_commit(member, g.generation, 0) == "unknown member"
    ops = [row[1] for row in broker.record.ops]
    assert ops == [Op.JOIN, Op.REBALANCE, Op.MEMBER_DEAD, Op.REBALANCE]


# ----------------------------------------------------------------------------- sequence checks


def produce(seq: int, epoch: int = 0, pid: int = 7, p: int = 0) -> Produce:
    return Produce((Record(f"e{seq}", 0, p, 0.0, 0.0),), 1, pid, epoch, seq)


def test_sequences_append_in_order_and_recognise_recent_resends() -> None:
    idem = Idempotence(dedupe_window=None)
    for seq in range(3):
        assert idem.check(produce(seq), 0.0).verdict == "append"
        idem.appended(produce(seq), 0, base=10 * seq)
    resend = idem.check(produce(1), 0.0)
    assert (resend.verdict, resend.offset) == ("duplicate", 10)
    assert idem.check(produce(5), 0.0).verdict == "out-of-sequence"


def test_an_older_epoch_is_fenced() -> None:
    idem = Idempotence(dedupe_window=None)
    idem.check(produce(0, epoch=1), 0.0)
    assert idem.check(produce(1, epoch=0), 0.0).verdict == "fenced"


def test_only_the_last_five_batches_are_cached() -> None:
    idem = Idempotence(dedupe_window=None)
    for seq in range(DEDUPE_DEPTH + 3):
        idem.check(produce(seq), 0.0)
        idem.appended(produce(seq), 0, base=seq)
    assert len(idem.states[(7, 0)].recent) == DEDUPE_DEPTH


def test_an_idle_state_older_than_the_dedupe_window_is_forgotten() -> None:
    idem = Idempotence(dedupe_window=2.0)
    idem.check(produce(0), 0.0)
    idem.appended(produce(0), 0, base=0)
    late = idem.check(produce(0), 5.0)  # the resend comes after the window: not recognised
    assert late.verdict == "append" and "expired" in late.note


def test_a_crash_that_loses_producer_state_marks_later_appends() -> None:
    idem = Idempotence(dedupe_window=None)
    idem.check(produce(0), 0.0)
    idem.appended(produce(0), 0, base=0)
    idem.crashed(keeps_ids=True, keeps_state=False, cause="crash:broker-0")
    again = idem.check(produce(0), 1.0)
    assert again.verdict == "append" and again.note == "crash:broker-0"


# ----------------------------------------------------------------------------- durability


@pytest.mark.parametrize(
    ("mode", "disk_loss", "kept_records", "kept_commit"),
    [
        ("fsync", True, 5, 3),
        ("interval", False, 5, 3),  # a process crash keeps the page cache
        ("interval", True, 2, 1),  # disk loss: back to the last flush
        ("memory", False, 0, 0),
    ],
)
def test_what_each_durability_keeps_across_a_crash(
    mode: str, disk_loss: bool, kept_records: int, kept_commit: int
) -> None:
    broker = FakeBroker(partitions=1)
    broker.offset_stores["default"] = offsets = OffsetStore()
    durability = DURABILITIES[mode](1.0, lambda: 0.0)
    log = broker.logs[0]
    broker.append(0, 2)
    offsets.committed[0] = Committed(1, 0, "broker-0")
    durability.appended(log)
    durability.committed(offsets)
    if mode != "fsync":  # the interval flusher ran here
        log.flushed = 2
        offsets.flush()
    broker.append(0, 3)
    offsets.committed[0] = Committed(3, 0, "broker-0")
    durability.appended(log)
    durability.committed(offsets)
    durability.crashed(broker)  # type: ignore[arg-type]
    if disk_loss:
        durability.lose_unflushed(broker, "disk-loss:broker-0")  # type: ignore[arg-type]
    committed = offsets.committed.get(0)
    assert (log.end, committed.offset if committed else 0) == (kept_records, kept_commit)
    lost = [row for row in broker.record.ops if row[1] == Op.LOG_LOSS]
    assert len(lost) == 5 - kept_records
    if kept_records < 5:
        assert log.epoch == 1 and log.divergence(0) == kept_records
