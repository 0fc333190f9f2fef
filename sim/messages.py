"""The protocol's messages. Each names the business events it carries (``eids``) and whether
it carries *custody* of them: a custody message is a copy that may be the last one (a produce
request, a sink transaction), so the checker follows it through the network."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(slots=True, frozen=True)
class Record:
    """A business event as stored in a partition log and handed to consumers."""

    eid: str
    key: int
    partition: int
    created_at: float
    process_time: float
    offset: int = -1


class Message:
    kind: ClassVar[str] = "message"
    custody: ClassVar[bool] = False

    @property
    def eids(self) -> tuple[str, ...]:
        return ()


@dataclass(slots=True)
class Produce(Message):
    kind: ClassVar[str] = "produce"
    custody: ClassVar[bool] = True
    record: Record
    attempt: int

    @property
    def eids(self) -> tuple[str, ...]:
        return (self.record.eid,)


@dataclass(slots=True)
class ProduceAck(Message):
    kind: ClassVar[str] = "produce-ack"
    eid: str
    partition: int
    offset: int

    @property
    def eids(self) -> tuple[str, ...]:
        return (self.eid,)


@dataclass(slots=True)
class Fetch(Message):
    """Records from each partition's position; ``epochs`` are the log epochs the consumer last saw."""

    kind: ClassVar[str] = "fetch"
    request: int
    positions: dict[int, int]
    epochs: dict[int, int]


@dataclass(slots=True)
class FetchResponse(Message):
    kind: ClassVar[str] = "fetch-response"
    request: int
    records: list[Record]
    epochs: dict[int, int]
    resets: dict[int, int]
    """Partitions whose log was truncated since the consumer's epoch: position -> this offset at most."""

    @property
    def eids(self) -> tuple[str, ...]:
        return tuple(r.eid for r in self.records)


@dataclass(slots=True)
class OffsetCommit(Message):
    kind: ClassVar[str] = "offset-commit"
    request: int
    offsets: dict[int, int]
    epochs: dict[int, int]


@dataclass(slots=True)
class OffsetCommitAck(Message):
    kind: ClassVar[str] = "offset-commit-ack"
    request: int


@dataclass(slots=True)
class OffsetFetch(Message):
    kind: ClassVar[str] = "offset-fetch"
    request: int
    partitions: tuple[int, ...]


@dataclass(slots=True)
class OffsetFetchResponse(Message):
    kind: ClassVar[str] = "offset-fetch-response"
    request: int
    offsets: dict[int, int]
    epochs: dict[int, int]


@dataclass(slots=True)
class SinkTxn(Message):
    """Apply the effects of ``records`` in one atomic sink transaction."""

    kind: ClassVar[str] = "sink-txn"
    custody: ClassVar[bool] = True
    request: int
    records: tuple[Record, ...]

    @property
    def eids(self) -> tuple[str, ...]:
        return tuple(r.eid for r in self.records)


@dataclass(slots=True)
class SinkAck(Message):
    kind: ClassVar[str] = "sink-ack"
    request: int
    applied: tuple[str, ...] = ()

    @property
    def eids(self) -> tuple[str, ...]:
        return self.applied


@dataclass(slots=True)
class Envelope:
    """A message in flight: what the network moves between two nodes."""

    msgid: int
    src: str
    dst: str
    payload: Message
