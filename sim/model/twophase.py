"""Two-phase commit: the coordinator node and the participant role it drives.

The coordinator runs each transaction (one business event: its row in the producer's
database and its message at the broker): prepare to both participants, collect votes, then
decide. Presumed abort (Mohan, Lindsay & Obermarck 1986; the X/Open XA default): a commit is
forced to the coordinator's log and sent until every participant acknowledges it; an abort
is neither logged nor acknowledged, it is sent once to the participants that may have
prepared (never to one that voted no), and a participant that asks about a transaction the
coordinator has no record of is told abort. A participant that voted yes holds the prepared
write, invisible, until it learns the decision, however long the coordinator is down; it
keeps asking (``Status``) every ``prepare_timeout``. The coordinator runs in producer-0's
service (``Topology.host_of``).

An abort the application asked for (a business rollback) is recorded as ``rolled back``; any
other abort (a vote missing at ``prepare_timeout``, a participant that voted no because it
lost the transaction) is fault-induced, and its detail says which participant.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import simpy

from ..config.models import TwoPhaseCommit
from ..core.distributions import Distribution
from ..history.ops import Op
from .context import Context
from .messages import Begin, Decision, DecisionAck, Envelope, Outcome, Prepare, Record, Status, Vote
from .node import Node


@dataclass
class Txn:
    app: str
    record: Record
    participants: list[str]
    aborts: bool = False
    """The application asked for a rollback."""
    votes: dict[str, bool] = field(default_factory=dict)
    voted: simpy.Event | None = None
    unacked: set[str] = field(default_factory=set)
    acked: simpy.Event | None = None


class Coordinator(Node):
    role = "coordinator"

    def __init__(self, name: str, ctx: Context, cfg: TwoPhaseCommit) -> None:
        super().__init__(name, ctx)
        self.cfg = cfg
        self.timeout = ctx.request_timeout
        self.log_write = cfg.log_write.sampler(ctx.streams(f"2pc/log-write/{name}"))
        self.log: dict[str, tuple[str, list[str]]] = {}  # durable: txn -> (commit | end, parties)
        self.active: dict[str, Txn] = {}
        self.on(Begin, self._begin)
        self.on(Vote, self._vote)
        self.on(DecisionAck, self._decision_ack)
        self.on(Status, self._status)

    def on_start(self) -> None:
        self.active = {}
        for txn, (state, participants) in sorted(self.log.items()):
            if state == "commit":  # recovery: finish delivering the commits it logged
                self.spawn(self._finish(txn, participants, True, None))

    def on_crash(self) -> None:
        self.active = {}

    def _begin(self, env: Envelope) -> None:
        msg = env.payload
        assert isinstance(msg, Begin)
        txn = msg.record.eid
        if txn not in self.active and txn not in self.log:
            broker = self.topology.leader_of(msg.record.partition)
            t = Txn(env.src, msg.record, [env.src, broker], msg.aborts)
            self.active[txn] = t
            self.spawn(self._run(txn, t))

    def _vote(self, env: Envelope) -> None:
        msg = env.payload
        assert isinstance(msg, Vote)
        voting = self.active.get(msg.txn)
        if voting is not None and voting.voted is not None:
            voting.votes[env.src] = msg.yes
            everyone = len(voting.votes) == len(voting.participants)
            if (everyone or not msg.yes) and not voting.voted.triggered:
                voting.voted.succeed()

    def _decision_ack(self, env: Envelope) -> None:
        msg = env.payload
        assert isinstance(msg, DecisionAck)
        acking = self.active.get(msg.txn)
        if acking is not None and acking.acked is not None:
            acking.unacked.discard(env.src)
            if not acking.unacked and not acking.acked.triggered:
                acking.acked.succeed()

    def _status(self, env: Envelope) -> None:
        msg = env.payload
        assert isinstance(msg, Status)
        if msg.txn in self.log:
            self.send(env.src, Decision(msg.txn, True))
        elif msg.txn not in self.active:  # presumed abort: no record means it never committed
            self.send(env.src, Decision(msg.txn, False))

    def _run(self, txn: str, t: Txn) -> Generator[Any, Any, None]:
        t.voted = self.env.event()
        for p in t.participants:
            self.send(p, Prepare(t.record))
        self.reach("after-prepare")
        yield from self.wait_for(t.voted, self.cfg.prepare_timeout)
        commit = len(t.votes) == len(t.participants) and all(t.votes.values())
        if commit:
            yield from self.sleep(self.log_write())  # the forced write of the commit record
            self.log[txn] = ("commit", list(t.participants))
            self.record(Op.FORCE_LOG, self.name, (txn,), detail="commit")
            self.record(Op.TXN_COMMIT, self.name, (txn,))
            self.reach("after-decision-logged")
        else:
            self.record(Op.TXN_ABORT, self.name, (txn,), detail=self._abort_why(t))
        self.send(t.app, Outcome(txn, commit))
        if commit:
            yield from self._finish(txn, t.participants, commit, t)
        else:  # presumed abort: told once, to whoever may have prepared; nothing to remember
            for p in t.participants:
                if t.votes.get(p) is not False:
                    self.send(p, Decision(txn, False))
            self.active.pop(txn, None)

    @staticmethod
    def _abort_why(t: Txn) -> str:
        if t.aborts:
            return "rolled back"
        no = [p for p in t.participants if t.votes.get(p) is False]
        if no:
            return f"{', '.join(no)} voted no"
        missing = [p for p in t.participants if p not in t.votes]
        return f"no vote from {', '.join(missing)} in time"

    def _finish(
        self, txn: str, participants: list[str], commit: bool, t: Txn | None
    ) -> Generator[Any, Any, None]:
        """Send a commit until every participant acknowledged it, then forget it."""
        state = t if t is not None else Txn("", Record(txn, 0, 0, 0.0, 0.0), participants)
        self.active[txn] = state
        state.unacked = set(participants)
        while state.unacked:
            state.acked = self.env.event()
            for p in sorted(state.unacked):
                self.send(p, Decision(txn, commit))
            yield from self.wait_for(state.acked, self.timeout)
        if commit:
            self.log[txn] = ("end", participants)
        self.active.pop(txn, None)


class Participant:
    """The participant role of a node (the producer's database, a broker): durable prepared
    writes, votes, and an in-doubt watcher per prepared transaction."""

    def __init__(
        self,
        node: Node,
        cfg: TwoPhaseCommit,
        vote: Callable[[Record], bool],
        apply: Callable[[Record, bool], None],
        prepared: Callable[[Record], None] | None = None,
    ) -> None:
        self.node = node
        self.vote = vote
        self.apply = apply
        self.on_prepared = prepared
        self.prepared: dict[str, Record] = {}  # durable
        self.resolved: dict[str, bool] = {}  # durable
        self.busy: set[str] = set()  # volatile: a forced write in progress for these
        self.early_aborts: set[str] = set()  # volatile: aborts that came during that write
        self.recheck = cfg.prepare_timeout
        self.coordinator = node.topology.two_pc_coordinator
        log_write: Distribution = cfg.log_write
        self.log_write = log_write.sampler(node.ctx.streams(f"2pc/log-write/{node.name}"))
        node.on(Prepare, self._on_prepare)
        node.on(Decision, self._on_decision)

    def recover(self) -> None:
        self.busy, self.early_aborts = set(), set()
        for txn in sorted(self.prepared):
            self.node.spawn(self._in_doubt(txn))

    def _on_prepare(self, env: Envelope) -> None:
        src, msg = env.src, env.payload
        assert isinstance(msg, Prepare)
        txn = msg.record.eid
        if txn in self.resolved:
            self.node.send(src, Vote(txn, self.resolved[txn]))
            return
        if txn in self.prepared:
            self.node.send(src, Vote(txn, True))
            return
        if txn not in self.busy:
            self.node.spawn(self._prepare(src, msg.record))

    def _prepare(self, src: str, rec: Record) -> Generator[Any, Any, None]:
        txn = rec.eid
        yes = self.vote(rec)
        if yes:
            self.busy.add(txn)
            yield from self.node.sleep(self.log_write())  # force the prepare record before voting
            self.busy.discard(txn)
            self.prepared[txn] = rec
            if self.on_prepared is not None:
                self.on_prepared(rec)
            self.node.record(Op.FORCE_LOG, self.node.name, (txn,), detail="prepare")
            self.node.record(Op.PREPARED, self.node.name, (txn,), peer=src, part=rec.partition)
            if txn in self.early_aborts:
                self.early_aborts.discard(txn)
                self.node.spawn(self._decide(src, Decision(txn, False)))
            else:
                self.node.spawn(self._in_doubt(txn))
        self.node.send(src, Vote(txn, yes))

    def _on_decision(self, env: Envelope) -> None:
        src, msg = env.src, env.payload
        assert isinstance(msg, Decision)
        if msg.txn in self.prepared and msg.txn not in self.busy:
            self.node.spawn(self._decide(src, msg))
        elif msg.txn not in self.busy:
            if msg.commit:  # an abort is never acknowledged
                self.node.send(src, DecisionAck(msg.txn))
        elif not msg.commit:  # told while forcing its prepare record: apply it once forced
            self.early_aborts.add(msg.txn)

    def _decide(self, src: str, msg: Decision) -> Generator[Any, Any, None]:
        if msg.commit:  # force the commit record before applying and acknowledging
            self.busy.add(msg.txn)
            yield from self.node.sleep(self.log_write())
            self.busy.discard(msg.txn)
        rec = self.prepared.pop(msg.txn, None)
        if rec is not None:
            self.resolved[msg.txn] = msg.commit
            self.apply(rec, msg.commit)
            if msg.commit:
                self.node.record(Op.FORCE_LOG, self.node.name, (msg.txn,), detail="commit")
            self.node.record(
                Op.RESOLVED,
                self.node.name,
                (msg.txn,),
                peer=src,
                detail="commit" if msg.commit else "abort",
            )
        if msg.commit:
            self.node.send(src, DecisionAck(msg.txn))

    def _in_doubt(self, txn: str) -> Generator[Any, Any, None]:
        while txn in self.prepared:
            yield from self.node.sleep(self.recheck)
            if txn in self.prepared:
                self.node.send(self.coordinator, Status(txn))
