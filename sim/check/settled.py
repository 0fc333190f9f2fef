"""Settled events: the checker keeps the events in flight as objects, the others packed.

An event none of whose copies remains anywhere (no producer holds it, no message carries it,
no log holds it above a committed offset, no consumer holds it: ``copies == 0``) is
*settled*: nothing can change its fate any more, short of an operation naming it again (a
record read again after the coordinator forgot its offsets, a late acknowledgement, the
producer's outcome). A settled event's state is compacted (a tuple of its fields) and its
object dropped; every few thousand settled events are packed together, column by column
(``sim/check/packing.py``: about 19 bytes an event), and an array says which batch holds an
event (one or two bytes). An operation that names a settled event
again revives it, so the fold gives exactly the verdict it gives with every event kept
(tested: online at trace ``summary`` and ``messages`` against offline over the ``full``
history). The summary's sums over the settled events are made as they settle (the
:class:`Events`' ledger, ``counts.py``'s ``Totals``), taking back an event revived, so the
summary reads only the events still live.

:class:`Events` is the table the parts of the checker share (live events as objects, settled
ones compacted); :class:`EventView` is the read-only view of every event, in creation order,
that the verdict and the frames read (each settled event decoded when read, not kept).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import ItemsView, Iterator, Mapping, ValuesView
from typing import Any, Protocol

from ..core.eids import CreationOrder, IdMap
from .packing import pack, unpack
from .state import EventState

_CACHED = 2
"""Unpacked batches kept at hand: reading events in creation order meets a few at a time."""


def compact(e: EventState) -> tuple[Any, ...]:
    """An event's whole state, as a tuple of plain values in the order of its fields
    (``marshal`` can pack it; spelt out, so that the compiled build reads each from the
    event's C struct: ``tests/test_packing.py`` checks the order)."""
    return (
        e.seq, e.producer, e.key, e.partition, e.created_at, e.copies, e.effects,
        e.first_effect_at, e.first_effect_seq, e.deliveries, e.appends, e.outcome,
        e.last_failure, e.zero_cause, e.acked_past, e.expired, e.dead_lettered, e.db, e.txn,
        e.abort, e.message_failure, e.refused, e.ack_failure, e.sink_ack_failure, e.sources,
        e.duplicate_causes, e.state_loss, e.append_causes,
    )  # fmt: skip


def expand(state: tuple[Any, ...]) -> EventState:
    """The state :func:`compact` made, as a new object."""
    return EventState(*state)


class Settled:
    """Settled events' compacted states: the newest in :attr:`open` as tuples, the others in
    compressed batches of ``batch``. An event settled twice (revived, settled again) is read
    from where it was put last."""

    def __init__(self, batch: int) -> None:
        self.batch = batch
        self.open: dict[str, tuple[Any, ...]] = {}
        self.where = IdMap()
        """Event -> the batch that holds its state (a byte an event for the first 255 batches,
        two after)."""
        self.batches: list[bytes] = []
        self._unpacked: OrderedDict[int, dict[str, tuple[Any, ...]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self.open) + len(self.where)

    def __contains__(self, eid: object) -> bool:
        return eid in self.open or eid in self.where

    def put(self, eid: str, state: tuple[Any, ...]) -> None:
        """Keep a settled event's state (one not already kept: a revived event was popped)."""
        self.open[eid] = state
        if len(self.open) >= self.batch:
            self._pack()

    def _pack(self) -> None:
        number = len(self.batches)
        self.batches.append(pack(self.open))
        where = self.where
        for eid in self.open:
            where[eid] = number
        self.open = {}

    def get(self, eid: str, code: int = -1) -> tuple[Any, ...]:
        """The state of a settled event (KeyError: not settled). With the id's code at hand
        (not negative), its batch is found without parsing the id."""
        state = self.open.get(eid)
        if state is not None:
            return state
        number = self.where.at(code) if code >= 0 else self.where.get(eid)
        if number is None:
            raise KeyError(eid)
        return self._batch(number)[eid]

    def pop(self, eid: str) -> tuple[Any, ...]:
        """Take a settled event's state out (it is being revived)."""
        state = self.open.pop(eid, None)
        if state is not None:
            return state
        return self._batch(self.where.pop(eid))[eid]

    def _batch(self, number: int) -> dict[str, tuple[Any, ...]]:
        cache = self._unpacked
        batch = cache.get(number)
        if batch is None:
            batch = cache[number] = unpack(self.batches[number])
            if len(cache) > _CACHED:
                cache.popitem(last=False)
        else:
            cache.move_to_end(number)
        return batch


class Ledger(Protocol):
    """What is summed over the settled events as they settle (the summary's counts,
    ``counts.py``): an event revived is taken back, in the state it settled in."""

    def add(self, eid: str, e: EventState) -> None: ...

    def remove(self, eid: str, e: EventState) -> None: ...


class Events(dict[str, EventState]):
    """Live events (this dict) and settled ones (:attr:`settled`); indexing a settled event
    revives it. Settling is done in sweeps (:meth:`sweep`), each looking at the live events
    once, at most once per as many operations as there are live events. A ``ledger`` is told
    of each event settled and each revived."""

    def __init__(self, every: int = 4096, ledger: Ledger | None = None) -> None:
        super().__init__()
        self.every = every
        """The fewest operations between two sweeps (and the settled events packed together)."""
        self.ledger = ledger
        self.settled = Settled(every)
        self.order = CreationOrder()
        """Every event id, in creation order (about a byte an event)."""
        self.revived = 0
        self.next_sweep = 0
        """The history position of the next sweep."""

    def __setitem__(self, eid: str, e: EventState) -> None:
        if not dict.__contains__(self, eid) and eid not in self.settled:
            self.order.append(eid)
        dict.__setitem__(self, eid, e)

    def create(self, eid: str, e: EventState) -> None:
        """A new event (its creation: the history names each event's creation once)."""
        self.order.append(eid)
        dict.__setitem__(self, eid, e)

    def __missing__(self, eid: str) -> EventState:
        e = expand(self.settled.pop(eid))  # KeyError: an event never created (a bug)
        if self.ledger is not None:
            self.ledger.remove(eid, e)
        dict.__setitem__(self, eid, e)
        self.revived += 1
        return e

    def sweep(self, seq: int) -> list[str]:
        """Settle the live events with no copy left; the next sweep comes after as many
        operations as there are live events then (at least :attr:`every`): amortised, each
        operation pays for looking at one live event. Returns the events it settled."""
        done = [eid for eid, e in self.items() if e.copies <= 0]
        put = self.settled.put
        ledger = self.ledger
        for eid in done:
            e = dict.pop(self, eid)
            if ledger is not None:
                ledger.add(eid, e)
            put(eid, compact(e))
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
        return expand(self._events.settled.get(eid))

    def __iter__(self) -> Iterator[str]:
        return iter(self._events.order)

    def pairs(self) -> Iterator[tuple[str, EventState]]:
        """Every ``(id, state)`` in creation order, each settled one found by its number."""
        for _code, eid, e in self.coded():
            yield eid, e

    def coded(self) -> Iterator[tuple[int, str, EventState]]:
        """Every ``(code, id, state)`` in creation order (the id's code, as
        :class:`~sim.core.eids.IdList` makes it; negative for an id of another form)."""
        events = self._events
        live = dict.get
        settled = events.settled.get
        for code, eid in events.order.pairs():
            e = live(events, eid)
            yield code, eid, e if e is not None else expand(settled(eid, code))

    def items(self) -> ItemsView[str, EventState]:
        return _Items(self)

    def values(self) -> ValuesView[EventState]:
        return _Values(self)

    def __len__(self) -> int:
        return len(self._events.order)

    def __contains__(self, eid: object) -> bool:
        return dict.__contains__(self._events, eid) or eid in self._events.settled


class _Items(ItemsView[str, EventState]):
    _mapping: EventView

    def __iter__(self) -> Iterator[tuple[str, EventState]]:
        return self._mapping.pairs()


class _Values(ValuesView[EventState]):
    _mapping: EventView

    def __iter__(self) -> Iterator[EventState]:
        return (e for _, e in self._mapping.pairs())


def as_view(events: Mapping[str, EventState]) -> Mapping[str, EventState]:
    """``events`` as the verdict reads them (a plain mapping stays as it is)."""
    return events.view() if isinstance(events, Events) else events
