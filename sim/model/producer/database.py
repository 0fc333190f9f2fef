"""The producing service's own database: business rows, the outbox table, 2PC prepared writes.

It is durable (a crash of the service keeps it) and shared explicitly: the producer writes
it, the outbox relay reads and marks its outbox rows, and it is a 2PC participant.
"""

from __future__ import annotations

from collections.abc import Callable

import simpy

from ...core.eids import IdMap
from ...history import causes
from ...history.ops import Op
from ...history.recorder import RecordOp
from ..messages import Record


class BusinessRows:
    """Business rows: event id -> ``open``, ``committed`` or ``aborted``. The open ones (the
    transactions in progress, a few) are a set; the others a byte an event in an
    :class:`~sim.core.eids.IdMap` (a day of rows as a dict of strings took about 140)."""

    _STATES = ("committed", "aborted")

    def __init__(self) -> None:
        self._open: set[str] = set()
        self._closed = IdMap()

    def __setitem__(self, eid: str, state: str) -> None:
        if state == "open":
            self._open.add(eid)
            self._closed.pop(eid, None)
        else:
            self._open.discard(eid)
            self._closed[eid] = self._STATES.index(state)

    def get(self, eid: str) -> str | None:
        if eid in self._open:
            return "open"
        code = self._closed.get(eid)
        return None if code is None else self._STATES[code]

    def __len__(self) -> int:
        return len(self._open) + len(self._closed)

    def open_ids(self) -> list[str]:
        """The open rows' ids, sorted."""
        return sorted(self._open)


class ProducerDatabase:
    def __init__(self, owner: str, record: RecordOp) -> None:
        self.owner = owner
        self.record = record
        self.rows = BusinessRows()
        """Business rows: event id -> open | committed | aborted."""
        self.outbox: list[Record] = []
        """Outbox rows not yet marked sent, in commit order."""
        self.outbox_written: Callable[[], None] | None = None
        """Called when an outbox row commits (a relay tailing the log listens here)."""
        self.open_txns: dict[str, simpy.Event] = {}
        """2PC: open transactions waiting for the coordinator's prepare (volatile)."""
        self.aborting: dict[str, bool] = {}
        """2PC: whether the application will roll the transaction back (volatile)."""

    def end(self, eid: str, commit: bool, why: str = "") -> None:
        """Commit or roll back the business transaction of ``eid``."""
        self.rows[eid] = "committed" if commit else "aborted"
        self.record(Op.TXN_COMMIT if commit else Op.TXN_ABORT, self.owner, (eid,), detail=why)

    def write_outbox(self, rec: Record) -> None:
        """The outbox row, in the same local transaction as the (committed) business row."""
        self.outbox.append(rec)
        self.record(Op.OUTBOX_WRITE, self.owner, (rec.eid,), part=rec.partition)

    def mark_sent(self, eids: set[str]) -> None:
        self.outbox[:] = [r for r in self.outbox if r.eid not in eids]

    def recover(self, prepared: dict[str, Record]) -> None:
        """After a crash: volatile transaction state is gone, and open transactions that were
        not prepared for 2PC roll back."""
        self.open_txns, self.aborting = {}, {}
        for eid in self.rows.open_ids():
            if eid not in prepared:
                self.end(eid, False, causes.CRASHED_OPEN + self.owner)

    # ------------------------------------------------------------------ 2PC participant

    def vote(self, rec: Record) -> bool:
        ev = self.open_txns.pop(rec.eid, None)
        if ev is not None and not ev.triggered:
            ev.succeed()
        return self.rows.get(rec.eid) == "open" and not self.aborting.get(rec.eid, True)

    def apply(self, rec: Record, commit: bool) -> None:
        self.rows[rec.eid] = "committed" if commit else "aborted"
