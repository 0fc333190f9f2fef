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

import hashlib
import re
from array import array
from collections.abc import Iterable, Iterator, MutableMapping
from typing import Any, TypeVar

import numpy as np

_J_BITS = 40
_J_MASK = (1 << _J_BITS) - 1
_DENSE = 1 << 25
"""An :class:`IdMap` keeps ids with ``j`` below this in arrays (an array grows to the
largest ``j`` it holds), larger ones in its dict: the choice depends on the id alone."""
_NO_COLUMN: array[Any] = array("B")
_NAN = float("nan")


def name(producer: int, j: int) -> str:
    """The id of producer ``producer``'s ``j``-th event (remembered as a recent id, so that
    :func:`split` need not parse it)."""
    eid = f"p{producer}-{j}"
    if 0 <= producer < _MAX_PRODUCER and 0 <= j < _MAX_J:
        _remember(eid, (producer, j))
    return eid


# producers below 10**6 and j below 10**12, so that a code (i << 40 | j) fits 63 bits
_MAX_PRODUCER = 10**6
_MAX_J = 10**12
_FORM = re.compile(r"p(0|[1-9][0-9]{0,5})-(0|[1-9][0-9]{0,11})\Z", re.ASCII).match

_RECENT = 1 << 14
"""Ids a generation of :func:`split`'s memory holds (two are kept: the ids of events in
flight are read again and again, every id soon after it was made)."""
_young: dict[str, tuple[int, int] | None] = {}
_old: dict[str, tuple[int, int] | None] = {}
_UNSEEN: Any = object()
"""What a generation gives for an id it does not hold."""


def _remember(eid: str, ij: tuple[int, int] | None) -> None:
    """Keep ``split(eid)`` among the recent ids (a full young generation becomes the old one,
    and the old one is forgotten)."""
    global _young, _old
    if len(_young) >= _RECENT:
        _old = _young
        _young = {}
    _young[eid] = ij


def split(eid: str) -> tuple[int, int] | None:
    """``(producer, j)`` of an id :func:`name` made, or None for an id of another form (a pure
    function: an event's id is read several times while it is in flight, so the recent ids
    are remembered rather than parsed again, :func:`name`'s from the start)."""
    ij = _young.get(eid, _UNSEEN)
    if ij is _UNSEEN:
        ij = _old.get(eid, _UNSEEN)
        if ij is _UNSEEN:
            ij = _parse(eid)
        _remember(eid, ij)
    return ij  # type: ignore[return-value]


def _parse(eid: str) -> tuple[int, int] | None:
    m = _FORM(eid)
    if m is None:
        return None
    return int(m[1]), int(m[2])


_M64 = (1 << 64) - 1


def _mix(z: int) -> int:
    """SplitMix64's finaliser: a 64-bit number mixed into a well-spread 64-bit one."""
    z = (z + 0x9E3779B97F4A7C15) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def _mix_array(z: np.ndarray) -> np.ndarray:
    """:func:`_mix` of each of ``z`` (uint64; the arithmetic wraps as the masks do)."""
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def code_of(eid: str) -> int:
    """The id's code, ``i << 40 | j`` (as :class:`IdList` makes it), or -1 for an id of another
    form."""
    ij = split(eid)
    return -1 if ij is None else ij[0] << _J_BITS | ij[1]


def weight(eid: str, code: int = -1) -> int:
    """A 64-bit number that stands for ``eid`` in a checksum of a table (:class:`Checksum`): mixed
    from its ``(i, j)`` (``code``, when the caller has it: not negative), or from a stable hash of
    an id of another form."""
    if code < 0:
        code = code_of(eid)
        if code < 0:
            digest = hashlib.blake2b(eid.encode("utf-8"), digest_size=8).digest()
            return _mix(int.from_bytes(digest, "little"))
    return _mix(code)


class Checksum:
    """A checksum of a mapping of event ids to counts: how many ids, the counts' sum, and the
    sum of each count times its id's :func:`weight` (mod 2**64). Two tables with the same
    checksum hold the same counts for the same ids, but for a chance of about 2**-64."""

    __slots__ = ("ids", "total", "weighted")

    def __init__(self) -> None:
        self.ids = 0
        self.total = 0
        self.weighted = 0

    def add(self, eid: str, n: int, code: int = -1) -> None:
        self.ids += 1
        self.total += n
        self.weighted = (self.weighted + weight(eid, code) * n) & _M64

    def remove(self, eid: str, n: int, code: int = -1) -> None:
        """Take back an :meth:`add` of ``eid`` with ``n``."""
        self.ids -= 1
        self.total -= n
        self.weighted = (self.weighted - weight(eid, code) * n) & _M64

    def merge(self, other: Checksum) -> None:
        """Add what ``other`` holds: the checksum of both tables together (their ids apart)."""
        self.ids += other.ids
        self.total += other.total
        self.weighted = (self.weighted + other.weighted) & _M64

    def add_codes(self, codes: Any, counts: Any) -> None:
        """:meth:`add` of many ids at once, each given by its code (``i << 40 | j``, as
        :class:`IdList` makes it) with its count, both as arrays of uint64 (or what converts
        to them without a copy, ``array("Q")``): arithmetic on arrays, not on Python's big
        integers (a run's verdict adds every event with an effect)."""
        codes, counts = np.asarray(codes, np.uint64), np.asarray(counts, np.uint64)
        self.ids += len(codes)
        self.total += int(counts.sum(dtype=np.uint64))
        weighted = int((_mix_array(codes) * counts).sum(dtype=np.uint64))
        self.weighted = (self.weighted + weighted) & _M64

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Checksum):
            return NotImplemented
        return (self.ids, self.total, self.weighted) == (other.ids, other.total, other.weighted)

    def __repr__(self) -> str:
        return f"Checksum(ids={self.ids}, total={self.total}, weighted={self.weighted:#x})"


T = TypeVar("T", int, float)


def _column_slot(
    columns: dict[int, array[T]], eid: str, grow: bool, typecode: str, absent: T
) -> tuple[array[T], int] | None:
    """Where a table of one array per producer, indexed by ``j``, keeps ``eid``: ``(column,
    j)``, with ``j`` negative when it has no place for it (and ``grow`` is false); None for an
    id the table keeps in its dict instead. With ``grow``, a producer's first column has
    ``typecode``, and a column too short grows by at least an eighth, filled with ``absent``
    (the value that marks an id not there)."""
    ij = split(eid)
    if ij is None or ij[1] >= _DENSE:
        return None
    i, j = ij
    column = columns.get(i)
    if column is None:
        if not grow:
            return _NO_COLUMN, -1
        column = columns[i] = array(typecode)
    if j >= len(column):
        if not grow:
            return column, -1
        n = max(j + 1 - len(column), len(column) // 8, 256)
        column.extend(array(column.typecode, [absent]) * n)
    return column, j


_WIDER = {"B": "H", "H": "I"}
"""A column's next width when a value does not fit it (unsigned: a column stores a value plus
one, so a value of 2**31 - 1 needs 32 bits without a sign)."""
_NUMPY = {"B": np.uint8, "H": np.uint16, "I": np.uint32}
_CHUNK = 1 << 16
"""Entries a checksum reads at a time."""


class IdMap(MutableMapping[str, int]):
    """A mapping of event ids to non-negative integers below 2**31 (a count, a batch number):
    a byte an event of the ``p{i}-{j}`` form while its producer's values stay below 255, two
    below 65,535, four beyond (a producer's column widens when a value first needs it)."""

    def __init__(self) -> None:
        self._columns: dict[int, array[int]] = {}  # producer -> value + 1 by j (0: absent)
        self._others: dict[str, int] = {}
        self._size = 0

    def _slot(self, eid: str, grow: bool) -> tuple[array[int], int] | None:
        return _column_slot(self._columns, eid, grow, "B", 0)

    def _put(self, eid: str, column: array[int], j: int, stored: int) -> None:
        """``column[j] = stored``, widening ``eid``'s producer's column if it must."""
        while True:
            try:
                column[j] = stored
                return
            except OverflowError:
                wider = _WIDER.get(column.typecode)
                if wider is None:
                    raise
            ij = split(eid)
            assert ij is not None
            column = self._columns[ij[0]] = array(wider, column)

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
        self._put(eid, column, j, value + 1)

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
        self._put(eid, column, j, (column[j] or 1) + n)

    def checksum(self) -> Checksum:
        """The :class:`Checksum` of this mapping (its arrays read whole, not id by id)."""
        t = Checksum()
        for i, column in self._columns.items():
            whole = np.frombuffer(column, dtype=_NUMPY[column.typecode])
            for start in range(0, len(whole), _CHUNK):  # (a chunk's temporaries, not a day's)
                stored = whole[start : start + _CHUNK]
                (present,) = np.nonzero(stored)
                values = stored[present].astype(np.uint64) - np.uint64(1)
                js = present.astype(np.uint64) + np.uint64(start)
                t.add_codes((np.uint64(i) << np.uint64(_J_BITS)) | js, values)
        for eid, value in self._others.items():
            t.add(eid, value)
        return t

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


class CreationOrder:
    """Event ids in the order they were created, about one byte an id: producer ``i`` names its
    events ``p{i}-0``, ``p{i}-1``, ... in order, so an id that is its producer's next one is
    kept as the producer's number alone (below 255); any other id (out of turn, another form)
    is kept whole beside it. Iterating gives ``(code, id)``, as :meth:`IdList.pairs` does."""

    __slots__ = ("_producers", "_next", "_others")

    _OTHER = 255

    def __init__(self) -> None:
        self._producers = bytearray()
        self._next: dict[int, int] = {}
        """Producer -> the ``j`` of the id it is expected to create next."""
        self._others: list[tuple[int, str]] = []
        """The ids kept whole, with their codes (negative: another form)."""

    def append(self, eid: str) -> None:
        ij = split(eid)
        if ij is not None:
            i, j = ij
            if i < self._OTHER and self._next.get(i, 0) == j:
                self._next[i] = j + 1
                self._producers.append(i)
                return
            code = i << _J_BITS | j
        else:
            code = -len(self._others) - 1
        self._producers.append(self._OTHER)
        self._others.append((code, eid))

    def __len__(self) -> int:
        return len(self._producers)

    def pairs(self) -> Iterator[tuple[int, str]]:
        """``(code, id)`` of every id in creation order."""
        nexts: dict[int, int] = {}
        others = iter(self._others)
        other = self._OTHER
        for i in self._producers:
            if i == other:
                yield next(others)
            else:
                j = nexts.get(i, 0)
                nexts[i] = j + 1
                yield i << _J_BITS | j, f"p{i}-{j}"

    def __iter__(self) -> Iterator[str]:
        return (eid for _, eid in self.pairs())


class IdTimes:
    """A mapping of event ids to times (floats): eight bytes an event of the ``p{i}-{j}``
    form (``nan`` marks an absent one), any other id in a dict beside the arrays. Just what a
    table of when each event was seen needs: set, read, test, delete."""

    __slots__ = ("_columns", "_others", "_size")

    def __init__(self) -> None:
        self._columns: dict[int, array[float]] = {}
        self._others: dict[str, float] = {}
        self._size = 0

    def _slot(self, eid: str, grow: bool) -> tuple[array[float], int] | None:
        return _column_slot(self._columns, eid, grow, "d", _NAN)

    def __setitem__(self, eid: str, t: float) -> None:
        if t != t:  # a nan time is kept in the dict (nan marks absence in the arrays)
            if eid not in self._others and eid in self:
                del self[eid]
            self._others[eid] = t
            return
        slot = self._slot(eid, grow=True)
        if slot is None:
            self._others[eid] = t
            return
        column, j = slot
        self._others.pop(eid, None)
        self._size += column[j] != column[j]
        column[j] = t

    def __getitem__(self, eid: str) -> float:
        slot = self._slot(eid, grow=False)
        if slot is not None:
            column, j = slot
            if j >= 0 and column[j] == column[j]:
                return column[j]
        return self._others[eid]

    def __delitem__(self, eid: str) -> None:
        slot = self._slot(eid, grow=False)
        if slot is not None:
            column, j = slot
            if j >= 0 and column[j] == column[j]:
                column[j] = _NAN
                self._size -= 1
                return
        del self._others[eid]

    def __contains__(self, eid: object) -> bool:
        if not isinstance(eid, str):
            return False
        slot = self._slot(eid, grow=False)
        if slot is not None:
            column, j = slot
            if j >= 0 and column[j] == column[j]:
                return True
        return eid in self._others

    def __len__(self) -> int:
        return self._size + len(self._others)
