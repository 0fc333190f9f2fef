"""The network: a networkx directed graph of nodes and links.

Every link has a latency distribution, a loss probability, and may duplicate or reorder
messages; faults add to these for a window of time, and partitions drop what crosses a cut.
Links are FIFO (like a TCP connection) unless a message is reordered: it is then held back
for an extra delay and may arrive behind later ones. Every send, copy, drop and delivery is
recorded in the history.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import networkx as nx

from .config import Network as NetworkConfig
from .config import link_matches
from .distributions import BlockDraws
from .messages import Envelope, Message

if TYPE_CHECKING:
    from .world import World


@dataclass
class LinkFault:
    """A fault active on matching links: drop / delay / duplicate / reorder."""

    fault_id: int
    kind: str
    pattern: str
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
    """A directed link: its configured behaviour, FIFO clock and its own random streams."""

    __slots__ = ("src", "dst", "loss", "duplicate", "reorder", "latency", "last_arrival", "_streams", "_u")

    def __init__(self, src: str, dst: str, spec: dict[str, Any], streams: Any) -> None:
        self.src, self.dst = src, dst
        self.loss: float = spec["loss"]
        self.duplicate: float = spec["duplicate"]
        self.reorder: float = spec["reorder"]
        self.latency = spec["latency"].sampler(streams(f"net/latency/{src}->{dst}"))
        self.last_arrival = 0.0
        self._streams = streams
        self._u: dict[str, BlockDraws] = {}

    def uniform(self, purpose: str) -> float:
        """A U(0,1) draw from this link's stream for ``purpose`` (loss, duplicate, reorder)."""
        draws = self._u.get(purpose)
        if draws is None:
            rng = self._streams(f"net/{purpose}/{self.src}->{self.dst}")
            draws = self._u[purpose] = BlockDraws(rng, rng.random)
        return draws()

    def stream(self, purpose: str) -> Any:
        return self._streams(f"net/{purpose}/{self.src}->{self.dst}")


class Network:
    def __init__(self, world: World, cfg: NetworkConfig, edges: list[tuple[str, str]]) -> None:
        self.world = world
        self.env = world.env
        self.record = world.record
        self.streams = world.streams
        self.graph = nx.DiGraph()
        self.graph.add_nodes_from(world.nodes)
        self.links: dict[tuple[str, str], Link] = {}
        for src, dst in edges:
            spec = {"latency": cfg.latency, "loss": cfg.loss, "duplicate": cfg.duplicate, "reorder": cfg.reorder}
            for pattern, override in cfg.links.items():
                if link_matches(pattern, src, dst):
                    for key in override.model_fields_set:
                        spec[key] = getattr(override, key)
            link = Link(src, dst, spec, self.streams)
            self.graph.add_edge(src, dst, link=link, **spec)
            self.links[(src, dst)] = link
        self.reorder_hold = cfg.reorder_hold
        self.link_faults: list[LinkFault] = []
        self.cuts: list[Cut] = []
        self._next_msgid = 0
        self.sent = 0

    # ------------------------------------------------------------------ faults

    def _active(self, kind: str, src: str, dst: str) -> list[LinkFault]:
        return [f for f in self.link_faults if f.kind == kind and link_matches(f.pattern, src, dst)]

    def reconnect(self, node: str) -> None:
        """A restarted node opens new connections: FIFO order does not hold across incarnations
        (messages of the old connection still in flight arrive when they arrive)."""
        for (src, dst), link in self.links.items():
            if node in (src, dst):
                link.last_arrival = 0.0

    # ------------------------------------------------------------------ sending

    def send(self, src: str, dst: str, payload: Message) -> None:
        link = self.links[(src, dst)]  # KeyError: the two nodes are not connected (a bug)
        self._next_msgid += 1
        env = Envelope(self._next_msgid, src, dst, payload)
        self.sent += 1
        self.record("send", src, payload.eids, dst, int(payload.custody), env.msgid, payload.kind)
        self._transmit(env, link, copy=False)

    def _transmit(self, env: Envelope, link: Link, copy: bool) -> None:
        src, dst = env.src, env.dst
        faulty = bool(self.link_faults)
        for cut in self.cuts:
            if cut.separates(src, dst):
                self.dropped(env, f"partition:{src}->{dst}")
                return
        keep = 1.0 - link.loss
        if faulty:
            for f in self._active("drop", src, dst):
                keep *= 1.0 - f.probability
        if keep < 1.0 and link.uniform("loss") >= keep:
            self.dropped(env, f"drop:{src}->{dst}")
            return
        now = self.env._now
        arrival = now + link.latency()
        reorder = 1.0 - link.reorder
        reorder_faults: list[LinkFault] = []
        if faulty:
            for f in self._active("delay", src, dst):
                arrival += f.extra.sample(link.stream("delay"))
            reorder_faults = self._active("reorder", src, dst)
            for f in reorder_faults:
                reorder *= 1.0 - f.probability
        if reorder < 1.0 and link.uniform("reorder") >= reorder:  # held back: later messages overtake it
            hold = next((f.extra for f in reorder_faults if f.extra is not None), self.reorder_hold)
            arrival += hold.sample(link.stream("reorder-hold"))
        else:
            if arrival < link.last_arrival:  # FIFO: never overtake an earlier message
                arrival = link.last_arrival
            link.last_arrival = arrival
        timer = self.env.timeout(arrival - now)
        timer.callbacks.append(partial(self._arrive_cb, env))
        if not copy:
            dup = 1.0 - link.duplicate
            if faulty:
                for f in self._active("duplicate", src, dst):
                    dup *= 1.0 - f.probability
            if dup < 1.0 and link.uniform("duplicate") >= dup:
                self._next_msgid += 1
                twin = Envelope(self._next_msgid, src, dst, env.payload)
                p = env.payload
                self.record("dup", src, p.eids, dst, int(p.custody), twin.msgid, p.kind)
                self._transmit(twin, link, copy=True)

    def _arrive_cb(self, env: Envelope, _event: Any) -> None:
        node = self.world.nodes[env.dst]
        if node.state == "crashed":
            self.dropped(env, f"crash:{env.dst}")
            return
        node.accept(env)

    def dropped(self, env: Envelope, cause: str) -> None:
        p = env.payload
        self.record("drop", env.src, p.eids, env.dst, int(p.custody), env.msgid, cause)

    def delivered(self, env: Envelope) -> None:
        p = env.payload
        self.record("deliver", env.dst, p.eids, env.src, int(p.custody), env.msgid, p.kind)
