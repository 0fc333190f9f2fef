"""The sink: the database where consumers apply effects.

Each transaction is atomic and durable: all its effects are applied together, and a crash
keeps them. The effects table is the sink's own state; the checker counts effects from the
history, and the run verifies that the two agree. Transactional consumers store their consumed
offsets here too, in the same transaction as the effect, guarded by the offset they expect.
"""

from __future__ import annotations

from ..core.eids import IdMap, IdTimes
from ..history.ops import Op
from .context import Context
from .messages import (
    Envelope,
    OffsetFetchResponse,
    OffsetMove,
    SinkAck,
    SinkOffsetFetch,
    SinkTxn,
)
from .node import Node

# (Op's members read once: see sim/history/ops.py, Reading a member)
_EFFECT, _SINK_COMMIT = Op.EFFECT, Op.SINK_COMMIT


class Sink(Node):
    """The database where effects are applied (durable: a crash keeps everything)."""

    role = "sink"

    def __init__(self, name: str, ctx: Context) -> None:
        super().__init__(name, ctx)
        self.effects = IdMap()  # durable: event -> effects applied
        self.offsets: dict[int, tuple[int, int]] = {}
        """Durable: (offset, leader epoch) stored per partition by transactional consumers."""
        self.processed_ids = IdTimes()
        """Durable: the idempotent consumer's processed ids, and when each was recorded (eight
        bytes an id: a day's ids as a dict of strings and floats took about 140)."""
        self.on(SinkTxn, self._transaction)
        self.on(SinkOffsetFetch, self._offset_fetch)

    def _offset_fetch(self, env: Envelope) -> None:
        msg = env.payload
        assert isinstance(msg, SinkOffsetFetch)
        stored = {p: self.offsets.get(p, (0, 0)) for p in msg.partitions}
        offsets = {p: o for p, (o, _e) in stored.items()}
        epochs = {p: e for p, (_o, e) in stored.items()}
        self.send(env.src, OffsetFetchResponse(msg.request, offsets, epochs))

    def _transaction(self, env: Envelope) -> None:
        msg = env.payload
        assert isinstance(msg, SinkTxn)
        eids = tuple([r.eid for r in msg.records])
        if msg.offsets is not None:
            stored = {p: self.offsets.get(p, (0, 0)) for p in msg.offsets}
            if _moved(stored, msg.offsets):
                # already applied (a resent transaction) or a stale consumer: change nothing
                self._refuse(env, msg, eids, stored)
                return
        if msg.dedupe:  # same transaction: check and record the processed ids with the effects
            eids = self._dedupe(eids, msg.retention, env)
        for eid in eids:
            self.effects.add(eid)
        if eids:
            self.record(_EFFECT, self.name, eids, peer=env.src, num=env.msgid)
        if msg.offsets is not None:
            for p, move in sorted(msg.offsets.items()):
                self.offsets[p] = move.new
                self.record(
                    _SINK_COMMIT,
                    self.name,
                    peer=move.broker,
                    part=p,
                    num=move.new[0],
                    detail=move.new[1],
                )
        held = dict(self.offsets) if msg.offsets is not None else None
        self.send(env.src, SinkAck(msg.request, eids, held))

    def _refuse(
        self,
        env: Envelope,
        msg: SinkTxn,
        eids: tuple[str, ...],
        stored: dict[int, tuple[int, int]],
    ) -> None:
        """Change nothing, and tell the consumer what the sink holds (``stored``). (A method of
        its own, as :func:`_moved` is a function: a generator expression is a closure, which
        a ``cpdef`` method such as :meth:`_transaction` cannot hold in the compiled build.)"""
        self.record(
            Op.TXN_REFUSED,
            self.name,
            eids,
            peer=env.src,
            num=env.msgid,
            detail=tuple((p, o, e) for p, (o, e) in sorted(stored.items())),
        )
        self.send(env.src, SinkAck(msg.request, (), stored))

    def _dedupe(
        self, eids: tuple[str, ...], retention: float | None, env: Envelope
    ) -> tuple[str, ...]:
        """The events not processed yet; an id older than ``retention`` is forgotten (and its
        event applied again)."""
        now = float(self.env._now)
        known = self.processed_ids
        if retention is not None:
            expired = tuple(e for e in eids if e in known and now - known[e] > retention)
            if expired:
                self.record(Op.DEDUPE_FORGOT, self.name, expired, peer=env.src, detail=retention)
                for e in expired:
                    del known[e]
        seen = tuple(e for e in eids if e in known)
        if seen:
            self.record(Op.DEDUPE_SKIP, self.name, seen, peer=env.src, num=env.msgid)
        fresh = tuple(e for e in eids if e not in known)
        for e in fresh:
            known[e] = now
        return fresh

    def stored_offsets(self) -> dict[int, int]:
        """The consumed offsets it holds (for the lag probe)."""
        return {p: o for p, (o, _e) in self.offsets.items()}


def _moved(stored: dict[int, tuple[int, int]], offsets: dict[int, OffsetMove]) -> bool:
    """Whether an offset a transaction moves is no longer where it expects it (it was
    applied already, or its consumer is stale)."""
    return any(stored[p] != move.expected for p, move in offsets.items())
