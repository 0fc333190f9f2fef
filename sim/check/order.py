"""First effects: each committed event's latency and the per-key order check, as the history
is folded (not from columns over every applied event at the end of the run).

The order rule: an event is *out of order* when an event of the same producer and key,
created after it, had its first effect strictly earlier in the history, or in the same
operation and earlier in creation order. Read in the order of first effects, that is a running
maximum per (producer, key): an event is out of order when an event created after it was seen
already. Creation order is by creation time, then by the position of the ``create`` operation.

Only committed events count (an effect of an aborted event is a phantom, not an ordered
effect). An event whose business transaction is still undecided at its first effect (a
publish-then-commit producer: the effect can come before the commit) cannot be judged then,
nor can any later event of its key: such a key is *suspended*, its first effects kept in
order, and judged at the end once every transaction has ended (:meth:`FirstEffects.finish`).
Every other key is judged as it goes, with one number kept per key.

Runs after custody on the same operation (it reads ``effects`` and ``first_effect_seq``).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Mapping

import numpy as np

from ..history.ops import Op, Row
from .part import Part, on
from .state import EventState

Stream = tuple[str, int]
"""(producer, key): the events among which order is promised."""


class FirstEffects(Part):
    def __init__(self, events: Mapping[str, EventState]) -> None:
        self.events = events
        self.latest: dict[Stream, tuple[float, int]] = {}
        """Per stream, the latest (creation time, position) among the first effects judged."""
        self.suspended: dict[Stream, list[str]] = {}
        """Streams with an undecided event: their events' ids in the order of first effects."""
        self.violations = 0
        self.latencies = array("d")
        """Creation-to-first-effect latency of every committed event judged so far."""
        self.finished = False

    @on(Op.EFFECT)
    def _effect(self, seq: int, row: Row) -> None:
        events = self.events
        firsts = []
        for eid in row[4]:
            e = events[eid]
            if e.effects == 1 and e.first_effect_seq == seq:
                firsts.append((e.seq, eid, e))
        if len(firsts) > 1:
            firsts.sort()  # one operation's first effects, in creation order
        for _, eid, e in firsts:
            stream = (e.producer, e.key)
            waiting = self.suspended.get(stream)
            if e.db and not e.txn:  # its transaction is still open: judge its key at the end
                if waiting is None:
                    waiting = self.suspended[stream] = []
                waiting.append(eid)
            elif waiting is not None:
                waiting.append(eid)
            else:
                self._judge(stream, e)

    def _judge(self, stream: Stream, e: EventState) -> None:
        if not e.committed:
            return
        self.latencies.append(e.first_effect_at - e.created_at)
        rank = (e.created_at, e.seq)
        latest = self.latest.get(stream)
        if latest is not None and rank < latest:
            self.violations += 1
        else:
            self.latest[stream] = rank

    def finish(self, events: Mapping[str, EventState]) -> None:
        """Judge the suspended streams, every transaction having ended (once)."""
        if self.finished:
            return
        self.finished = True
        for stream, waiting in self.suspended.items():
            for eid in waiting:
                self._judge(stream, events[eid])
        self.suspended = {}

    def latency(self) -> dict[str, float]:
        """Mean (exact: ``math.fsum``), median and 99th percentile of the latencies."""
        n = len(self.latencies)
        if not n:
            nan = float("nan")
            return {"latency_mean": nan, "latency_p50": nan, "latency_p99": nan}
        values = np.frombuffer(self.latencies)
        mean = math.fsum(self.latencies) / n
        p50, p99 = np.quantile(values, [0.5, 0.99], overwrite_input=True)
        return {"latency_mean": mean, "latency_p50": float(p50), "latency_p99": float(p99)}
