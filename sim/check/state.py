"""What the checker knows of one business event, and what it concludes from a history.

The fields of :class:`EventState` are grouped by the part of the checker that writes them
(custody and fates, duplicate attribution); a part may read the fields of a part that runs
before it on the same operation (``fold.py`` fixes the order).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.eids import Checksum
from ..history import causes


@dataclass
class EventState:
    seq: int
    """The history position of its creation."""
    producer: str
    key: int
    partition: int
    created_at: float
    # ---- custody and fates (custody.py)
    copies: int = 1
    effects: int = 0
    first_effect_at: float = float("nan")
    first_effect_seq: int = -1
    deliveries: int = 0
    appends: int = 0
    outcome: str = "unknown"
    last_failure: str | None = None
    zero_cause: str | None = None
    acked_past: bool = False
    expired: bool = False
    dead_lettered: bool = False
    db: bool = False
    """The event is a business transaction in the producer's database (database strategies)."""
    txn: str = ""
    """How that transaction ended: commit, abort, or "" (never decided: it did not commit)."""
    abort: str = ""
    """Why its transaction aborted (the first abort recorded for it)."""
    message_failure: str | None = None
    """The last fault that dropped a message naming it (custody or not: 2PC votes, ...)."""
    refused: str = ""
    """Why the producing service refused it (it was down): it never existed downstream."""
    # ---- duplicate attribution (attribution.py)
    ack_failure: str | None = None
    sink_ack_failure: str | None = None
    sources: tuple[tuple[Any, ...], ...] = ()
    """Per effect: (log copy, the delivery's history position, why it was redelivered)."""
    duplicate_causes: tuple[str, ...] = ()
    state_loss: str = ""
    """Why a broker stored a copy of it without knowing the producer's sequences (the loss of
    its sequence state): a later resend of it cannot be recognised either."""
    append_causes: tuple[tuple[int, str | None], ...] = ()
    """Per append: (its history position, why it is an extra copy in the logs, or None).
    These three are tuples, grown by one per effect or append: most events have one or none,
    and an empty tuple costs nothing."""

    @property
    def committed(self) -> bool:
        return not self.refused and (not self.db or self.txn == "commit")


def fate_of(e: EventState) -> tuple[str, str | None]:
    """An event's fate and its cause, from its state at the end of the history: ``processed``
    if an effect was applied, ``dead_lettered`` or ``expired`` if the broker said so,
    ``pending`` while a copy that could still deliver it remains, ``lost`` otherwise (the
    fault that removed the last copy, or the last fault that hit it); ``refused`` or
    ``aborted`` if it never became a committed business event."""
    if e.refused:
        return "refused", e.refused
    if not e.committed:
        return "aborted", e.abort or causes.aborted("", None)
    if e.effects > 0:
        return "processed", None
    if e.dead_lettered:
        return "dead_lettered", e.last_failure
    if e.copies > 0:
        return "pending", None
    if e.expired:
        return "expired", e.zero_cause or e.last_failure
    return "lost", e.zero_cause or e.last_failure or causes.UNKNOWN


class FateView(Mapping[str, Any]):
    """Event id -> its fate (``part`` 0) or the fate's cause (``part`` 1), computed from the
    events when read: nothing per event is kept besides the events themselves."""

    def __init__(self, events: Mapping[str, EventState], part: int) -> None:
        self._events = events
        self._part = part

    def __getitem__(self, eid: str) -> Any:
        return fate_of(self._events[eid])[self._part]

    def __iter__(self) -> Iterator[str]:
        return iter(self._events)

    def __len__(self) -> int:
        return len(self._events)


@dataclass
class Verdict:
    """What the checker concluded from one history."""

    events: Mapping[str, EventState]
    """Every event, in creation order (a view: settled events are decoded as they are read)."""
    counts: dict[str, float] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    """Broken protocol invariants (``invariants.py``): evidence of a simulator bug."""
    effects: Checksum = field(default_factory=Checksum)
    """A checksum of every event's effects (set with the counts), for cross-checks against
    the sink's own table without a second pass over the events."""

    @property
    def fates(self) -> Mapping[str, str]:
        """Event id -> fate (see :func:`fate_of`; read one event at a time, or use
        :func:`fate_of` on an event at hand rather than decoding it twice)."""
        return FateView(self.events, 0)

    @property
    def causes(self) -> Mapping[str, str | None]:
        """Event id -> the cause of its fate (a loss, expiry, dead letter or abort), or None."""
        return FateView(self.events, 1)
