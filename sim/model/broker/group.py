"""The consumer group and its committed offsets, hosted by the coordinator broker (as Kafka's
group coordinator and its ``__consumer_offsets`` topic).

Members join and get a *member id* (a restarted consumer is a new member, unless it has a
static ``group.instance.id``, KIP-345), then heartbeat every ``heartbeat_interval`` reporting
the partitions they hold or have been granted; a member without a heartbeat for
``session_timeout`` is declared dead, and one that leaves (``max_poll_interval``) is removed.
Every membership change starts a new *generation*: the assignor computes the target
assignment and each heartbeat response tells the member what to revoke and what it may take.
A partition is granted only once its previous holder has stopped reporting it (or died), so
two live members never own it in one generation. With an eager assignor every member first
revokes everything and nothing is granted until all members have rejoined the generation;
with ``cooperative-sticky`` only the moved partitions stop.

An offset commit carries the member id and generation: it is accepted only from a current
member, of the current generation or still owning the partition (committing before it
revokes), and refused otherwise (Kafka's UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION). Group state
and offsets are durable with the broker's durability, so a coordinator restart alone causes
no rebalance (members' session timers restart); an in-memory broker forgets both.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

from ...config.models import ConsumerGroup
from ...core.topology import GROUP_TAG
from ...history.ops import Op
from ..messages import (
    Envelope,
    GroupResponse,
    Heartbeat,
    JoinGroup,
    LeaveGroup,
    OffsetCommit,
    OffsetCommitAck,
    OffsetFetch,
    OffsetFetchResponse,
)
from .assignors import ASSIGNORS, COOPERATIVE, Assignment
from .durability import Durability
from .log import BrokerHost, Committed, OffsetStore


@dataclass
class Member:
    consumer: str
    """The consumer node (its name), which may rejoin under a new member id."""
    instance: str
    """Static membership: the ``group.instance.id`` ("" for a dynamic member)."""
    seen: float
    joined: int = -1
    """The last generation it confirmed (revoked what it had to, in an eager rebalance)."""


class GroupCoordinator:
    def __init__(
        self,
        broker: BrokerHost,
        name: str,
        cfg: ConsumerGroup,
        partitions: list[int],
        durability: Durability,
        offsets: OffsetStore,
    ) -> None:
        self.broker = broker
        self.name = name
        self.tag = GROUP_TAG + name
        self.cfg = cfg
        self.durability = durability
        self.partitions = sorted(partitions)
        self.assign = ASSIGNORS[cfg.assignor]
        self.cooperative = cfg.assignor in COOPERATIVE
        self.offsets = offsets
        self.last_commit: dict[tuple[str, int], tuple[int, int]] = {}
        """(member, partition) -> the sequence of the last commit stored for it."""
        self.next_member = 0
        self.generation = 0
        self.reset()
        self.handlers: dict[type, Callable[[Envelope], None]] = {
            JoinGroup: self._on_join,
            Heartbeat: self._on_heartbeat,
            LeaveGroup: self._on_leave,
            OffsetCommit: self._on_commit,
            OffsetFetch: self._on_offset_fetch,
        }

    def reset(self) -> None:
        """Forget the group (an in-memory coordinator crashed): members will be told to rejoin.
        Generations go on counting from where they were: a member that has not yet heard of
        the loss still holds its partitions in an old generation, never in a new one."""
        self.members: dict[str, Member] = {}
        self.target: Assignment = {}
        self.owner: dict[int, str] = {}

    def restarted(self) -> None:
        """The coordinator is back with its durable state: session timers restart."""
        now = float(self.broker.env._now)
        for m in self.members.values():
            m.seen = now

    # ------------------------------------------------------------------ messages

    def _reply(self, env: Envelope, reply: Any) -> None:
        reply.request = env.payload.request  # type: ignore[attr-defined]
        self.broker.send(env.src, reply)

    def _on_join(self, env: Envelope) -> None:
        msg = env.payload
        assert isinstance(msg, JoinGroup)
        self._reply(env, self.join(env.src, msg.instance))

    def _on_heartbeat(self, env: Envelope) -> None:
        msg = env.payload
        assert isinstance(msg, Heartbeat)
        self._reply(env, self.heartbeat(msg.member, msg.generation, msg.held))

    def _on_leave(self, env: Envelope) -> None:
        msg = env.payload
        assert isinstance(msg, LeaveGroup)
        if msg.member in self.members:
            self._remove([msg.member], "left the group (max.poll.interval exceeded)")

    # ------------------------------------------------------------------ membership

    def _rebalance(self, why: str) -> None:
        self.generation += 1
        self.target = self.assign(sorted(self.members), self.partitions, self.target)
        text = " ".join(
            f"{m}:{','.join(map(str, ps)) or '-'}" for m, ps in sorted(self.target.items())
        )
        self.broker.record(
            Op.REBALANCE,
            self.broker.name,
            peer=self.tag,
            num=self.generation,
            detail=f"{why}; {text}",
        )

    def join(self, consumer: str, instance: str = "") -> GroupResponse:
        now = float(self.broker.env._now)
        static = next(
            (mid for mid, m in self.members.items() if instance and m.instance == instance), None
        )
        member_id = f"{consumer}#{self.next_member}"
        self.next_member += 1
        self.broker.record(
            Op.JOIN, self.broker.name, peer=consumer, num=self.generation, detail=member_id
        )
        if static is not None:  # KIP-345: the same instance takes over, no rebalance
            old = self.members.pop(static)
            self.members[member_id] = Member(consumer, instance, now, old.joined)
            self.target[member_id] = self.target.pop(static, [])
            for p, owner in list(self.owner.items()):
                if owner == static:
                    del self.owner[p]  # it restarted: it holds nothing now
        else:
            self.members[member_id] = Member(consumer, instance, now)
            self._rebalance(f"{member_id} joined")
        reply = self.heartbeat(member_id, self.generation, ())
        reply.member = member_id
        return reply

    def _remove(self, dead: list[str], why: str) -> None:
        for mid in dead:
            member = self.members.pop(mid)
            for p in [p for p, owner in self.owner.items() if owner == mid]:
                del self.owner[p]
            self.broker.record(
                Op.MEMBER_DEAD,
                self.broker.name,
                peer=member.consumer,
                num=self.generation,
                detail=(mid, why),
            )
        self._rebalance(f"{', '.join(dead)} {why}")

    def expire(self) -> None:
        now = float(self.broker.env._now)
        timeout = self.cfg.session_timeout
        dead = [mid for mid, m in sorted(self.members.items()) if now - m.seen > timeout]
        if dead:
            self._remove(dead, "timed out")

    def heartbeat(self, member_id: str, generation: int, held: tuple[int, ...]) -> GroupResponse:
        member = self.members.get(member_id)
        if member is None:  # UNKNOWN_MEMBER_ID: it must give everything up and rejoin
            return GroupResponse(-1, self.generation, (), tuple(held), rejoin=True)
        member.seen = float(self.broker.env._now)
        for p in [p for p, m in self.owner.items() if m == member_id and p not in held]:
            del self.owner[p]
        for p in held:
            self.owner.setdefault(p, member_id)
        target = self.target.get(member_id, [])
        revoke = self._revocations(member, generation, held, target)
        ready = self.cooperative or all(m.joined == self.generation for m in self.members.values())
        grant = (
            tuple(
                p for p in target if self.owner.get(p, member_id) == member_id and p not in revoke
            )
            if ready
            else ()
        )
        for p in grant:  # handed over: nobody else may take it until this member gives it back
            self.owner[p] = member_id
        return GroupResponse(-1, self.generation, grant, revoke, member=member_id)

    def _revocations(
        self, member: Member, generation: int, held: tuple[int, ...], target: list[int]
    ) -> tuple[int, ...]:
        """What ``member`` must give back; it has rejoined the generation once it holds no more
        than its target."""
        if self.cooperative:
            revoke = tuple(p for p in held if p not in target)
        else:  # eager: a member revokes everything when it learns of a new generation
            stale = generation != self.generation
            revoke = tuple(held) if stale else tuple(p for p in held if p not in target)
        if not revoke:
            member.joined = self.generation
        return revoke

    def sweeper(self) -> Generator[Any, Any, None]:
        tick = min(0.5, self.cfg.session_timeout / 10)
        while True:
            yield from self.broker.sleep(tick)
            self.expire()

    # ------------------------------------------------------------------ offsets

    def may_commit(self, member_id: str, generation: int, p: int) -> str:
        """Why a commit of ``p`` is refused ("" when it is accepted)."""
        if member_id not in self.members:
            return "unknown member"
        if generation != self.generation and self.owner.get(p) != member_id:
            return "illegal generation"
        return ""

    def _on_commit(self, env: Envelope) -> None:
        msg = env.payload
        assert isinstance(msg, OffsetCommit)
        broker = self.broker
        reasons = {p: self.may_commit(msg.member, msg.generation, p) for p in sorted(msg.offsets)}
        refused = tuple(p for p, why in reasons.items() if why)
        if refused:
            why = next(w for w in reasons.values() if w)
            broker.record(
                Op.COMMIT_REFUSED,
                broker.name,
                peer=env.src,
                num=msg.generation,
                detail=(why, refused),
            )
        for p, offset in sorted(msg.offsets.items()):
            if p in refused or self._overtaken(msg, p):
                continue
            epoch, leader = msg.epochs.get(p, 0), msg.leaders[p]
            now = self.offsets.get(p)
            if now is None or (now.offset, now.epoch) != (offset, epoch):
                self.offsets.committed[p] = Committed(offset, epoch, leader)
                self.durability.committed(self.offsets)
                broker.record(
                    Op.COMMIT, broker.name, peer=env.src, part=p, num=offset, detail=(leader, epoch)
                )
        self._reply(env, OffsetCommitAck(-1, refused))

    def _overtaken(self, msg: OffsetCommit, p: int) -> bool:
        """Whether a later commit of ``p`` by the same member was already stored (this one was
        reordered on the network): it is stale, and storing it would move the offset back."""
        key = (msg.member, p)
        last = self.last_commit.get(key)
        if last is not None and msg.sequence < last:
            return True
        self.last_commit[key] = msg.sequence
        return False

    def _on_offset_fetch(self, env: Envelope) -> None:
        msg = env.payload
        assert isinstance(msg, OffsetFetch)
        stored = {p: self.offsets.get(p) for p in msg.partitions}
        offsets = {p: c.offset if c else 0 for p, c in stored.items()}
        epochs = {p: c.epoch if c else 0 for p, c in stored.items()}
        self._reply(env, OffsetFetchResponse(-1, offsets, epochs))


class Groups:
    """The consumer groups a coordinator broker hosts, each with its own members, generation
    and committed offsets; a group request goes to the group it names."""

    def __init__(
        self,
        broker: BrokerHost,
        plans: list[tuple[str, ConsumerGroup]],
        partitions: list[int],
        durability: Durability,
    ) -> None:
        self.by_name = {
            name: GroupCoordinator(broker, name, cfg, partitions, durability, OffsetStore())
            for name, cfg in plans
        }
        first = next(iter(self.by_name.values()))
        for kind in first.handlers:
            broker.on(kind, self._dispatch)

    def _dispatch(self, env: Envelope) -> None:
        group = self.by_name[env.payload.group]  # type: ignore[attr-defined]
        group.handlers[type(env.payload)](env)

    def __iter__(self) -> Iterator[GroupCoordinator]:
        return iter(self.by_name.values())
