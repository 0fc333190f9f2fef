"""The protocol's messages. Each names the business events it carries (``eids``) and whether
it carries *custody* of them: a custody message is a copy that may be the last one (a produce
request, a sink transaction), so the checker follows it through the network."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from .clock import Call


class Record(NamedTuple):
    """A business event as stored in a partition log and handed to consumers (a named tuple:
    immutable, and made several times an event, which a frozen dataclass makes slowly)."""

    eid: str
    key: int
    partition: int
    created_at: float
    process_time: float
    offset: int = -1
    poison: bool = False
    """Its processing always fails (a malformed event)."""

    def stored(self, partition: int, offset: int) -> Record:
        """This record as stored in ``partition`` at ``offset``."""
        return new_record(
            self.eid, self.key, partition, self.created_at, self.process_time, offset, self.poison
        )


_new_tuple = tuple.__new__


def new_record(
    eid: str,
    key: int,
    partition: int,
    created_at: float,
    process_time: float,
    offset: int = -1,
    poison: bool = False,
) -> Record:
    """``Record(...)``, made without the named tuple's ``__new__`` (a Python function, even in
    the compiled build: a record is made several times an event)."""
    return _new_tuple(Record, (eid, key, partition, created_at, process_time, offset, poison))  # type: ignore[no-any-return]


def _eids_of(records: tuple[Record, ...] | list[Record]) -> tuple[str, ...]:
    """The event ids of ``records``, in order (one record, the commonest, is one tuple)."""
    if len(records) == 1:
        return (records[0].eid,)
    return tuple([r.eid for r in records])


class Message:
    """A protocol message. Its type's ``kind`` names it in the history; ``custody``: whether it
    carries custody of its events. (Plain class attributes, unannotated: a compiled message is
    an extension type, whose annotated names would be fields.)"""

    kind = "message"
    custody = False

    @property
    def eids(self) -> tuple[str, ...]:
        return ()


@dataclass
class Produce(Message):
    """Append ``records`` (one partition). An idempotent producer adds its id, epoch and the
    batch's sequence number in the partition."""

    kind = "produce"
    custody = True
    records: tuple[Record, ...]
    attempt: int
    pid: int = -1
    epoch: int = -1
    seq: int = -1

    @property
    def eids(self) -> tuple[str, ...]:
        return _eids_of(self.records)


@dataclass
class ProduceAck(Message):
    """The batch whose first event is ``eid`` is stored from ``offset`` on (``error`` set
    instead when refused: out-of-sequence or fenced)."""

    kind = "produce-ack"
    eid: str
    partition: int
    offset: int
    error: str = ""
    batch: tuple[str, ...] = ()
    attempt: int = 0
    """The attempt of the request it answers: a refusal answers that attempt only."""
    in_sequence: bool = False
    """An idempotent batch stored right after the previous sequence the broker knew (not
    after the broker lost its sequence state): every earlier batch is stored too."""

    @property
    def eids(self) -> tuple[str, ...]:
        return self.batch or (self.eid,)


@dataclass(slots=True)
class InitProducerId(Message):
    """Ask for the producer id and a new epoch of ``transactional_id`` (fences older instances)."""

    kind = "init-producer-id"
    request: int
    transactional_id: str


@dataclass(slots=True)
class InitProducerIdResponse(Message):
    kind = "init-producer-id-response"
    request: int
    pid: int
    epoch: int


@dataclass(slots=True)
class JoinGroup(Message):
    """Join the group; ``instance``: a static member's ``group.instance.id`` (KIP-345)."""

    kind = "join-group"
    request: int
    instance: str = ""
    group: str = "default"


@dataclass(slots=True)
class LeaveGroup(Message):
    """A member leaves the group (its poll loop stalled past ``max_poll_interval``)."""

    kind = "leave-group"
    request: int
    member: str
    group: str = "default"


@dataclass(slots=True)
class Heartbeat(Message):
    """Member ``member`` is alive, in ``generation``, holding (or granted) ``held``."""

    kind = "heartbeat"
    request: int
    member: str
    generation: int
    held: tuple[int, ...]
    group: str = "default"


@dataclass(slots=True)
class GroupResponse(Message):
    """What a member must revoke and may take in ``generation`` (``rejoin``: it is not a
    member, e.g. its session expired: it must give everything up and join again)."""

    kind = "group-response"
    request: int
    generation: int
    grant: tuple[int, ...]
    revoke: tuple[int, ...]
    rejoin: bool = False
    member: str = ""


@dataclass
class Fetch(Message):
    """Records from each partition's position; ``epochs``: the log epochs the consumer last saw."""

    kind = "fetch"
    request: int
    positions: dict[int, int]
    epochs: dict[int, int]
    group: str = "default"
    """The consumer's group (a log is read by every group, each from its own positions)."""


@dataclass
class FetchResponse(Message):
    kind = "fetch-response"
    request: int
    records: list[Record]
    epochs: dict[int, int]
    resets: dict[int, int]
    """Partitions whose log was truncated since the consumer's epoch: rewind to these offsets."""

    @property
    def eids(self) -> tuple[str, ...]:
        return _eids_of(self.records)


@dataclass(slots=True)
class OffsetCommit(Message):
    """Store committed offsets, with each partition's leader epoch and leader, as member
    ``member`` of ``generation`` (to the group coordinator)."""

    kind = "offset-commit"
    request: int
    offsets: dict[int, int]
    epochs: dict[int, int]
    leaders: dict[int, str]
    generation: int
    member: str
    sequence: tuple[int, int] = (0, 0)
    """(the member's incarnation, its commit count): commits ride one ordered connection, so
    a commit overtaken by a later one of the same member (a reordering fault) is stale."""
    group: str = "default"


@dataclass(slots=True)
class OffsetCommitAck(Message):
    kind = "offset-commit-ack"
    request: int
    refused: tuple[int, ...] = ()
    """Partitions whose offsets were not stored: the sender is no longer a member, or not of
    the current generation (a zombie)."""


@dataclass(slots=True)
class OffsetFetch(Message):
    kind = "offset-fetch"
    request: int
    partitions: tuple[int, ...]
    group: str = "default"


@dataclass(slots=True)
class SinkOffsetFetch(Message):
    """Read the consumed offsets stored in the sink (transactional consumers resume from them)."""

    kind = "sink-offset-fetch"
    request: int
    partitions: tuple[int, ...]


@dataclass(slots=True)
class OffsetFetchResponse(Message):
    kind = "offset-fetch-response"
    request: int
    offsets: dict[int, int]
    epochs: dict[int, int]


@dataclass(slots=True)
class Receive(Message):
    """Queue mode: up to ``max_records`` visible messages, then invisible for visibility_timeout."""

    kind = "receive"
    request: int
    max_records: int
    group: str = "default"
    """The consumer's group: each group has its own queue (SNS fanning out to SQS)."""


@dataclass(slots=True)
class ReceiveResponse(Message):
    kind = "receive-response"
    request: int
    records: list[Record]
    receives: list[int]
    """How many times each record has now been received."""
    epochs: dict[int, int] = field(default_factory=dict)
    """The log epoch of each partition received from: with the offset, the receipt handle
    a delete must present (a queue that lost messages reuses their offsets)."""

    @property
    def eids(self) -> tuple[str, ...]:
        return _eids_of(self.records)


@dataclass(slots=True)
class Delete(Message):
    """Queue mode: remove received messages (the acknowledgement)."""

    kind = "delete"
    request: int
    items: tuple[tuple[int, int, int], ...]
    """(partition, offset, log epoch) of each message: its receipt handle."""
    group: str = "default"


@dataclass(slots=True)
class ChangeVisibility(Message):
    """Queue mode: keep received messages invisible for another visibility timeout (SQS's
    ChangeMessageVisibility, sent as a heartbeat while they are being processed)."""

    kind = "change-visibility"
    request: int
    items: tuple[tuple[int, int, int], ...]
    """(partition, offset, log epoch) of each message."""
    group: str = "default"


@dataclass(slots=True)
class DeleteAck(Message):
    kind = "delete-ack"
    request: int


@dataclass(slots=True)
class DeadLetter(Message):
    """Log mode: publish a record that keeps failing to the dead-letter topic."""

    kind = "dead-letter"
    custody = True
    request: int
    record: Record
    reason: str

    @property
    def eids(self) -> tuple[str, ...]:
        return (self.record.eid,)


@dataclass(slots=True)
class DeadLetterAck(Message):
    kind = "dead-letter-ack"
    request: int


@dataclass(frozen=True)
class OffsetMove:
    """A consumed offset stored in the sink: from ``expected`` to ``new``, each an
    (offset, leader epoch) of the partition led by ``broker``. The epoch tells a consumer that
    resumes from the sink whether the log it refers to was truncated since (KIP-320)."""

    broker: str
    expected: tuple[int, int]
    new: tuple[int, int]


@dataclass
class SinkTxn(Message):
    """Apply the effects of ``records`` in one atomic sink transaction.

    With ``offsets`` the transaction also stores the consumed offsets, and applies only if the
    stored offsets are the expected ones (so a retried transaction is not applied twice, and
    a stale consumer cannot apply at all)."""

    kind = "sink-txn"
    custody = True
    request: int
    records: tuple[Record, ...]
    offsets: dict[int, OffsetMove] | None = None
    dedupe: bool = False
    """Idempotent consumer: skip events whose id the sink has already processed."""
    retention: float | None = None
    """With ``dedupe``: how long a processed id is kept (None: for ever)."""

    @property
    def eids(self) -> tuple[str, ...]:
        return _eids_of(self.records)


@dataclass
class SinkAck(Message):
    kind = "sink-ack"
    request: int
    applied: tuple[str, ...] = ()
    offsets: dict[int, tuple[int, int]] | None = None
    """The (offset, epoch) the sink holds per partition (offset transactions), so a consumer
    can resume from them."""

    @property
    def eids(self) -> tuple[str, ...]:
        return self.applied


class Envelope(Call):
    """A message in flight: what the network moves between two nodes. It is also the kernel's
    queue entry of its arrival (a :class:`~sim.model.clock.Call`, which the kernel runs
    without asking whether it failed: the network sets its ``callbacks``), and it keeps the
    events its payload names, whether it carries custody of them and the payload's kind (read
    for every operation the network records of it)."""

    __slots__ = ("msgid", "src", "dst", "payload", "eids", "custody", "kind")

    def __init__(self, msgid: int, src: str, dst: str, payload: Message) -> None:
        self.msgid = msgid
        self.src = src
        self.dst = dst
        self.payload = payload
        self.eids = payload.eids
        self.custody = 1 if payload.custody else 0
        self.kind = payload.kind
        self.callbacks = None
        self.arg = None

    def __repr__(self) -> str:
        return f"Envelope({self.msgid}, {self.src!r}, {self.dst!r}, {self.payload!r})"


# --------------------------------------------------------------------------- two-phase commit


@dataclass(slots=True)
class Begin(Message):
    """The producing application asks the coordinator to commit its business write and its
    message atomically (transaction id = the event id)."""

    kind = "2pc-begin"
    custody = True
    record: Record
    aborts: bool

    @property
    def eids(self) -> tuple[str, ...]:
        return (self.record.eid,)


@dataclass(slots=True)
class Prepare(Message):
    kind = "2pc-prepare"
    custody = True
    record: Record

    @property
    def eids(self) -> tuple[str, ...]:
        return (self.record.eid,)


@dataclass(slots=True)
class Vote(Message):
    kind = "2pc-vote"
    txn: str
    yes: bool

    @property
    def eids(self) -> tuple[str, ...]:
        return (self.txn,)


@dataclass(slots=True)
class Decision(Message):
    """Commit or abort ``txn`` (also the coordinator's answer to a participant's ``Status``)."""

    kind = "2pc-decision"
    txn: str
    commit: bool

    @property
    def eids(self) -> tuple[str, ...]:
        return (self.txn,)


@dataclass(slots=True)
class DecisionAck(Message):
    kind = "2pc-ack"
    txn: str

    @property
    def eids(self) -> tuple[str, ...]:
        return (self.txn,)


@dataclass(slots=True)
class Status(Message):
    """An in-doubt participant asks the coordinator how ``txn`` ended."""

    kind = "2pc-status"
    txn: str

    @property
    def eids(self) -> tuple[str, ...]:
        return (self.txn,)


@dataclass(slots=True)
class Outcome(Message):
    """The coordinator tells the application whether its transaction committed."""

    kind = "2pc-outcome"
    txn: str
    committed: bool

    @property
    def eids(self) -> tuple[str, ...]:
        return (self.txn,)
