"""Event ids, and tables keyed by them that cost a few bytes an event.

Every business event is named ``p{i}-{j}``: the ``j``-th event producer ``i`` created
(:func:`name`). A long run makes millions of them, and a table that must remember something of
every event (the sink's effects, where the checker packed a settled event, the creation
order, a partition's records) would pay about 100 bytes an event as a dict of strings. The
tables here keep a machine number per event instead, in one array per producer indexed by
``j`` (:class:`IdMap`, :class:`IdList`), and make the string again when it is read. An id of
another form (tests name events freely) is kept as it is, in a plain dict or list beside the
arrays, so the tables accept any string.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable, Iterator, MutableMapping
from functools import lru_cache

_J_BITS = 40
_J_MASK = (1 << _J_BITS) - 1
_DENSE = 1 << 25
"""An :class:`IdMap` keeps ids with ``j`` below this in arrays (an array grows to the
largest ``j`` it holds), larger ones in its dict: the choice depends on the id alone."""
_NO_COLUMN: array[int] = array("i")


def name(producer: int, j: int) -> str:
    """The id of producer ``producer``'s ``j``-th event."""
    return f"p{producer}-{j}"


# producers below 10**6 and j below 10**12, so that a code (i << 40 | j) fits 63 bits
_FORM = re.compile(r"p(0|[1-9][0-9]{0,5})-(0|[1-9][0-9]{0,11})\Z", re.ASCII).match


@lru_cache(maxsize=1 << 14)
def split(eid: str) -> tuple[int, int] | None:
    """``(producer, j)`` of an id :func:`name` made, or None for an id of another form (a pure
    function: an event's id is read several times while it is in flight, so the most recent
    ids are remembered rather than parsed again)."""
    m = _FORM(eid)
    if m is None:
        return None
    j = int(m[2])
    return (int(m[1]), j) if j <= _J_MASK else None


class IdMap(MutableMapping[str, int]):
    """A mapping of event ids to non-negative integers below 2**31 (a count, a batch number):
    four bytes an event of the ``p{i}-{j}`` form."""

    def __init__(self) -> None:
        self._columns: dict[int, array[int]] = {}  # producer -> value + 1 by j (0: absent)
        self._others: dict[str, int] = {}
        self._size = 0

    def _slot(self, eid: str, grow: bool) -> tuple[array[int], int] | None:
        ij = split(eid)
        if ij is None or ij[1] >= _DENSE:
            return None
        i, j = ij
        column = self._columns.get(i)
        if column is None:
            if not grow:
                return _NO_COLUMN, -1
            column = self._columns[i] = array("i")
        if j >= len(column):
            if not grow:
                return column, -1
            column.frombytes(bytes(4 * max(j + 1 - len(column), len(column) // 8, 256)))
        return column, j

    def __getitem__(self, eid: str) -> int:
        slot = self._slot(eid, grow=False)
        if slot is None:
            return self._others[eid]
        column, j = slot
        if j < 0 or not column[j]:
            raise KeyError(eid)
        return column[j] - 1

    def __setitem__(self, eid: str, value: int) -> None:
        slot = self._slot(eid, grow=True)
        if slot is None:
            self._others[eid] = value
            return
        column, j = slot
        self._size += not column[j]
        column[j] = value + 1

    def __delitem__(self, eid: str) -> None:
        slot = self._slot(eid, grow=False)
        if slot is None:
            del self._others[eid]
            return
        column, j = slot
        if j < 0 or not column[j]:
            raise KeyError(eid)
        column[j] = 0
        self._size -= 1

    def at(self, code: int) -> int | None:
        """The value of the id whose :class:`IdList` code is ``code`` (not negative), without
        making or reading the string; None when absent."""
        i, j = code >> _J_BITS, code & _J_MASK
        if j >= _DENSE:
            return self._others.get(name(i, j))
        column = self._columns.get(i)
        if column is None or j >= len(column) or not column[j]:
            return None
        return column[j] - 1

    def add(self, eid: str, n: int = 1) -> None:
        """Count ``n`` more for ``eid`` (an absent id counts from 0), as a ``Counter`` does."""
        slot = self._slot(eid, grow=True)
        if slot is None:
            self._others[eid] = self._others.get(eid, 0) + n
            return
        column, j = slot
        self._size += not column[j]
        column[j] = (column[j] or 1) + n

    def __iter__(self) -> Iterator[str]:
        for i, column in sorted(self._columns.items()):
            for j, value in enumerate(column):
                if value:
                    yield name(i, j)
        yield from self._others

    def __len__(self) -> int:
        return self._size + len(self._others)

    def __contains__(self, eid: object) -> bool:
        if not isinstance(eid, str):
            return False
        slot = self._slot(eid, grow=False)
        if slot is None:
            return eid in self._others
        column, j = slot
        return j >= 0 and column[j] != 0


class IdList:
    """A list of event ids (append, index, cut the tail, iterate): eight bytes an id of the
    ``p{i}-{j}`` form; an id of another form is kept in a side list (its code is negative)."""

    __slots__ = ("_codes", "_others")

    def __init__(self, eids: Iterable[str] = ()) -> None:
        self._codes = array("q")
        self._others: list[str] = []
        for eid in eids:
            self.append(eid)

    def append(self, eid: str) -> None:
        ij = split(eid)
        if ij is None:
            self._others.append(eid)
            self._codes.append(-len(self._others))
        else:
            self._codes.append(ij[0] << _J_BITS | ij[1])

    def _name(self, code: int) -> str:
        if code < 0:
            return self._others[-code - 1]
        return name(code >> _J_BITS, code & _J_MASK)

    def __getitem__(self, i: int) -> str:
        return self._name(self._codes[i])

    def __len__(self) -> int:
        return len(self._codes)

    def __iter__(self) -> Iterator[str]:
        to_name = self._name
        return (to_name(code) for code in self._codes)

    def pairs(self) -> Iterator[tuple[int, str]]:
        """``(code, id)`` of every id in order; a code is negative for an id of another form."""
        to_name = self._name
        return ((code, to_name(code)) for code in self._codes)

    def truncate(self, keep: int) -> None:
        """Keep the first ``keep`` ids (ids of another form past them stay in the side list,
        unreachable: a tail is cut rarely and such ids come from tests)."""
        del self._codes[keep:]
