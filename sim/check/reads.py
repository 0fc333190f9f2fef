"""Who read each log record last: what duplicate attribution needs to name a redelivery.

One :class:`LastReads` per (broker, partition, leader epoch), indexed by offset: two machine
integers per record (the reader with its crash count then, and the history position), not a
dict entry and an int object per record, so that a long run keeps 16 bytes per record read.
"""

from __future__ import annotations

from array import array

NONE = -1


class LastReads:
    """Offset -> (reader code, history position) of the last receive of that record; offsets
    below the first one seen are added in front when they come (a later leader epoch starts
    at the offset its truncation kept)."""

    def __init__(self) -> None:
        self.base = -1
        self.codes = array("q")
        self.seqs = array("q")

    def get(self, offset: int) -> tuple[int, int] | None:
        i = offset - self.base
        if self.base < 0 or i < 0 or i >= len(self.codes) or self.codes[i] == NONE:
            return None
        return self.codes[i], self.seqs[i]

    def put(self, offset: int, code: int, seq: int) -> None:
        if self.base < 0:
            self.base = offset
        elif offset < self.base:
            front = array("q", [NONE]) * (self.base - offset)
            self.codes, self.seqs = front + self.codes, front + self.seqs
            self.base = offset
        i = offset - self.base
        if i >= len(self.codes):
            grow = array("q", [NONE]) * (i + 1 - len(self.codes))
            self.codes.extend(grow)
            self.seqs.extend(grow)
        self.codes[i] = code
        self.seqs[i] = seq
