"""Two-phase commit: the coordinator node and the participant role it drives.

The coordinator runs each transaction (one business event: its row in the producer's
database and its message at the broker): prepare to both participants, collect votes,
force the decision to its durable log (presumed abort: only commits are logged), send the
decision until every participant acknowledges it. A participant that voted yes holds the
prepared write, invisible, until it learns the decision, however long the coordinator is
down; it keeps asking (``Status``) every ``prepare_timeout``. A coordinator that recovers
resends the commits in its log and answers abort for any transaction it has no record of.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import simpy

from .messages import Begin, Decision, DecisionAck, Envelope, Outcome, Prepare, Record, Status, Vote
from .node import Node

if TYPE_CHECKING:
    from .world import World

COORDINATOR = "coordinator"


@dataclass
class Txn:
    app: str
    record: Record
    participants: list[str]
    votes: dict[str, bool] = field(default_factory=dict)
    voted: simpy.Event | None = None
    unacked: set[str] = field(default_factory=set)
    acked: simpy.Event | None = None


class Coordinator(Node):
    role = "coordinator"

    def __init__(self, name: str, world: World) -> None:
        super().__init__(name, world)
        self.cfg = world.cfg.two_phase_commit
        self.timeout = world.cfg.producer.request_timeout
        self.log_write = self.cfg.log_write.sampler(world.streams("2pc/log-write/coordinator"))
        self.log: dict[str, tuple[str, list[str]]] = {}  # durable: txn -> (commit | end, participants)
        self.active: dict[str, Txn] = {}

    def on_start(self) -> None:
        self.active = {}
        for txn, (state, participants) in sorted(self.log.items()):
            if state == "commit":  # recovery: finish delivering the commits it logged
                self.spawn(self._finish(txn, participants, True, None))

    def on_crash(self) -> None:
        self.active = {}

    def handle(self, env: Envelope) -> None:
        msg = env.payload
        if isinstance(msg, Begin):
            txn = msg.record.eid
            if txn not in self.active and txn not in self.log:
                broker = self.world.leader_of(msg.record.partition)
                t = Txn(env.src, msg.record, [env.src, broker])
                self.active[txn] = t
                self.spawn(self._run(txn, t))
        elif isinstance(msg, Vote):
            voting = self.active.get(msg.txn)
            if voting is not None and voting.voted is not None:
                voting.votes[env.src] = msg.yes
                if (len(voting.votes) == len(voting.participants) or not msg.yes) and not voting.voted.triggered:
                    voting.voted.succeed()
        elif isinstance(msg, DecisionAck):
            acking = self.active.get(msg.txn)
            if acking is not None and acking.acked is not None:
                acking.unacked.discard(env.src)
                if not acking.unacked and not acking.acked.triggered:
                    acking.acked.succeed()
        elif isinstance(msg, Status):
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
            self.record("force-log", self.name, (txn,), info="commit")
            self.record("txn-commit", self.name, (txn,))
            self.reach("after-decision-logged")
        else:
            self.record("txn-abort", self.name, (txn,), info="no" if t.votes else "no votes")
        self.send(t.app, Outcome(txn, commit))
        yield from self._finish(txn, t.participants, commit, t)

    def _finish(self, txn: str, participants: list[str], commit: bool, t: Txn | None) -> Generator[Any, Any, None]:
        """Send the decision until every participant acknowledged it, then forget the transaction."""
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

    def __init__(self, node: Node, vote: Callable[[Record], bool], apply: Callable[[Record, bool], None]) -> None:
        self.node = node
        self.vote = vote
        self.apply = apply
        self.prepared: dict[str, Record] = {}  # durable
        self.resolved: dict[str, bool] = {}  # durable
        self.busy: set[str] = set()  # volatile: a forced write in progress for these
        cfg = node.world.cfg.two_phase_commit
        self.recheck = cfg.prepare_timeout
        self.log_write = cfg.log_write.sampler(node.world.streams(f"2pc/log-write/{node.name}"))

    def recover(self) -> None:
        self.busy = set()
        for txn in sorted(self.prepared):
            self.node.spawn(self._in_doubt(txn))

    def on_prepare(self, src: str, msg: Prepare) -> None:
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
            self.node.record("force-log", self.node.name, (txn,), info="prepare")
            self.node.record("prepared", self.node.name, (txn,), peer=src, part=rec.partition)
            self.node.spawn(self._in_doubt(txn))
        self.node.send(src, Vote(txn, yes))

    def on_decision(self, src: str, msg: Decision) -> None:
        if msg.txn in self.prepared and msg.txn not in self.busy:
            self.node.spawn(self._decide(src, msg))
        elif msg.txn not in self.busy:
            self.node.send(src, DecisionAck(msg.txn))

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
                self.node.record("force-log", self.node.name, (msg.txn,), info="commit")
            self.node.record("resolved", self.node.name, (msg.txn,), peer=src, info="commit" if msg.commit else "abort")
        self.node.send(src, DecisionAck(msg.txn))

    def _in_doubt(self, txn: str) -> Generator[Any, Any, None]:
        while txn in self.prepared:
            yield from self.node.sleep(self.recheck)
            if txn in self.prepared:
                self.node.send(COORDINATOR, Status(txn))
