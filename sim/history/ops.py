"""The history's vocabulary: every operation declared once, with what each field means.

An operation is a plain tuple ``(time, op, node, peer, eids, part, num, detail)`` (see
:data:`FIELDS`). Nodes, the network and the fault injector report what happened ("broker-0
appended e-42 to partition 1 at offset 17"); they never decide what it means. The checker
(``sim/check``) reads these operations and nothing else.

``detail`` is typed per operation (:attr:`OpSpec.detail_type`): text, a number, or a tuple.
:func:`encode_detail` and :func:`decode_detail` are the only place that turns it into the
text of the ``detail`` column of ``events.parquet`` and back.

Reading a member: on Python 3.11 every read of ``Op.SEND`` goes through the enum class's
``__getattr__`` hook (``EnumType`` defines one; 3.12 dropped it), about ten times the cost
of reading a module's global, and a run reads members millions of times. The modules that
report or check an operation for every message or event read each such member once, into a
module constant (``_SEND = Op.SEND``): the same object.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Op(StrEnum):
    CREATE = "create"
    REFUSED = "refused"
    SEND = "send"
    DUP = "dup"
    DROP = "drop"
    DELIVER = "deliver"
    RELEASE = "release"
    OUTCOME = "outcome"
    APPEND = "append"
    LOG_LOSS = "log-loss"
    TRUNCATE = "truncate"
    OFFSET_RESET = "offset-reset"
    COMMIT = "commit"
    COMMIT_REFUSED = "commit-refused"
    SINK_COMMIT = "sink-commit"
    TXN_REFUSED = "txn-refused"
    PRODUCER_ID = "producer-id"
    DEDUPE = "dedupe"
    FENCED = "fenced"
    REJECT = "reject"
    HOLD = "hold"
    EXPIRE = "expire"
    DEAD_LETTER = "dead-letter"
    DELETE = "delete"
    RECEIVE = "receive"
    PROCESS_FAIL = "process-fail"
    EFFECT = "effect"
    DEDUPE_SKIP = "dedupe-skip"
    DEDUPE_FORGOT = "dedupe-forgot"
    REBALANCE = "rebalance"
    JOIN = "join"
    MEMBER_DEAD = "member-dead"
    ASSIGN = "assign"
    REVOKE = "revoke"
    ABANDON = "abandon"
    TXN_BEGIN = "txn-begin"
    TXN_COMMIT = "txn-commit"
    TXN_ABORT = "txn-abort"
    OUTBOX_WRITE = "outbox-write"
    OUTBOX_MARK = "outbox-mark"
    PREPARED = "prepared"
    RESOLVED = "resolved"
    FORCE_LOG = "force-log"
    CRASH = "crash"
    RESTART = "restart"
    PAUSE = "pause"
    RESUME = "resume"
    STEP = "step"
    FAULT_START = "fault-start"
    FAULT_END = "fault-end"


#: The fields of an operation tuple, in order.
FIELDS = ("time", "op", "node", "peer", "eids", "part", "num", "detail")
Row = tuple[float, str, str, str, tuple[str, ...], int, int, Any]


@dataclass(frozen=True)
class OpSpec:
    """What one operation says, and what each of its fields means ("" = unused)."""

    says: str
    node: str = ""
    peer: str = ""
    eids: str = ""
    part: str = ""
    num: str = ""
    detail: str = ""
    detail_type: type = str


_MSG = "the message id"
VOCABULARY: dict[Op, OpSpec] = {
    Op.CREATE: OpSpec(
        "a producer created a business event",
        "the producer",
        eids="the event",
        part="its partition",
        num="its key",
        detail="its creation time",
        detail_type=float,
    ),
    Op.REFUSED: OpSpec(
        "the producing service was down: the application's event was refused",
        "the producer",
        eids="the event",
        detail="the cause (the crash that holds the service down)",
    ),
    Op.SEND: OpSpec(
        "a node sent a message",
        "the sender",
        "the receiver",
        "the events it names",
        "1 if it carries custody of them, else 0",
        _MSG,
        "the message type",
    ),
    Op.DUP: OpSpec(
        "the network made a copy of a message",
        "the sender",
        "the receiver",
        "the events it names",
        "1 if custody, else 0",
        "the copy's message id",
        "the message type",
    ),
    Op.DROP: OpSpec(
        "the network lost a message",
        "the sender",
        "the receiver",
        "the events it names",
        "1 if custody, else 0",
        _MSG,
        "the cause",
    ),
    Op.DELIVER: OpSpec(
        "a message was handed to its receiver",
        "the receiver",
        "the sender",
        "the events it names",
        "1 if custody, else 0",
        _MSG,
        "the message type",
    ),
    Op.RELEASE: OpSpec(
        "a node let go of its in-memory copy",
        "the node",
        eids="the events",
        detail="why: acked, sent, gave-up, done, skipped, failed, ...",
    ),
    Op.OUTCOME: OpSpec(
        "a producer told its application how the event ended",
        "the producer",
        eids="the event",
        detail="ok | fail | unknown",
    ),
    Op.APPEND: OpSpec(
        "a broker appended a record",
        "the broker",
        "the sender",
        "the event",
        "the partition",
        "the offset",
        "(message id, why a resend was not recognised: '' when it could be)",
        tuple,
    ),
    Op.LOG_LOSS: OpSpec(
        "a broker lost a record",
        "the broker",
        eids="the event",
        part="the partition",
        num="the offset",
        detail="the cause",
    ),
    Op.TRUNCATE: OpSpec(
        "a broker cut a partition's log (its tail was not durable); a new leader epoch begins",
        "the broker",
        part="the partition",
        num="the records kept",
        detail="the new leader epoch",
        detail_type=int,
    ),
    Op.OFFSET_RESET: OpSpec(
        "the group coordinator forgot committed offsets",
        "the broker",
        peer="the group, ``group:<name>``",
        part="the partition",
        num="the committed offset now",
        detail="(the partition's leader, the cause)",
        detail_type=tuple,
    ),
    Op.COMMIT: OpSpec(
        "the group coordinator stored a committed offset",
        "the broker",
        "the consumer",
        part="the partition",
        num="the offset",
        detail="(the partition's leader, the leader epoch it refers to)",
        detail_type=tuple,
    ),
    Op.COMMIT_REFUSED: OpSpec(
        "the group coordinator refused an offset commit",
        "the broker",
        "the consumer",
        num="the generation it carried",
        detail="(why: unknown member | illegal generation, the partitions)",
        detail_type=tuple,
    ),
    Op.SINK_COMMIT: OpSpec(
        "the sink stored a consumed offset with an effect",
        "the sink",
        "the partition's leader",
        part="the partition",
        num="the offset",
        detail="the leader epoch it refers to",
        detail_type=int,
    ),
    Op.TXN_REFUSED: OpSpec(
        "the sink refused an offset transaction",
        "the sink",
        "the consumer",
        "its events",
        num=_MSG,
        detail="((partition, stored offset, its epoch), ...)",
        detail_type=tuple,
    ),
    Op.PRODUCER_ID: OpSpec(
        "a broker gave a producer id a new epoch",
        "the broker",
        "the producer",
        num="the producer id",
        detail="the epoch",
        detail_type=int,
    ),
    Op.DEDUPE: OpSpec(
        "a broker acknowledged a recognised resend without appending",
        "the broker",
        "the producer",
        "the events",
        "the partition",
        "the original offset (-1: unknown)",
        "a note",
    ),
    Op.FENCED: OpSpec(
        "a broker refused a request of an older producer epoch",
        "the broker",
        "the producer",
        "the events",
        "the partition",
        detail="a note",
    ),
    Op.REJECT: OpSpec(
        "a broker refused a produce request",
        "the broker",
        "the producer",
        "the events",
        "the partition",
        detail="(verdict: out-of-sequence | full | rejected, note or cause)",
        detail_type=tuple,
    ),
    Op.HOLD: OpSpec(
        "a broker held a produce request back until its full partition has room (in memory)",
        "the broker",
        "the producer",
        "the events",
        "the partition",
    ),
    Op.EXPIRE: OpSpec(
        "a broker discarded a record for its age (TTL)",
        "the broker",
        peer="queue mode: the group whose queue it left, ``group:<name>``",
        eids="the event",
        part="the partition",
        num="the offset",
        detail="the cause",
    ),
    Op.DEAD_LETTER: OpSpec(
        "events moved to a dead-letter queue or topic",
        "the broker",
        "the consumer that published it (queue mode, moved by the broker: ``group:<name>``)",
        "the events",
        "the partition",
        "the offset",
        "the reason",
    ),
    Op.DELETE: OpSpec(
        "queue mode: a broker deleted a message (its acknowledgement)",
        "the broker",
        "the consumer",
        "the event",
        "the partition",
        "the offset",
    ),
    Op.RECEIVE: OpSpec(
        "a consumer received a record (a delivery)",
        "the consumer",
        "the broker",
        "the event",
        "the partition",
        "the offset",
        "(queue mode: how many times it has been received, log mode: 0; the leader epoch)",
        tuple,
    ),
    Op.PROCESS_FAIL: OpSpec(
        "a consumer failed to process an event",
        "the consumer",
        eids="the event",
        part="the partition",
        num="the attempt",
        detail="why",
    ),
    Op.EFFECT: OpSpec(
        "the sink applied the effect of each event",
        "the sink",
        "the consumer",
        "the events",
        num=_MSG,
    ),
    Op.DEDUPE_SKIP: OpSpec(
        "the sink skipped effects whose ids were already processed",
        "the sink",
        "the consumer",
        "the events",
        num=_MSG,
    ),
    Op.DEDUPE_FORGOT: OpSpec(
        "the sink's processed-id table had forgotten these events (older than the retention)",
        "the sink",
        "the consumer",
        "the events",
        detail="the retention (s)",
        detail_type=float,
    ),
    Op.REBALANCE: OpSpec(
        "the group coordinator started a new generation",
        "the broker",
        peer="the group, ``group:<name>``",
        num="the generation",
        detail="why; the target assignment",
    ),
    Op.JOIN: OpSpec(
        "a consumer joined the group and got a member id",
        "the broker",
        "the consumer",
        num="the generation then",
        detail="its member id",
    ),
    Op.MEMBER_DEAD: OpSpec(
        "the group coordinator removed a member",
        "the broker",
        "the consumer",
        num="the generation",
        detail="(its member id, why: timed out | left the group ...)",
        detail_type=tuple,
    ),
    Op.ASSIGN: OpSpec(
        "a consumer took partitions",
        "the consumer",
        num="the generation",
        detail="the partitions",
        detail_type=tuple,
    ),
    Op.REVOKE: OpSpec(
        "a consumer gave partitions back",
        "the consumer",
        num="the generation",
        detail="the partitions",
        detail_type=tuple,
    ),
    Op.ABANDON: OpSpec(
        "a consumer gave partitions up without committing: it is no longer a member",
        "the consumer",
        num="the generation it held them in",
        detail="(why, the partitions)",
        detail_type=tuple,
    ),
    Op.TXN_BEGIN: OpSpec("a business transaction began", "the producer", eids="the event"),
    Op.TXN_COMMIT: OpSpec(
        "a business transaction committed",
        "the producer or coordinator",
        eids="the event",
        detail="a note",
    ),
    Op.TXN_ABORT: OpSpec(
        "a business transaction rolled back",
        "the producer or coordinator",
        eids="the event",
        detail="why",
    ),
    Op.OUTBOX_WRITE: OpSpec(
        "an outbox row was written with the business row",
        "the producer",
        eids="the event",
        part="the partition",
    ),
    Op.OUTBOX_MARK: OpSpec(
        "a relay marked outbox rows sent", "the relay", "the producer", "the events"
    ),
    Op.PREPARED: OpSpec(
        "a 2PC participant prepared (voted yes, in doubt)",
        "the participant",
        "the coordinator",
        "the transaction's event",
        "the partition",
    ),
    Op.RESOLVED: OpSpec(
        "a 2PC participant learned the decision",
        "the participant",
        "the coordinator",
        "the transaction's event",
        detail="commit | abort",
    ),
    Op.FORCE_LOG: OpSpec(
        "a forced (synchronous) log write",
        "the node",
        eids="the transaction's event",
        detail="the record: prepare | commit",
    ),
    Op.CRASH: OpSpec("a node crashed", "the node", detail="the cause"),
    Op.RESTART: OpSpec("a node restarted", "the node"),
    Op.PAUSE: OpSpec("a node paused", "the node"),
    Op.RESUME: OpSpec("a node resumed", "the node"),
    Op.STEP: OpSpec(
        "a node reached a protocol step where a crash was armed",
        "the node",
        num="the fault",
        detail="the step",
    ),
    Op.FAULT_START: OpSpec("a fault began", "its target", num="the fault", detail="its kind"),
    Op.FAULT_END: OpSpec("a fault ended", "its target", num="the fault", detail="its kind"),
}


def encode_detail(op: str, detail: Any) -> str:
    """The text of ``detail`` in the events frame."""
    kind = VOCABULARY[Op(op)].detail_type
    if kind is str:
        return str(detail)
    if kind is tuple:
        return json.dumps(detail, separators=(",", ":"))
    return repr(detail)


def decode_detail(op: str, text: str) -> Any:
    """The inverse of :func:`encode_detail`."""
    kind = VOCABULARY[Op(op)].detail_type
    if kind is str:
        return text
    if kind is tuple:
        return _tuples(json.loads(text))
    if kind is float:
        return float(text)
    return int(text)


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value
