"""The fault injector: replays one concrete schedule (``schedule.py``) into one run.

Time-triggered faults are timers; step-triggered crashes are armed and fire when a node
reports the ``occurrence``-th arrival at their step (:meth:`FaultInjector.reached`). Every
fault's start and end is recorded in the history, so charts can shade fault windows.

Faults of one node may overlap: a node is down while any of its faults holds it down. It is
crashed while a crash holds it (it restarts when the last one ends), else paused while a pause
holds it, else up.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from ..config.links import LinkPattern
from ..core.distributions import Constant
from ..history import causes
from ..history.ops import Op
from ..history.recorder import RecordOp
from .clock import Clock, call_later
from .network import Cut, LinkFault, Network
from .node import Node
from .schedule import ConcreteFault


class FaultInjector:
    """Applies one concrete schedule to one run."""

    def __init__(
        self,
        env: Clock,
        record: RecordOp,
        nodes: Mapping[str, Node],
        network: Network,
        schedule: list[ConcreteFault],
    ) -> None:
        self.env = env
        self.record = record
        self.nodes = nodes
        self.network = network
        self.armed: dict[tuple[str, str], list[list[Any]]] = {}
        self.holds: dict[str, dict[str, set[int]]] = {"crash": {}, "pause": {}}
        """Kind -> node -> the faults holding it down."""
        for f in schedule:
            if f.kind == "crash" and f.on is not None:
                self.armed.setdefault((f.target, f.on), []).append([f, 0])
            else:
                assert f.at is not None
                self._at(f.at, partial(self._start, f))

    def _at(self, t: float, action: Callable[[], None]) -> None:
        delay = max(0.0, t - self.env.now)
        if math.isinf(delay):
            return
        call_later(self.env, delay, lambda _call: action())

    def _start(self, f: ConcreteFault) -> None:
        if f.kind in ("crash", "pause", "disk-loss") and f.target not in self.nodes:
            return  # a node this strategy does not have (a relay, the coordinator)
        self.record(Op.FAULT_START, f.target, num=f.fault, detail=f.kind)
        starts = {
            "crash": self._crash,
            "pause": self._pause,
            "disk-loss": self._arm_disk_loss,
            "partition": self._cut,
        }
        starts.get(f.kind, self._link_fault)(f)

    def _crash(self, f: ConcreteFault) -> None:
        if f.restart_after is not None:
            self._at(self.env.now + f.restart_after, partial(self._release, f))
        self._hold(f, f.target)

    def _pause(self, f: ConcreteFault) -> None:
        assert f.at is not None and f.duration is not None
        self._at(f.at + f.duration, partial(self._release, f))
        self._hold(f, f.target)

    def _hold(self, f: ConcreteFault, name: str) -> None:
        self.holds[f.kind].setdefault(name, set()).add(f.fault)
        self._settle(name)

    def _release(self, f: ConcreteFault) -> None:
        self.record(Op.FAULT_END, f.target, num=f.fault, detail=f.kind)
        self.holds[f.kind].get(f.target, set()).discard(f.fault)
        self._settle(f.target)

    def _settle(self, name: str) -> None:
        """Bring node ``name`` to the state its faults hold it in."""
        node = self.nodes[name]
        if self.holds["crash"].get(name):
            node.crash(causes.crash(name))  # raises if the node crashes itself (on a step)
            return
        if node.state == "crashed":
            node.restart()
        if self.holds["pause"].get(name):
            node.pause()
        else:
            node.resume()

    def _arm_disk_loss(self, f: ConcreteFault) -> None:
        self.nodes[f.target].disk_loss_armed = True

    def _cut(self, f: ConcreteFault) -> None:
        assert f.at is not None and f.duration is not None
        cut = Cut(f.fault, f.groups)
        self.network.cuts.append(cut)
        self._at(f.at + f.duration, lambda: self._remove_cut(f, cut))

    def _link_fault(self, f: ConcreteFault) -> None:
        assert f.at is not None and f.duration is not None
        extra = f.extra
        if f.kind == "delay" and extra is None:
            extra = Constant(value=0.0)
        lf = LinkFault(f.fault, f.kind, LinkPattern.parse(f.target), f.probability or 0.0, extra)
        self.network.add_fault(lf)
        self._at(f.at + f.duration, lambda: self._remove_link_fault(f, lf))

    def _remove_cut(self, f: ConcreteFault, cut: Cut) -> None:
        self.record(Op.FAULT_END, f.target, num=f.fault, detail=f.kind)
        if cut in self.network.cuts:
            self.network.cuts.remove(cut)

    def _remove_link_fault(self, f: ConcreteFault, lf: LinkFault) -> None:
        self.record(Op.FAULT_END, f.target, num=f.fault, detail=f.kind)
        self.network.remove_fault(lf)

    def armed_steps(self, node_name: str) -> frozenset[str]:
        """The steps of ``node_name`` a crash is armed on (fixed by the schedule)."""
        return frozenset(step for node, step in self.armed if node == node_name)

    def reached(self, node_name: str, step: str) -> None:
        """A node reached a protocol step: fire the armed crash whose occurrence this is."""
        armed = self.armed.get((node_name, step))
        if not armed:
            return
        node = self.nodes[node_name]
        if node.state != "up":
            return
        due = []
        for entry in armed:  # every armed crash counts this arrival, whichever fires
            entry[1] += 1
            if entry[1] == entry[0].occurrence:
                due.append(entry[0])
        for f in due:  # (the node crashes once: inside one of its processes, the first raises)
            self.record(Op.STEP, node_name, num=f.fault, detail=step)
            self.record(Op.FAULT_START, node_name, num=f.fault, detail="crash")
            self._crash(f)
