"""A set of offsets that also counts its members in a range, for the backlogs a bounded
partition checks on every produce request: counting by a sorted list is logarithmic, where
looking at every offset of the backlog grew with the capacity."""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator


class Offsets:
    """Offsets of one partition (a set, and the same offsets sorted)."""

    __slots__ = ("_members", "_sorted")

    def __init__(self, offsets: list[int] | None = None) -> None:
        self._members = set(offsets or ())
        self._sorted = sorted(self._members)

    def add(self, offset: int) -> None:
        if offset not in self._members:
            self._members.add(offset)
            insort(self._sorted, offset)  # (mostly at the end: offsets go out in order)

    def __contains__(self, offset: object) -> bool:
        return offset in self._members

    def __len__(self) -> int:
        return len(self._members)

    def __iter__(self) -> Iterator[int]:
        return iter(self._sorted)

    def count(self, lo: int, hi: int) -> int:
        """How many members are in ``[lo, hi)`` (none when ``hi <= lo``)."""
        if hi <= lo:
            return 0
        return bisect_left(self._sorted, hi) - bisect_left(self._sorted, lo)

    def within(self, lo: int, hi: int) -> list[int]:
        """The members in ``[lo, hi)``, in order."""
        return self._sorted[bisect_left(self._sorted, lo) : bisect_left(self._sorted, hi)]

    def below(self, keep: int) -> Offsets:
        """The members below ``keep`` (what a truncation to ``keep`` leaves)."""
        return Offsets(self._sorted[: bisect_left(self._sorted, keep)])

    def forget_below(self, low: int) -> None:
        """Drop the members below ``low`` (their owner knows them by position now)."""
        cut = bisect_left(self._sorted, low)
        if cut:
            self._members.difference_update(self._sorted[:cut])
            del self._sorted[:cut]
