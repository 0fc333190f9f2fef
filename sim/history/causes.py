"""Causes: why a copy of an event was lost, or why an effect was applied again.

Every cause string is built here (by the model when it drops or discards something, by the
checker when it attributes a loss or a duplicate) and read back here (:func:`parse`,
:func:`describe`), so the words a user sees in ``loss_cause`` and ``duplicate_cause`` and
the way ``msgsim explain`` and the report read them cannot drift apart.

A cause names the fault or decision behind it: ``drop:producer-0->broker-0``,
``crash:consumer-1 after ack``, ``redelivery after crash:consumer-1``, ...
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNKNOWN = "unknown"


# --------------------------------------------------------------------------- built by the model


def drop(src: str, dst: str) -> str:
    return f"drop:{src}->{dst}"


def partition(src: str, dst: str) -> str:
    return f"partition:{src}->{dst}"


def crash(node: str) -> str:
    return f"crash:{node}"


def disk_loss(node: str) -> str:
    return f"disk-loss:{node}"


def overflow(broker: str, partition: int, how: str = "") -> str:
    return f"overflow:{broker}/p{partition}" + (f" ({how})" if how else "")


def ttl(broker: str, partition: int) -> str:
    return f"ttl:{broker}/p{partition}"


def poison(consumer: str) -> str:
    return f"poison:{consumer}"


def dead_letter(node: str, reason: str) -> str:
    return f"dead-letter:{node} ({reason})"


def fenced(producer: str, broker: str) -> str:
    """A request of a crashed producer's previous epoch, refused by ``broker``."""
    return f"crash:{producer} (its old request fenced by {broker})"


ROLLBACK = "rolled back by the application"
"""A business rollback: the application aborted its transaction (``workload.abort_rate``)."""


def aborted(why: str, fault: str | None) -> str:
    """Why a business transaction aborted: the application's rollback, or the fault behind a
    coordinator's abort (``why``: its detail; ``fault``: the last fault that dropped one of
    its messages)."""
    if why.startswith("rolled back"):
        return ROLLBACK
    what = f"abort:{why or 'no decision'}"
    if why.startswith(CRASHED_OPEN):  # the crash is the cause, whatever was dropped before
        return what
    return f"{what} after {fault}" if fault else what


CRASHED_OPEN = "open at the crash of "
"""How a database's recovery names the transactions it rolled back (``CRASHED_OPEN + node``)."""


def is_fault_abort(cause: str | None) -> bool:
    return bool(cause) and cause != ROLLBACK


def dedupe_retention(sink: str, retention: float) -> str:
    """An idempotent consumer's processed id, forgotten after ``retention`` seconds."""
    return f"dedupe-retention:{sink} ({retention:g} s)"


def failure(consumer: str) -> str:
    """A transient processing failure (``workload.failure_probability``)."""
    return f"failure:{consumer}"


DEDUPE_WINDOW_EXPIRED = "dedupe-window expired"
EPOCH_BUMP = "epoch bump"
"""A producer bumped its epoch (KIP-360) and resent batches with new sequences."""


# --------------------------------------------------------------------------- built by the checker


def after_ack(crash_cause: str) -> str:
    """A consumer crash that lost an event whose offset it had already committed."""
    return crash_cause if crash_cause.endswith(" after ack") else f"{crash_cause} after ack"


def is_consumer_crash_before_ack(cause: str) -> bool:
    return cause.startswith("crash:consumer") and not cause.endswith(" after ack")


def skipped(broker: str, partition: int, by: str = "", how: str = "committed") -> str:
    """A position moved past a record whose effect was never applied."""
    where = f"skipped:{broker}/p{partition}"
    return where + (f" ({how} by {by} before processing)" if by else "")


def network_duplicate(src: str, dst: str) -> str:
    return f"duplicate:{src}->{dst}"


def late_ack(node: str) -> str:
    """A request resent because its acknowledgement came after the timeout."""
    return f"timeout:{node} (late ack)"


def redelivery_after_crash(consumer: str) -> str:
    return f"redelivery after crash:{consumer}"


def redelivery_after_visibility(consumer: str) -> str:
    return f"redelivery after visibility timeout ({consumer})"


def redelivery_after(what: str) -> str:
    """Read again because ``what`` moved the group's position back before a commit."""
    return f"redelivery after {what}"


def pause(node: str) -> str:
    return f"pause:{node}"


def partition_fault(target: str) -> str:
    return f"partition:{target}"


def redelivery_to(consumer: str) -> str:
    return f"redelivery to {consumer}"


REDELIVERY = "redelivery"


def state_lost(lost_by: str, resent_after: str) -> str:
    """An idempotent resend the broker could not recognise: its sequence state was lost, or
    the producer bumped its epoch and resent the batch under a new sequence."""
    if lost_by == EPOCH_BUMP:
        return f"resent under a new producer epoch after {resent_after}"
    return f"{lost_by} lost the dedupe state (resent after {resent_after})"


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Cause:
    """A cause read back: its ``kind`` (the fault or decision), the node or link it names
    (``subject``), and any qualifier."""

    kind: str
    subject: str = ""
    qualifier: str = ""


_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("state-lost", re.compile(r"(?P<subject>.+) lost the dedupe state \(resent after (?P<q>.+)\)")),
    ("epoch-bump", re.compile(r"resent under a new producer epoch after (?P<q>.+)")),
    ("fenced", re.compile(r"crash:(?P<subject>\S+) \(its old request fenced by (?P<q>\S+)\)")),
    ("redelivery-after-crash", re.compile(r"redelivery after crash:(?P<subject>\S+)")),
    (
        "redelivery-after-visibility",
        re.compile(r"redelivery after visibility timeout \((?P<subject>\S+)\)"),
    ),
    ("redelivery", re.compile(r"redelivery to (?P<subject>\S+)")),
    ("redelivery-after", re.compile(r"redelivery after (?P<q>.+)")),
    ("redelivery-bare", re.compile(r"redelivery")),
    ("late-ack", re.compile(r"timeout:(?P<subject>\S+) \(late ack\)")),
    ("crash-after-ack", re.compile(r"crash:(?P<subject>\S+) after ack")),
    ("skipped", re.compile(r"skipped:(?P<subject>\S+?)(?: \((?P<q>.+)\))?")),
    ("overflow", re.compile(r"overflow:(?P<subject>\S+?)(?: \((?P<q>.+)\))?")),
    ("dead-letter", re.compile(r"dead-letter:(?P<subject>\S+) \((?P<q>.+)\)")),
    ("dedupe-retention", re.compile(r"dedupe-retention:(?P<subject>\S+) \((?P<q>[^)]+)\).*")),
    ("abort", re.compile(r"abort:(?P<q>.+?)(?: after (?P<subject>.+))?")),
    ("rollback", re.compile(re.escape(ROLLBACK))),
    ("plain", re.compile(r"(?P<kind>[a-z-]+):(?P<subject>\S+)")),
]


def parse(text: str) -> Cause:
    """Read a cause string back into its parts (``Cause("unknown")`` if it is not one)."""
    for kind, pattern in _PATTERNS:
        m = pattern.fullmatch(text)
        if m:
            groups = m.groupdict()
            return Cause(
                groups.get("kind") or kind, groups.get("subject") or "", groups.get("q") or ""
            )
    return Cause(UNKNOWN, "", text)


def describe(text: str, duplicate: bool = False) -> str:
    """A plain-words reading of a cause ("" when there is nothing to add to the cause itself)."""
    c = parse(text)
    if c.kind in ("drop", "partition"):
        a, _, b = c.subject.partition("->")
        what = "dropped a message" if c.kind == "drop" else "cut (partition) a message"
        if duplicate:
            return (
                f"the network {what} on {a}->{b} (an acknowledgement), so {b} sent it again "
                "and another copy was applied"
            )
        return f"the network {what} on {a}->{b} that carried its last copy"
    return _WORDS.get(c.kind, "").format(subject=c.subject, q=c.qualifier)


_WORDS = {
    "duplicate": "the network delivered a message on {subject} twice",
    "redelivery-after-crash": "{subject} crashed after receiving it but before its offset was "
    "committed, so it was delivered again after the restart",
    "redelivery-after-visibility": "it was not deleted within the visibility timeout, so it "
    "became visible and was received again",
    "redelivery": "it was delivered again (to {subject}) before its offset was committed",
    "redelivery-after": "it was delivered again after {q}, before its offset was committed",
    "pause": "{subject} was paused while holding it",
    "abort": "its transaction aborted ({q})",
    "rollback": "the application rolled its transaction back",
    "redelivery-bare": "it was delivered again before its offset was committed",
    "crash-after-ack": "{subject} crashed after committing (acknowledging) it but before "
    "applying its effect",
    "crash": "{subject} crashed while holding its last copy",
    "disk-loss": "{subject} lost its unflushed writes in a crash",
    "skipped": "the committed offset at {subject} moved past it before any consumer received it",
    "late-ack": "an acknowledgement came after {subject}'s request timeout, so the request was "
    "resent",
    "state-lost": "the broker could not recognise a resend: its dedupe state was lost ({subject})",
    "fenced": "{subject} restarted with a new epoch, so its old request was refused",
    "epoch-bump": "the producer gave up a batch and resent the later ones under a new epoch, "
    "which the broker cannot match with what it already stored ({q})",
    "overflow": "the partition {subject} was full",
    "ttl": "it was older than the TTL at {subject}",
    "poison": "its processing failed at {subject}",
    "failure": "its processing failed (transiently) at {subject} on every attempt it was given",
    "dedupe-retention": "the sink had forgotten its processed id ({q} retention), so a "
    "redelivery was applied again",
    "dead-letter": "its processing kept failing, so {subject} dead-lettered it",
}
