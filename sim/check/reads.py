"""Who read each log record last: what duplicate attribution needs to name a redelivery.

One :class:`LastReads` per (broker, partition, leader epoch), indexed by offset: two machine
integers per record (the reader's number and the history position of its read; whether the
reader crashed since is told by the position of its last crash), not a dict entry and an int
object per record, so that a long run keeps 6 bytes per record read (a position takes four
bytes until a history passes 2**31 operations, eight after).
"""

from __future__ import annotations

from array import array

NONE = -1


class LastReads:
    """Offset -> (reader number, history position) of the last receive of that record; offsets
    below the first one seen are added in front when they come (a later leader epoch starts
    at the offset its truncation kept)."""

    def __init__(self) -> None:
        self.base = -1
        self.codes = array("h")  # (readers are fewer than 2**15)
        self.seqs = array("i")

    def get(self, offset: int) -> tuple[int, int] | None:
        i = offset - self.base
        if self.base < 0 or i < 0 or i >= len(self.codes) or self.codes[i] == NONE:
            return None
        return self.codes[i], self.seqs[i]

    def put(self, offset: int, code: int, seq: int) -> None:
        if self.base < 0:
            self.base = offset
        elif offset < self.base:
            n = self.base - offset
            self.codes = array("h", [NONE]) * n + self.codes
            self.seqs = array(self.seqs.typecode, [NONE]) * n + self.seqs
            self.base = offset
        i = offset - self.base
        if i == len(self.codes):  # the next offset (the commonest: records are read in order)
            self.codes.append(NONE)
            self.seqs.append(NONE)
        elif i > len(self.codes):
            n = i + 1 - len(self.codes)
            self.codes.extend(array("h", [NONE]) * n)
            self.seqs.extend(array(self.seqs.typecode, [NONE]) * n)
        self.codes[i] = code
        try:
            self.seqs[i] = seq
        except OverflowError:  # past 2**31 operations
            self.seqs = array("q", self.seqs)
            self.seqs[i] = seq
