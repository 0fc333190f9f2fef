"""One sentence per history row of an event's story.

Each operation has a teller (:data:`TELLERS`): from the row and what the narration has seen
so far (:class:`Narrator`) it makes the step's short verb, its sentence, and how the
sequence diagram shows it. Why an append is an extra copy in the logs and why an effect is
a duplicate are not worked out here: the checker's attribution says (:class:`Findings`).
The operations and their fields are those of ``sim/history/ops.py``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from ..history.ops import Op, decode_detail
from .story import STEP_COLUMNS, Fault, Findings

_SEND_TEXT = {
    "produce": "{node} sent it to {peer} (message {num}, produce)",
    "produce-ack": "{node} acknowledged it to {peer} (message {num}, produce-ack)",
    "fetch-response": "{node} sent it to {peer} (message {num}, fetch-response{batch})",
    "sink-txn": "{node} sent its effect to {peer} (message {num}, sink-txn)",
    "sink-ack": "{node} acknowledged the effect to {peer} (message {num}, sink-ack)",
}
_RELEASE_TEXT = {
    "acked": "after the acknowledgement",
    "sent": "once sent, without waiting for an acknowledgement",
    "gave-up": "it gave up",
    "done": "done",
}
#: Messages that carry the event itself (the others acknowledge it).
_CUSTODY_KINDS = ("produce", "fetch-response", "sink-txn")

#: Operations told with a fixed sentence: op -> (step verb, sentence template).
_PLAIN_STEPS: dict[str, tuple[str, str]] = {
    "txn-begin": ("txn-begin", "{node} began its business transaction"),
    "txn-commit": ("txn-commit", "{node} committed the business transaction ({info})"),
    "txn-abort": ("txn-abort", "{node} rolled the business transaction back ({info})"),
    "outbox-write": ("outboxed", "{node} wrote it to the outbox in the same local transaction"),
    "outbox-mark": ("marked-sent", "{node} marked its outbox row sent"),
    "prepared": (
        "prepared",
        "{node} prepared it for {peer} and voted yes (in doubt until the decision)",
    ),
    "resolved": ("resolved", "{node} learned the decision from {peer}: {info}"),
    "force-log": ("forced-write", "{node} forced its {info} record to its log"),
    "dedupe": (
        "deduplicated",
        "{node} recognised a resend and acknowledged it without appending ({info})",
    ),
    "dedupe-skip": ("deduplicated", "{node} skipped its effect: the id was already processed"),
    "fenced": ("fenced", "{node} refused it from {peer}: an older producer epoch ({info})"),
    "reject": ("refused", "{node} refused it from {peer} ({info})"),
    "expire": ("expired", "{node} discarded it for its age ({info})"),
    "delete": ("deleted", "{node} deleted it for {peer} (its acknowledgement)"),
    "dead-letter": ("dead-lettered", "{node} moved it to the dead-letter queue ({info})"),
    "process-fail": ("failed", "{node} failed to process it (attempt {num}: {info})"),
    "txn-refused": (
        "refused",
        "{node} refused the transaction of {peer}: stored offsets {info}",
    ),
}


@dataclass(frozen=True)
class Row:
    """One history row of the story (``detail`` as stored in the events frame)."""

    seq: int
    time: float
    op: str
    node: str
    peer: str
    part: int
    num: int
    detail: str

    @classmethod
    def of(cls, record: dict[Any, Any]) -> Row:
        """A row of the events frame (a missing peer or detail is "")."""
        peer, detail = record["peer"], record["detail"]
        return cls(
            int(record["seq"]),
            float(record["time"]),
            str(record["op"]),
            str(record["node"]),
            peer if isinstance(peer, str) else "",
            int(record["part"]),
            int(record["num"]),
            detail if isinstance(detail, str) else "",
        )

    @property
    def value(self) -> Any:
        """The typed detail (``sim/history/ops.py``: each operation's ``detail_type``)."""
        return decode_detail(self.op, self.detail)


@dataclass(frozen=True)
class Told:
    """A told row: its step verb and sentence, and how the diagram shows it."""

    step: str
    text: str
    mark: str = ""
    label: str = ""
    kind: str = ""
    unit: str = ""
    """Steps of one unit are shown or left out together ("" = the row alone)."""
    prio: int = 0


class Narrator:
    """What the narration has seen so far in the event's story."""

    def __init__(self, findings: Findings, faults: list[Fault], carried: dict[int, int]) -> None:
        self.findings = findings
        self.carried = carried
        """Seq of a send -> how many events that message carries."""
        self.fault_at = {f.start_seq: f for f in faults}
        # a crash or pause row comes right after the fault-start row of its fault
        self.node_fault = {f.start_seq + 1: f for f in faults if f.kind in ("crash", "pause")}
        self.kinds: dict[int, str] = {}
        """Message id -> its type."""
        self.sends: Counter[tuple[str, str]] = Counter()
        self.receives_since: Counter[str] = Counter()
        """Consumer -> deliveries since its last sink transaction."""
        self.copies_seen: set[tuple[str, int, int]] = set()
        self.appends = self.receives = self.effects = 0

    def tell(self, row: Row) -> Told:
        teller = TELLERS.get(row.op)
        if teller is not None:
            return teller(self, row)
        if row.op in _PLAIN_STEPS:
            return _plain(row)
        text = " ".join(part for part in (row.node, row.op, row.peer, row.detail) if part)
        return Told(row.op, text, "minor", row.op)


def narrate(
    rows: pd.DataFrame, findings: Findings, faults: list[Fault], carried: dict[int, int]
) -> pd.DataFrame:
    """The steps (:data:`STEP_COLUMNS`) of the history ``rows``, in their order."""
    narrator = Narrator(findings, faults, carried)
    out: list[dict[str, Any]] = []
    for record in rows.to_dict("records"):
        row = Row.of(record)
        told = narrator.tell(row)
        out.append({**asdict(row), **asdict(told), "unit": told.unit or f"s{row.seq}"})
    return pd.DataFrame(out, columns=STEP_COLUMNS)


# --------------------------------------------------------------------------- messages


def _message_prio(kind: str) -> int:
    return 1 if kind in _CUSTODY_KINDS else 2


def _send(n: Narrator, r: Row) -> Told:
    kind = r.detail
    n.kinds[r.num] = kind
    carried = n.carried.get(r.seq, 1)
    batch = ""
    if carried > 1:
        batch = f", with {carried - 1} other event{'s' if carried > 2 else ''}"
    template = _SEND_TEXT.get(kind, "{node} sent message {num} ({kind}) to {peer}")
    text = template.format(node=r.node, peer=r.peer, num=r.num, kind=kind, batch=batch)
    step = "sent"
    if kind in ("produce", "sink-txn"):
        n.sends[(r.node, kind)] += 1
        count = n.sends[(r.node, kind)]
        retry = kind == "produce" and count > 1
        if kind == "sink-txn":  # a retry: no new delivery since its last sink transaction
            retry = n.receives_since[r.node] == 0
            n.receives_since[r.node] = 0
        if retry:
            step = "retried"
            text = text.replace(" sent ", " resent ", 1) + f" (attempt {count})"
    return Told(step, text, kind=kind, unit=f"m{r.num}", prio=_message_prio(kind))


def _dup(n: Narrator, r: Row) -> Told:
    kind = r.detail
    n.kinds[r.num] = kind
    text = f"the network duplicated a {kind} {r.node}->{r.peer} (copy: message {r.num})"
    return Told("duplicated", text, kind=kind, unit=f"m{r.num}", prio=0)


def _drop(n: Narrator, r: Row) -> Told:
    cause = r.detail
    kind = n.kinds.get(r.num)
    what = f" ({kind})" if kind is not None else ""
    text = f"the network dropped message {r.num} {r.node}->{r.peer}{what}: {cause}"
    return Told("dropped", text, "drop", cause, kind=kind or cause, unit=f"m{r.num}")


def _deliver(n: Narrator, r: Row) -> Told:
    kind = r.detail
    text = f"{r.node} got message {r.num} from {r.peer} ({kind})"
    return Told("arrived", text, kind=kind, unit=f"m{r.num}", prio=_message_prio(kind))


# --------------------------------------------------------------------------- the event


def _create(n: Narrator, r: Row) -> Told:
    text = f"{r.node} created it (key {r.num}, partition {r.part})"
    return Told("created", text, "create", "created")


def _append(n: Narrator, r: Row) -> Told:
    n.appends += 1
    copy, why = n.findings.copies.get(r.seq, (n.appends, None))
    msgid = int(r.value[0])
    text = f"{r.node} appended it to partition {r.part} at offset {r.num}"
    if msgid >= 0:
        text += f" (from message {msgid})"
    label = f"stored p{r.part}@{r.num}"
    if copy > 1:
        text += f"; copy {copy} in the log" + (f", because of {why}" if why else "")
        label += f" (copy {copy})"
    return Told("stored", text, "append", label)


def _log_loss(n: Narrator, r: Row) -> Told:
    text = f"{r.node} lost its record at partition {r.part} offset {r.num}: {r.detail}"
    return Told("record-lost", text, "loss", f"lost p{r.part}@{r.num}")


def _commit(n: Narrator, r: Row) -> Told:
    who = f" for {r.peer}" if r.peer else ""
    text = (
        f"{r.node} stored committed offset {r.num} of partition {r.part}{who}: "
        "its record there is consumed and will not be redelivered"
    )
    return Told("committed", text, "commit", f"p{r.part} committed up to {r.num}")


def _offset_reset(n: Narrator, r: Row) -> Told:
    text = (
        f"{r.node} forgot the committed offsets of partition {r.part} (committed is now "
        f"{r.num}): its record there may be delivered again"
    )
    return Told("offset-reset", text, "reset", f"offsets reset p{r.part}")


def _receive(n: Narrator, r: Row) -> Told:
    n.receives += 1
    n.receives_since[r.node] += 1
    copy = (r.peer, r.part, r.num)
    again = copy in n.copies_seen
    n.copies_seen.add(copy)
    what = "a redelivery" if again else ("another copy" if n.receives > 1 else "first")
    label = f"delivery {n.receives}" + (f" ({what})" if n.receives > 1 else "")
    text = (
        f"{r.node} received it from partition {r.part} offset {r.num} "
        f"(delivery {n.receives}: {what})"
    )
    return Told("redelivered" if again else "delivered", text, "receive", label)


def _effect(n: Narrator, r: Row) -> Told:
    n.effects += 1
    k = n.effects
    src = f"; message {r.num} from {r.peer}" if r.peer else ""
    if k == 1:
        return Told("applied", f"{r.node} applied its effect (effect 1{src})", "effect", "effect 1")
    causes = n.findings.duplicate_causes
    why = causes[k - 2] if k - 2 < len(causes) else "unknown"
    text = f"{r.node} applied its effect (effect {k}: a duplicate, cause: {why}{src})"
    return Told("reapplied", text, "dup-effect", f"effect {k} (duplicate)")


def _release(n: Narrator, r: Row) -> Told:
    text = f"{r.node} let go of its copy ({_RELEASE_TEXT.get(r.detail, r.detail)})"
    return Told("released", text, "minor", f"released ({r.detail})", prio=2)


def _outcome(n: Narrator, r: Row) -> Told:
    text = f"{r.node} told its application: {r.detail}"
    return Told("outcome", text, "minor", f"told app: {r.detail}", prio=2)


def _plain(r: Row) -> Told:
    step, template = _PLAIN_STEPS[r.op]
    info = _detail_words(r)
    text = template.format(node=r.node, peer=r.peer, info=info, num=r.num, part=r.part)
    return Told(step, text.replace(" ()", ""), "minor", step)


def _detail_words(r: Row) -> str:
    """A detail in words: tuples (a refusal's verdict and note, stored offsets) spelled out."""
    if not r.detail:
        return ""
    value = r.value
    if r.op == Op.REJECT:
        return ": ".join(str(v) for v in value if v != "")
    if r.op == Op.TXN_REFUSED:
        return ", ".join(f"p{p}@{offset} (epoch {epoch})" for p, offset, epoch in value)
    return str(value)


# --------------------------------------------------------------------------- nodes and faults


def _crash(n: Narrator, r: Row) -> Told:
    fault = n.node_fault.get(r.seq)
    which = f", fault {fault.num}" if fault else ""
    return Told("crashed", f"{r.node} CRASHED ({r.detail}{which})", "crash", "CRASH")


def _restart(n: Narrator, r: Row) -> Told:
    text = f"{r.node} restarted (recovery from durable state)"
    return Told("restarted", text, "restart", "restart")


def _pause(n: Narrator, r: Row) -> Told:
    fault = n.node_fault.get(r.seq)
    which = f" (fault {fault.num})" if fault else ""
    return Told("paused", f"{r.node} PAUSED{which}", "pause", "PAUSE")


def _resume(n: Narrator, r: Row) -> Told:
    return Told("resumed", f"{r.node} resumed", "restart", "resume")


def _step(n: Narrator, r: Row) -> Told:
    text = f"{r.node} reached protocol step {r.detail} (an armed crash fires)"
    return Told("reached-step", text, "minor", r.detail)


def _fault_edge(n: Narrator, r: Row) -> Told:
    fault = n.fault_at.get(r.seq)
    p = f" p={fault.probability:g}" if fault and fault.probability is not None else ""
    starts = r.op == Op.FAULT_START
    text = f"fault {r.num} ({r.detail}{p}) {'began' if starts else 'ended'} on {r.node}"
    label = f"{r.detail} {'starts' if starts else 'ends'} ({r.node})"
    return Told(r.op, text, "fault", label, kind=r.detail)


#: How each operation is told (operations in ``_PLAIN_STEPS`` get a fixed sentence).
TELLERS: dict[str, Callable[[Narrator, Row], Told]] = {
    Op.CREATE: _create,
    Op.SEND: _send,
    Op.DUP: _dup,
    Op.DROP: _drop,
    Op.DELIVER: _deliver,
    Op.APPEND: _append,
    Op.LOG_LOSS: _log_loss,
    Op.COMMIT: _commit,
    Op.OFFSET_RESET: _offset_reset,
    Op.RECEIVE: _receive,
    Op.EFFECT: _effect,
    Op.RELEASE: _release,
    Op.OUTCOME: _outcome,
    Op.CRASH: _crash,
    Op.RESTART: _restart,
    Op.PAUSE: _pause,
    Op.RESUME: _resume,
    Op.STEP: _step,
    Op.FAULT_START: _fault_edge,
    Op.FAULT_END: _fault_edge,
}
