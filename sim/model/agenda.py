"""The agenda: what the kernel will do, in SimPy's order.

SimPy keeps its queue as a list of ``(time, priority, number, event)`` tuples ordered by
``heapq``, and a heap compares entries at every level it moves one: two tuples compared item
by item, each item a Python object compared through its type. A run pushes and pops a dozen
entries an event, and that comparing was about a tenth of a compiled run's work.

:class:`Agenda` is the same queue in the same order: a binary heap of :class:`Entry` objects
ordered by time, then priority (urgent first), then number (the order in which entries were
scheduled, as SimPy's ``_eid`` counts them), compared field by field (compiled: as C doubles
and integers). Numbers are unique, so the order in which entries come out is fixed by their
keys alone, whatever the heap's shape: the same run, entry for entry, as SimPy's queue gives
(``tests/test_agenda.py`` checks it against ``heapq``).

As pure Python the sifting written here costs more than ``heapq``'s C does over tuples, so
:func:`new_agenda` gives :class:`TupleAgenda` there: the same queue on ``heapq`` (its tuples'
first three items are an entry's keys, unique, so the entry itself is never compared).
"""

from __future__ import annotations

from heapq import heappop, heappush
from types import FunctionType
from typing import Any

INFINITY = float("inf")


class Entry:
    """``event`` due at ``time`` (the value it was scheduled with: an int stays an int);
    ``at`` is that time as the heap compares it (compiled: a C double)."""

    __slots__ = ("at", "time", "priority", "number", "event")

    def __init__(self, time: Any, priority: int, number: int, event: Any) -> None:
        self.at = time
        self.time = time
        self.priority = priority
        self.number = number
        self.event = event


def _entry(time: Any, priority: int, number: int, event: Any) -> Entry:
    """An :class:`Entry`, made without a call to its ``__init__`` (compiled: a C call)."""
    e = Entry.__new__(Entry)
    e.at = time
    e.time = time
    e.priority = priority
    e.number = number
    e.event = event
    return e


def _before(a: Entry, b: Entry) -> bool:
    """Whether ``a`` comes out before ``b``."""
    if a.at != b.at:
        return a.at < b.at
    if a.priority != b.priority:
        return a.priority < b.priority
    return a.number < b.number


class Agenda:
    """SimPy's event queue as a heap of :class:`Entry`; it numbers the entries itself."""

    __slots__ = ("heap", "count", "popped")

    def __init__(self) -> None:
        self.heap: list[Entry] = []
        self.count = 0
        """The number the next entry takes."""
        self.popped = 0
        """Entries taken out so far (a kernel's steps: ``benchmarks/``)."""

    def __len__(self) -> int:
        return len(self.heap)

    def number(self) -> int:
        """Take the next entry number now, for an entry put later (:meth:`push_numbered`:
        a timer's place in the order is where it was started)."""
        n = self.count
        self.count = n + 1
        return n

    def push(self, time: Any, priority: int, event: Any) -> None:
        """Schedule ``event`` at ``time``, after every entry scheduled before it at the same
        time and priority (``env.schedule`` does exactly this)."""
        n = self.count
        self.count = n + 1
        self.put(_entry(time, priority, n, event))

    def push_numbered(self, time: Any, priority: int, number: int, event: Any) -> None:
        """Schedule ``event`` with a number taken earlier (:meth:`number`)."""
        self.put(_entry(time, priority, number, event))

    def put(self, entry: Entry) -> None:
        """Put ``entry`` in its place: up from the bottom, past every entry it comes before."""
        heap = self.heap
        heap.append(entry)
        i = len(heap) - 1
        while i > 0:
            parent = (i - 1) >> 1
            above = heap[parent]
            if not _before(entry, above):
                break
            heap[i] = above
            i = parent
        heap[i] = entry

    def pop(self) -> Entry:
        """The first entry, taken out (IndexError when there is none)."""
        heap = self.heap
        last = heap.pop()
        self.popped += 1
        n = len(heap)
        if n == 0:
            return last
        first = heap[0]
        i = 0
        while True:  # `last` down from the root, to where neither child comes before it
            child = 2 * i + 1
            if child >= n:
                break
            right = child + 1
            if right < n and _before(heap[right], heap[child]):
                child = right
            below = heap[child]
            if not _before(below, last):
                break
            heap[i] = below
            i = child
        heap[i] = last
        return first

    def first(self) -> Entry:
        """The first entry, left in place (IndexError when there is none)."""
        return self.heap[0]

    def first_time(self) -> Any:
        """When the first entry is due (infinity when there is none: ``env.peek()``)."""
        heap = self.heap
        return heap[0].time if heap else INFINITY


class TupleAgenda:
    """:class:`Agenda` on ``heapq`` over ``(time, priority, number, entry)`` tuples: the
    pure-Python build's queue (:func:`new_agenda`)."""

    __slots__ = ("heap", "count", "popped")

    def __init__(self) -> None:
        self.heap: list[tuple[Any, int, int, Entry]] = []
        self.count = 0
        self.popped = 0

    def __len__(self) -> int:
        return len(self.heap)

    def number(self) -> int:
        n = self.count
        self.count = n + 1
        return n

    def push(self, time: Any, priority: int, event: Any) -> None:
        n = self.count
        self.count = n + 1
        heappush(self.heap, (time, priority, n, Entry(time, priority, n, event)))

    def push_numbered(self, time: Any, priority: int, number: int, event: Any) -> None:
        heappush(self.heap, (time, priority, number, Entry(time, priority, number, event)))

    def pop(self) -> Entry:
        entry = heappop(self.heap)[3]
        self.popped += 1
        return entry

    def first(self) -> Entry:
        return self.heap[0][3]

    def first_time(self) -> Any:
        heap = self.heap
        return heap[0][0] if heap else INFINITY


def _probe() -> None:
    """A module-level function: a Python function as pure Python, Cython's when compiled."""


COMPILED = not isinstance(_probe, FunctionType)
"""Whether this module runs compiled."""


AnyAgenda = Agenda | TupleAgenda


def new_agenda() -> AnyAgenda:
    """The queue a :class:`~sim.model.clock.Clock` runs on: :class:`Agenda` compiled,
    :class:`TupleAgenda` as pure Python."""
    return Agenda() if COMPILED else TupleAgenda()
