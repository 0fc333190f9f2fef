"""Faults: materialised once per (cell, replication), then replayed into every strategy's run.

:func:`materialise` expands the config's ``faults:`` list into concrete, timestamped faults:
node globs become one fault per node, and ``random`` generators are drawn from the seed here,
never during a run. :class:`FaultInjector` applies a concrete schedule to one run.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .config import (
    CrashFault,
    DelayFault,
    DiskLossFault,
    DropFault,
    DuplicateFault,
    ExperimentConfig,
    PartitionFault,
    PauseFault,
    RandomFault,
    ReorderFault,
)
from .distributions import Constant
from .network import Cut, LinkFault
from .rng import Streams

if TYPE_CHECKING:
    from .node import Node
    from .world import World


@dataclass(frozen=True)
class ConcreteFault:
    fault: int
    kind: str
    target: str
    at: float | None
    duration: float | None = None
    restart_after: float | None = None
    probability: float | None = None
    extra: Any = None
    on: str | None = None
    occurrence: int | None = None
    source: str = ""

    @property
    def groups(self) -> list[list[str]]:
        return [side.split(",") for side in self.target.split("|")]

    @property
    def end(self) -> float | None:
        """When the fault's effect ends (None: never, or not time-triggered)."""
        if self.at is None:
            return None
        if self.kind == "crash":
            return None if self.restart_after is None else self.at + self.restart_after
        if self.duration is None:
            return self.at
        return self.at + self.duration


def _nodes(cfg: ExperimentConfig, pattern: str) -> list[str]:
    return [n for n in cfg.node_names() if fnmatch.fnmatchcase(n, pattern)]


def materialise(cfg: ExperimentConfig, seed: int) -> list[ConcreteFault]:
    """The concrete schedule for one (cell, replication)."""
    horizon = cfg.duration + cfg.drain
    out: list[dict[str, Any]] = []
    for i, f in enumerate(cfg.faults):
        src = f"faults.{i}"
        if isinstance(f, CrashFault):
            for node in _nodes(cfg, f.node):
                out.append(dict(kind="crash", target=node, at=f.at, restart_after=f.restart_after, on=f.on,
                                occurrence=f.occurrence if f.on else None, source=src))
        elif isinstance(f, PauseFault):
            for node in _nodes(cfg, f.node):
                out.append(dict(kind="pause", target=node, at=f.at, duration=_cap(f.at, f.duration, horizon), source=src))
        elif isinstance(f, DiskLossFault):
            for node in _nodes(cfg, f.node):
                out.append(dict(kind="disk-loss", target=node, at=f.at, source=src))
        elif isinstance(f, PartitionFault):
            groups = f.groups if f.groups is not None else [[f.between[0]], [f.between[1]]]  # type: ignore[index]
            out.append(dict(kind="partition", target="|".join(",".join(g) for g in groups), at=f.at,
                            duration=_cap(f.at, f.duration, horizon), source=src))
        elif isinstance(f, DropFault | DuplicateFault):
            out.append(dict(kind=f.kind, target=f.link, at=f.at, duration=_cap(f.at, f.duration, horizon),
                            probability=f.probability, source=src))
        elif isinstance(f, ReorderFault):
            out.append(dict(kind="reorder", target=f.link, at=f.at, duration=_cap(f.at, f.duration, horizon),
                            probability=f.probability, extra=f.extra, source=src))
        elif isinstance(f, DelayFault):
            out.append(dict(kind="delay", target=f.link, at=f.at, duration=_cap(f.at, f.duration, horizon),
                            extra=f.extra, source=src))
        elif isinstance(f, RandomFault):
            out.extend(_expand_random(cfg, f, i, Streams(seed)(f"faults/random/{i}"), horizon))
    return [ConcreteFault(fault=j, **row) for j, row in enumerate(out)]


def _cap(at: float, duration: float, horizon: float) -> float:
    return min(duration, max(0.0, horizon - at))


def _expand_random(cfg: ExperimentConfig, f: RandomFault, index: int, rng: np.random.Generator, horizon: float) -> list[dict[str, Any]]:
    patterns = [f.nodes] if isinstance(f.nodes, str) else list(f.nodes)
    nodes = [n for n in cfg.node_names() if any(fnmatch.fnmatchcase(n, p) for p in patterns)]
    end = min(f.at + f.duration, horizon)
    src = f"faults.{index}/random"
    out: list[dict[str, Any]] = []
    t = f.at
    while True:
        t += float(rng.exponential(1.0 / f.rate))
        if t >= end:
            return out
        node = nodes[int(rng.integers(len(nodes)))]
        kind = f.kinds[int(rng.integers(len(f.kinds)))]
        length = float(rng.exponential(f.mean_duration))
        if kind == "crash":
            out.append(dict(kind="crash", target=node, at=t, restart_after=length, source=src))
        elif kind == "pause":
            out.append(dict(kind="pause", target=node, at=t, duration=length, source=src))
        elif kind == "partition":
            out.append(dict(kind="partition", target=f"{node}|*", at=t, duration=length, source=src))
        elif kind == "delay":
            out.append(dict(kind="delay", target=f"{node}<->*", at=t, duration=length, extra=f.extra, source=src))
        else:
            out.append(dict(kind=kind, target=f"{node}<->*", at=t, duration=length, probability=f.probability, source=src))


def schedule_frame(schedule: list[ConcreteFault], cell: int, replication: int) -> pd.DataFrame:
    cols = ["cell", "replication", "fault", "kind", "target", "at", "duration", "restart_after",
            "probability", "extra", "on", "occurrence", "source"]
    rows = []
    for f in schedule:
        d = asdict(f)
        extra = f.extra
        d["extra"] = None if extra is None else _dist_text(extra)
        rows.append({"cell": cell, "replication": replication, **d})
    frame = pd.DataFrame(rows, columns=cols)
    for c in ("at", "duration", "restart_after", "probability"):
        frame[c] = frame[c].astype(float)
    frame["occurrence"] = frame["occurrence"].astype("Int64")
    for c in ("target", "extra", "on", "source", "kind"):
        frame[c] = frame[c].astype("str")  # missing values are NaN, as after a CSV round trip
    return frame


def _dist_text(d: Any) -> str:
    fields = {k: v for k, v in d.model_dump().items() if k != "dist"}
    return d.dist + "(" + ", ".join(f"{k}={v:g}" for k, v in fields.items()) + ")"


class FaultInjector:
    """Applies one concrete schedule to one run."""

    def __init__(self, world: World, schedule: list[ConcreteFault]) -> None:
        self.world = world
        self.env = world.env
        self.armed: dict[tuple[str, str], list[list[Any]]] = {}
        for f in schedule:
            if f.kind == "crash" and f.on is not None:
                self.armed.setdefault((f.target, f.on), []).append([f, 0])
            else:
                assert f.at is not None
                self._at(f.at, lambda f=f: self._start(f))

    def _at(self, t: float, action: Any) -> None:
        delay = max(0.0, t - self.env.now)
        if math.isinf(delay):
            return
        timer = self.env.timeout(delay)
        timer.callbacks.append(lambda _e: action())

    def _start(self, f: ConcreteFault) -> None:
        w, rec = self.world, self.world.record
        if f.kind in ("crash", "pause", "disk-loss") and f.target not in w.nodes:
            return  # a node this strategy does not have (a relay, the coordinator)
        rec("fault-start", f.target, num=f.fault, info=f.kind)
        if f.kind == "crash":
            node = w.nodes[f.target]
            if f.restart_after is not None:
                self._at(self.env.now + f.restart_after, lambda: self._restart(f))
            node.crash(f"crash:{f.target}")
        elif f.kind == "pause":
            w.nodes[f.target].pause()
            self._at(f.at + f.duration, lambda: self._resume(f))  # type: ignore[operator]
        elif f.kind == "disk-loss":
            w.nodes[f.target].disk_loss_armed = True
        elif f.kind == "partition":
            cut = Cut(f.fault, f.groups)
            w.network.cuts.append(cut)
            self._at(f.at + f.duration, lambda: self._remove(f, w.network.cuts, cut))  # type: ignore[operator]
        else:
            extra = f.extra
            if f.kind == "delay" and extra is None:
                extra = Constant(value=0.0)
            lf = LinkFault(f.fault, f.kind, f.target, f.probability or 0.0, extra)
            w.network.link_faults.append(lf)
            self._at(f.at + f.duration, lambda: self._remove(f, w.network.link_faults, lf))  # type: ignore[operator]

    def _restart(self, f: ConcreteFault) -> None:
        self.world.record("fault-end", f.target, num=f.fault, info=f.kind)
        self.world.nodes[f.target].restart()

    def _resume(self, f: ConcreteFault) -> None:
        self.world.record("fault-end", f.target, num=f.fault, info=f.kind)
        self.world.nodes[f.target].resume()

    def _remove(self, f: ConcreteFault, items: list[Any], item: Any) -> None:
        self.world.record("fault-end", f.target, num=f.fault, info=f.kind)
        if item in items:
            items.remove(item)

    def reached(self, node: Node, step: str) -> None:
        """A node reached a protocol step: fire the armed crash whose occurrence this is."""
        armed = self.armed.get((node.name, step))
        if not armed or node.state != "up":
            return
        for entry in armed:
            f, seen = entry
            entry[1] = seen + 1
            if entry[1] == f.occurrence:
                self.world.record("step", node.name, num=f.fault, info=step)
                self.world.record("fault-start", node.name, num=f.fault, info="crash")
                if f.restart_after is not None:
                    self._at(self.env.now + f.restart_after, lambda f=f: self._restart(f))
                node.crash(f"crash:{node.name}")
