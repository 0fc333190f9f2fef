"""Settled events: the checker's memory grows with the events in flight, not with the run.

An event none of whose copies remains anywhere (no producer holds it, no message carries it,
no log holds it above a committed offset, no consumer holds it: ``copies == 0``) is
*settled*: nothing can change its fate any more, short of an operation naming it again (a
record read again after the coordinator forgot its offsets, a late acknowledgement, the
producer's outcome). A settled event's state is compacted into a few hundred bytes
(``marshal`` of its fields) and its object dropped; an operation that names it again revives
it, so the fold gives exactly the verdict it gives with every event kept (tested: online at
trace ``summary`` and ``messages`` against offline over the ``full`` history).

:class:`Events` is the table the parts of the checker share (live events as objects, settled
ones compacted); :class:`EventView` is the read-only view of every event, in creation order,
that the verdict and the frames read (each settled event decoded when read, not kept).
"""

from __future__ import annotations

import marshal
from collections.abc import Iterator, Mapping
from dataclasses import fields
from operator import attrgetter

from .state import EventState

_FIELDS = tuple(f.name for f in fields(EventState))
_state_of = attrgetter(*_FIELDS)


def compact(e: EventState) -> bytes:
    """An event's whole state, as bytes."""
    return marshal.dumps(_state_of(e))


def expand(blob: bytes) -> EventState:
    """The state :func:`compact` stored, as a new object."""
    return EventState(*marshal.loads(blob))


class Events(dict[str, EventState]):
    """Live events (this dict) and settled ones (:attr:`settled`); indexing a settled event
    revives it. Settling is done in sweeps (:meth:`sweep`), each looking at the live events
    once, at most once per as many operations as there are live events."""

    def __init__(self, every: int = 4096) -> None:
        super().__init__()
        self.every = every
        """The fewest operations between two sweeps."""
        self.settled: dict[str, bytes] = {}
        self.order: list[str] = []
        """Every event id, in creation order."""
        self.revived = 0
        self.next_sweep = 0
        """The history position of the next sweep."""

    def __setitem__(self, eid: str, e: EventState) -> None:
        if not dict.__contains__(self, eid) and eid not in self.settled:
            self.order.append(eid)
        dict.__setitem__(self, eid, e)

    def __missing__(self, eid: str) -> EventState:
        e = expand(self.settled.pop(eid))  # KeyError: an event never created (a bug)
        dict.__setitem__(self, eid, e)
        self.revived += 1
        return e

    def sweep(self, seq: int) -> list[str]:
        """Settle the live events with no copy left; the next sweep comes after as many
        operations as there are live events then (at least :attr:`every`): amortised, each
        operation pays for looking at one live event. Returns the events it settled."""
        done = [eid for eid, e in self.items() if e.copies <= 0]
        for eid in done:
            self.settled[eid] = compact(dict.pop(self, eid))
        self.next_sweep = seq + max(self.every, len(self))
        return done

    def view(self) -> EventView:
        return EventView(self)


class EventView(Mapping[str, EventState]):
    """Every event, live or settled, in creation order; a settled one is decoded when read
    (a new object each time, dropped after use), never revived."""

    def __init__(self, events: Events) -> None:
        self._events = events

    def __getitem__(self, eid: str) -> EventState:
        e = dict.get(self._events, eid)
        if e is not None:
            return e
        return expand(self._events.settled[eid])

    def __iter__(self) -> Iterator[str]:
        return iter(self._events.order)

    def __len__(self) -> int:
        return len(self._events.order)

    def __contains__(self, eid: object) -> bool:
        return dict.__contains__(self._events, eid) or eid in self._events.settled


def as_view(events: Mapping[str, EventState]) -> Mapping[str, EventState]:
    """``events`` as the verdict reads them (a plain mapping stays as it is)."""
    return events.view() if isinstance(events, Events) else events
