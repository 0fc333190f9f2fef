"""The checker: a fold over the history, ``(state, op) -> state``, with one handler per op.

It is composed of parts (``custody.py``: custody and fates; ``attribution.py``: why effects
repeat; ``counts.py``: what the fates do not say), each registering handlers for the
operations it cares about; for every operation the parts run in that order. The same
:class:`Checker` runs *online* (fed by the recorder while the run goes) or *offline* over a
stored history (:func:`check`), and gives identical verdicts either way.

It knows the protocol's vocabulary, not the strategies: nothing here asks which strategy ran.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..history.ops import Op, Row
from .attribution import Attribution
from .counts import Tally, Totals, summary_counts
from .custody import Custody
from .invariants import Invariants
from .order import FirstEffects
from .part import Handler, Part
from .settled import Events
from .state import Verdict


class Checker:
    """Folds operations one at a time (:meth:`feed`); :meth:`verdict` concludes."""

    def __init__(self, duration: float, settle: bool = True, every: int = 4096) -> None:
        self.duration = duration
        self.settled_totals = Totals()
        """The summary's sums over the settled events, summed as they settle."""
        self.events = Events(every, self.settled_totals)
        """Live events, and settled ones compacted (``settled.py``)."""
        self._settle_at = 0 if settle else -1
        self.custody = Custody(self.events)
        self.attribution = Attribution(self.events)
        self.tally = Tally()
        self.invariants = Invariants()
        self.first_effects = FirstEffects(self.events)
        parts: list[Part] = [
            self.custody,
            self.attribution,
            self.tally,
            self.invariants,
            self.first_effects,
        ]
        dispatch: dict[Op, list[Handler]] = {}
        for part in parts:
            for op, handler in part.handlers().items():
                dispatch.setdefault(op, []).append(handler)
        self.fired: list[Row] = []
        """The ``fault-start`` and ``fault-end`` operations: when each fault fired."""
        for op in (Op.FAULT_START, Op.FAULT_END):
            dispatch.setdefault(op, []).append(self._fired)
        self._dispatch = {op: tuple(handlers) for op, handlers in dispatch.items()}
        """Operation -> its handlers, in the parts' order (a tuple the fold loop runs through:
        one call a handler, no wrapper around several)."""
        self.seq = 0
        self._now = 0.0
        """The time of the last operation folded."""

    def _fired(self, seq: int, row: Row) -> None:
        self.fired.append(row)

    def feed_many(self, rows: Iterable[Row]) -> None:
        """Fold operations, the next ones in history order (:meth:`feed` for each, in one
        loop)."""
        seq, now, settle_at = self.seq, self._now, self._settle_at
        dispatch = self._dispatch
        events = self.events
        for row in rows:
            if 0 <= settle_at <= seq and row[0] > now:  # (as in feed)
                self.attribution.settled(events.sweep(seq))
                settle_at = self._settle_at = events.next_sweep
            now = row[0]
            handlers = dispatch.get(row[1])  # type: ignore[call-overload]
            if handlers is not None:
                position = seq  # (one int object for all the handlers)
                for handler in handlers:
                    handler(position, row)
            seq += 1
        self.seq, self._now = seq, now

    def feed(self, row: Row) -> None:
        """Fold one operation (the next one in history order)."""
        seq = self.seq
        if 0 <= self._settle_at <= seq and row[0] > self._now:
            # Settle between two instants, never inside one: a message delivered at t is
            # handled at t (a sink applies a duplicated transaction's effect right after its
            # delivery), and an event swept in between would forget what it was applied for.
            self.attribution.settled(self.events.sweep(seq))
            self._settle_at = self.events.next_sweep
        self._now = row[0]
        handlers = self._dispatch.get(row[1])  # type: ignore[call-overload]
        if handlers is not None:
            for handler in handlers:
                handler(seq, row)
        self.seq = seq + 1

    def verdict(self, sim_time: float) -> Verdict:
        """Fates, causes and the summary counts of everything fed so far."""
        v = Verdict(self.events.view(), violations=list(self.invariants.violations))
        v.counts = summary_counts(
            v,
            dict.items(self.events),  # the live events (the settled ones are in the totals)
            self.settled_totals,
            self.tally.sends,
            self.duration,
            sim_time,
            self.first_effects,
        )
        v.counts.update(self.tally.counts(sim_time))
        return v


def check(ops: Iterable[Row], duration: float, sim_time: float, settle: bool = False) -> Verdict:
    """The verdict on a stored history (a list of operation tuples). Every event is kept as an
    object unless ``settle``: the reference the online, settling fold is tested against."""
    checker = Checker(duration, settle)
    for row in ops:
        checker.feed(row)
    return checker.verdict(sim_time)
