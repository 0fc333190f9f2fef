"""The group coordinator (log mode), hosted by ``broker-0`` as in Kafka.

Consumers join, then heartbeat every ``heartbeat_interval`` reporting the partitions they
hold; a member without a heartbeat for ``session_timeout`` (crashed, paused, cut off) is
declared dead. Every membership change starts a new *generation*: the assignor computes the
target assignment and each heartbeat response tells the member what to revoke and what it
may take. A partition is granted only once its previous holder has revoked it (or died), so
two live members never consume it at once. With an eager assignor (``range``, ``round-robin``,
``sticky``) every member first revokes everything and nothing is granted until all members
have rejoined the generation; with ``cooperative-sticky`` only the moved partitions stop.
The coordinator's state is volatile: after a crash of its broker, members must rejoin.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Protocol

from ...config.models import ConsumerGroup
from ...history.ops import Op
from ..messages import Envelope, GroupResponse, Heartbeat, JoinGroup
from .assignors import ASSIGNORS, COOPERATIVE, Assignment
from .log import BrokerHost


class GroupCoordinator:
    def __init__(self, broker: BrokerHost, cfg: ConsumerGroup, partitions: list[int]) -> None:
        self.broker = broker
        self.cfg = cfg
        self.partitions = sorted(partitions)
        self.assign = ASSIGNORS[self.cfg.assignor]
        self.cooperative = self.cfg.assignor in COOPERATIVE
        self.reset()
        broker.on(JoinGroup, self._on_join)
        broker.on(Heartbeat, self._on_heartbeat)

    def _on_join(self, env: Envelope) -> None:
        assert isinstance(env.payload, JoinGroup)
        reply = self.join(env.src)
        reply.request = env.payload.request
        self.broker.send(env.src, reply)

    def _on_heartbeat(self, env: Envelope) -> None:
        msg = env.payload
        assert isinstance(msg, Heartbeat)
        reply = self.heartbeat(env.src, msg.generation, msg.held)
        reply.request = msg.request
        self.broker.send(env.src, reply)

    def reset(self) -> None:
        """Forget everything (the broker crashed): members will be told to rejoin."""
        self.members: dict[str, float] = {}
        self.generation = 0
        self.target: Assignment = {}
        self.owner: dict[int, str] = {}
        self.joined: dict[str, int] = {}

    # ------------------------------------------------------------------ membership

    def _rebalance(self, why: str) -> None:
        self.generation += 1
        self.target = self.assign(sorted(self.members), self.partitions, self.target)
        text = " ".join(
            f"{m}:{','.join(map(str, ps)) or '-'}" for m, ps in sorted(self.target.items())
        )
        self.broker.record(
            Op.REBALANCE, self.broker.name, num=self.generation, detail=f"{why}; {text}"
        )

    def join(self, member: str) -> GroupResponse:
        self.members[member] = float(self.broker.env.now)
        for p in [p for p, m in self.owner.items() if m == member]:
            del self.owner[p]  # a member that (re)joins holds nothing
        self._rebalance(f"{member} joined")
        return self.heartbeat(member, self.generation, ())

    def expire(self) -> None:
        now = float(self.broker.env.now)
        timeout = self.cfg.session_timeout
        dead = [m for m, seen in sorted(self.members.items()) if now - seen > timeout]
        for m in dead:
            del self.members[m]
            self.joined.pop(m, None)
            for p in [p for p, owner in self.owner.items() if owner == m]:
                del self.owner[p]
            self.broker.record(
                Op.MEMBER_DEAD,
                self.broker.name,
                peer=m,
                num=self.generation,
                detail="session timeout",
            )
        if dead:
            self._rebalance(f"{', '.join(dead)} timed out")

    def heartbeat(self, member: str, generation: int, held: tuple[int, ...]) -> GroupResponse:
        if member not in self.members:
            return GroupResponse(-1, self.generation, (), tuple(held), rejoin=True)
        self.members[member] = float(self.broker.env.now)
        for p in [p for p, m in self.owner.items() if m == member and p not in held]:
            del self.owner[p]
        for p in held:
            self.owner.setdefault(p, member)
        target = self.target.get(member, [])
        if self.cooperative:
            revoke = tuple(p for p in held if p not in target)
        else:  # eager: a member revokes everything when it learns of a new generation
            stale = generation != self.generation
            revoke = tuple(held) if stale else tuple(p for p in held if p not in target)
        if not revoke or set(held) - set(revoke) <= set(target):
            self.joined[member] = self.generation if not revoke else self.joined.get(member, -1)
        ready = self.cooperative or all(self.joined.get(m) == self.generation for m in self.members)
        grant = (
            tuple(p for p in target if self.owner.get(p, member) == member and p not in revoke)
            if ready
            else ()
        )
        for p in grant:  # handed over: nobody else may take it until this member gives it back
            self.owner[p] = member
        return GroupResponse(-1, self.generation, grant, revoke)

    def owns(self, member: str, partition: int) -> bool:
        """Whether ``member`` may commit offsets of ``partition``: a live member that is assigned
        it or still holds it (committing before it revokes); a member declared dead may not."""
        if member not in self.members:
            return False
        return partition in self.target.get(member, []) or self.owner.get(partition) == member

    def sweeper(self) -> Generator[Any, Any, None]:
        tick = min(0.5, self.cfg.session_timeout / 10)
        while True:
            yield from self.broker.sleep(tick)
            self.expire()


class GroupHost(Protocol):
    """The broker hosting the group, as partition leaders see it."""

    state: str
    group: GroupCoordinator | None


class GroupDirectory:
    """How partition leaders ask the group whether a member may commit a partition: the
    group lives on its host broker, which must be up to answer."""

    def __init__(self) -> None:
        self.host: GroupHost | None = None

    def owns(self, member: str, partition: int) -> bool:
        host = self.host
        if host is None or host.state != "up" or host.group is None:
            return False
        return host.group.owns(member, partition)
