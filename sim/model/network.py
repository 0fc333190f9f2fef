"""The network: a networkx directed graph of nodes and links.

Every link has a latency distribution, a loss probability, and may duplicate or reorder
messages; faults add to these for a window of time, and partitions drop what crosses a cut.
Links are FIFO (like a TCP connection) unless a message is reordered: it is then held back
for an extra delay and may arrive behind later ones. Every send, copy, drop and delivery is
recorded in the history.

A link fault is matched against the links once, when it starts: each link keeps the faults
active on it, so a send never matches patterns. Faults and partitions match a link by its
nodes' names or by their services (``Topology.host_of``: ``producer-0->broker-0`` also
reaches ``relay-0->broker-0`` and ``coordinator->broker-0``); a link inside one service is
local: no latency, no loss, no fault.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import networkx as nx
from simpy.core import NORMAL

from ..config.links import LinkPattern
from ..config.models import Network as NetworkConfig
from ..core.distributions import Constant
from ..core.draws import BlockDraws
from ..core.rng import Streams
from ..history import causes
from ..history.ops import Op
from ..history.recorder import RecordOp
from .clock import Clock
from .messages import Envelope, Message

# (Op's members read once: see sim/history/ops.py, Reading a member)
_SEND, _DUP, _DROP, _DELIVER = Op.SEND, Op.DUP, Op.DROP, Op.DELIVER


LOCAL = Constant(value=0.0)
"""The latency between two nodes of one service."""


class Endpoint(Protocol):
    """A node as the network sees it."""

    state: str

    def accept(self, env: Envelope) -> None: ...

    def handle(self, env: Envelope) -> None: ...


@dataclass
class LinkFault:
    """A fault active on matching links: drop / delay / duplicate / reorder."""

    fault_id: int
    kind: str
    pattern: LinkPattern
    probability: float = 0.0
    extra: Any = None


@dataclass
class Cut:
    """A partition: node patterns in groups; messages between different groups are dropped."""

    fault_id: int
    groups: list[list[str]] = field(default_factory=list)

    def side(self, node: str) -> int | None:
        for i, group in enumerate(self.groups):
            if any(fnmatch.fnmatchcase(node, pattern) for pattern in group):
                return i
        return None

    def separates(self, a: str, b: str) -> bool:
        sa, sb = self.side(a), self.side(b)
        return sa is not None and sb is not None and sa != sb


class Link:
    """A directed link: its configured behaviour, FIFO clock, active faults and random streams."""

    __slots__ = (
        "src",
        "dst",
        "loss",
        "duplicate",
        "reorder",
        "latency",
        "last_arrival",
        "faults",
        "hosts",
        "local",
        "keep",
        "_streams",
        "_u",
    )

    def __init__(
        self,
        src: str,
        dst: str,
        spec: dict[str, Any],
        streams: Streams,
        hosts: tuple[str, str] | None = None,
    ) -> None:
        self.src, self.dst = src, dst
        self.hosts = hosts or (src, dst)
        """The services the two ends run in."""
        self.local = self.hosts[0] == self.hosts[1]
        if self.local:  # one service: no network in between
            spec = {**spec, "latency": LOCAL, "loss": 0.0, "duplicate": 0.0, "reorder": 0.0}
        self.loss: float = spec["loss"]
        self.duplicate: float = spec["duplicate"]
        self.reorder: float = spec["reorder"]
        self.latency = spec["latency"].sampler(streams(f"net/latency/{src}->{dst}"))
        self.last_arrival = 0.0
        self.faults: dict[str, list[LinkFault]] = {}
        """Active link faults by kind, in the order they started."""
        self.keep: tuple[float, float, float] = (1.0, 1.0, 1.0)
        """(drop, reorder, duplicate): 1 - P(it happens), with the active faults; resolved
        when a fault starts or ends (:meth:`resolve`), not per send."""
        self._streams = streams
        self._u: dict[str, Callable[[], float]] = {}
        self.resolve()

    def resolve(self) -> None:
        """Recompute :attr:`keep` from the configured probabilities and the active faults."""
        self.keep = (
            self.keep_probability(self.loss, "drop"),
            self.keep_probability(self.reorder, "reorder"),
            self.keep_probability(self.duplicate, "duplicate"),
        )

    def uniform(self, purpose: str) -> float:
        """A U(0,1) draw from this link's stream for ``purpose`` (loss, duplicate, reorder)."""
        draws = self._u.get(purpose)
        if draws is None:
            rng = self._streams(f"net/{purpose}/{self.src}->{self.dst}")
            draws = self._u[purpose] = BlockDraws(rng, rng.random).draw
        return draws()

    def stream(self, purpose: str) -> Any:
        return self._streams(f"net/{purpose}/{self.src}->{self.dst}")

    def keep_probability(self, configured: float, kind: str) -> float:
        """1 - P(the link's own ``configured`` probability or any active ``kind`` fault fires)."""
        keep = 1.0 - configured
        for f in self.faults.get(kind, ()):
            keep *= 1.0 - f.probability
        return keep


class Network:
    def __init__(
        self,
        env: Clock,
        record: RecordOp,
        streams: Streams,
        cfg: NetworkConfig,
        nodes: list[str],
        edges: tuple[tuple[str, str], ...],
        host_of: Callable[[str], str] = str,
    ) -> None:
        self.env = env
        self.record = record
        self.graph = nx.DiGraph()
        self.graph.add_nodes_from(nodes)
        self.links: dict[tuple[str, str], Link] = {}
        self._out: dict[str, dict[str, Link]] = {}
        """Source -> destination -> link (two lookups of strings: no key tuple to make)."""
        overrides = [(LinkPattern.parse(p), o) for p, o in cfg.links.items()]
        for src, dst in edges:
            spec = {
                "latency": cfg.latency,
                "loss": cfg.loss,
                "duplicate": cfg.duplicate,
                "reorder": cfg.reorder,
            }
            for pattern, override in overrides:
                if pattern.matches(src, dst):
                    spec.update(override.overrides())  # what it leaves null, it inherits
            link = Link(src, dst, spec, streams, (host_of(src), host_of(dst)))
            self.graph.add_edge(src, dst, link=link, **spec)
            self.links[(src, dst)] = link
            self._out.setdefault(src, {})[dst] = link
        self.reorder_hold = cfg.reorder_hold
        self.cuts: list[Cut] = []
        self.endpoints: Mapping[str, Endpoint] = {}
        self._next_msgid = 0
        self.sent = 0
        self._arrive_callbacks = [self._arrive]
        """The callbacks of every message's arrival entry (the kernel sets an entry's own
        callbacks to None when it pops it, so a shared list is never run twice)."""
        self._queue = env._queue
        """The kernel's queue (kept: every message is pushed on it)."""

    def attach(self, endpoints: Mapping[str, Endpoint]) -> None:
        """The nodes messages are delivered to."""
        self.endpoints = endpoints

    # ------------------------------------------------------------------ faults

    def add_fault(self, fault: LinkFault) -> None:
        for link in self.links.values():
            if link.local:
                continue
            if fault.pattern.matches(link.src, link.dst) or fault.pattern.matches(*link.hosts):
                link.faults.setdefault(fault.kind, []).append(fault)
                link.resolve()

    def remove_fault(self, fault: LinkFault) -> None:
        for link in self.links.values():
            active = link.faults.get(fault.kind)
            if active and fault in active:
                active.remove(fault)
                link.resolve()

    def reconnect(self, node: str) -> None:
        """A restarted node opens new connections: FIFO order does not hold across incarnations
        (messages of the old connection still in flight arrive when they arrive)."""
        for (src, dst), link in self.links.items():
            if node in (src, dst):
                link.last_arrival = 0.0

    # ------------------------------------------------------------------ sending

    def send(self, src: str, dst: str, payload: Message) -> None:
        link = self._out[src][dst]  # KeyError: the two nodes are not connected (a bug)
        self._next_msgid += 1
        env = Envelope(self._next_msgid, src, dst, payload)
        self.sent += 1
        self.record(_SEND, src, env.eids, dst, env.custody, env.msgid, env.kind)
        self._transmit(env, link, copy=False)

    def _transmit(self, env: Envelope, link: Link, copy: bool) -> None:
        src, dst = env.src, env.dst
        if self.cuts and not link.local:
            for cut in self.cuts:
                if cut.separates(src, dst) or cut.separates(*link.hosts):
                    self.dropped(env, causes.partition(src, dst))
                    return
        keep, reorder, dup = link.keep
        if keep < 1.0 and link.uniform("loss") >= keep:
            self.dropped(env, causes.drop(src, dst))
            return
        now = self.env._now
        arrival = now + link.latency()
        if link.faults:
            for f in link.faults.get("delay", ()):
                arrival += f.extra.sample(link.stream("delay"))
        if reorder < 1.0 and link.uniform("reorder") >= reorder:  # held back: later ones overtake
            arrival += self._hold_back(link)
        else:
            if arrival < link.last_arrival:  # FIFO: never overtake an earlier message
                arrival = link.last_arrival
            link.last_arrival = arrival
        env.callbacks = self._arrive_callbacks
        self._queue.push(arrival, NORMAL, env)
        if not copy:
            if dup < 1.0 and link.uniform("duplicate") >= dup:
                self._next_msgid += 1
                twin = Envelope(self._next_msgid, src, dst, env.payload)
                self.record(_DUP, src, twin.eids, dst, twin.custody, twin.msgid, twin.kind)
                self._transmit(twin, link, copy=True)

    def _hold_back(self, link: Link) -> float:
        """The extra delay of a reordered message: the first active reorder fault's, or the
        network's own."""
        held = next(
            (f.extra for f in link.faults.get("reorder", ()) if f.extra is not None),
            self.reorder_hold,
        )
        return held.sample(link.stream("reorder-hold"))  # type: ignore[no-any-return]

    def _arrive(self, env: Envelope) -> None:
        node = self.endpoints[env.dst]
        state = node.state
        if state == "up":  # (node.accept, inlined for the commonest case)
            self.record(_DELIVER, env.dst, env.eids, env.src, env.custody, env.msgid, env.kind)
            node.handle(env)
        elif state == "crashed":
            self.dropped(env, causes.crash(env.dst))
        else:
            node.accept(env)

    def dropped(self, env: Envelope, cause: str) -> None:
        self.record(_DROP, env.src, env.eids, env.dst, env.custody, env.msgid, cause)

    def delivered(self, env: Envelope) -> None:
        self.record(_DELIVER, env.dst, env.eids, env.src, env.custody, env.msgid, env.kind)
