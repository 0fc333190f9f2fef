"""A partition's records, stored as columns.

A long run appends millions of records and keeps them all (a consumer may read any of them
again after its offsets are lost), so the log keeps each record's fields in machine-number
arrays (about 27 bytes a record, the event id as a number: ``sim/core/eids.py``, a key in two
bytes while keys stay below 65,536) instead of
a :class:`Record` object (about 170 bytes with its floats and its id); a record is made when
it is read.
Offsets are positions: the record at index ``i`` has offset ``i``.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from typing import overload

from ...core.eids import IdList
from ..messages import Record, new_record


class RecordLog:
    """The list of a partition's records (append, index, slice, cut the tail)."""

    __slots__ = ("eids", "keys", "partition", "partitions", "created", "process", "poison")

    def __init__(self) -> None:
        self.eids = IdList()
        self.keys = array("H")
        """Widened to eight bytes a key by the first key that does not fit two."""
        self.partition = -1
        """The partition of every record (a log holds one partition's), until one differs."""
        self.partitions: array[int] | None = None
        """Each record's partition, kept only once two records' partitions differ."""
        self.created = array("d")
        self.process = array("d")
        self.poison = bytearray()

    def __len__(self) -> int:
        return len(self.eids)

    def append(self, rec: Record) -> None:
        """Store ``rec`` (its offset must be the next position)."""
        assert rec.offset == len(self.eids), (rec.offset, len(self.eids))
        self.add(rec, rec.partition)

    def add(self, rec: Record, partition: int) -> int:
        """Store ``rec`` at the next position, as a record of ``partition`` (whatever offset and
        partition it says); return its offset."""
        offset = len(self.eids)
        self.eids.append(rec.eid)
        try:
            self.keys.append(rec.key)
        except OverflowError:
            self.keys = array("q", self.keys)
            self.keys.append(rec.key)
        if self.partitions is not None:
            self.partitions.append(partition)
        elif partition != self.partition:
            if offset == 0:
                self.partition = partition
            else:
                self.partitions = array("q", [self.partition]) * offset
                self.partitions.append(partition)
        self.created.append(rec.created_at)
        self.process.append(rec.process_time)
        self.poison.append(rec.poison)
        return offset

    def _make(self, i: int) -> Record:
        return new_record(
            self.eids[i],
            self.keys[i],
            self.partition if self.partitions is None else self.partitions[i],
            self.created[i],
            self.process[i],
            i,
            bool(self.poison[i]),
        )

    @overload
    def __getitem__(self, i: int) -> Record: ...
    @overload
    def __getitem__(self, i: slice) -> list[Record]: ...
    def __getitem__(self, i: int | slice) -> Record | list[Record]:
        if isinstance(i, slice):
            return [self._make(j) for j in range(*i.indices(len(self.eids)))]
        if i < 0:
            i += len(self.eids)
        if not 0 <= i < len(self.eids):
            raise IndexError(i)
        return self._make(i)

    def __iter__(self) -> Iterator[Record]:
        return (self._make(j) for j in range(len(self.eids)))

    def __delitem__(self, i: slice) -> None:
        """Cut the tail (``del log[keep:]``, the only deletion a log has)."""
        keep, stop, step = i.indices(len(self.eids))
        assert stop == len(self.eids) and step == 1, "only the tail of a log is cut"
        self.eids.truncate(keep)
        for column in (self.keys, self.created, self.process):
            del column[keep:]
        if self.partitions is not None:
            del self.partitions[keep:]
        del self.poison[keep:]
