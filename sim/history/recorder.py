"""The recorder: where nodes, the network and the fault injector report operations.

Each operation is appended as a plain tuple in :data:`~sim.history.ops.FIELDS` order and,
when a listener is attached (the checker, folding online), handed to it at once. Whether the
tuples are also kept is the trace level's business: ``full`` keeps the whole history so it
can be stored and checked again offline.

Plain tuples of strings and numbers are untracked by Python's cyclic garbage collector, so a
long history does not slow down every collection.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import pandas as pd

from .ops import Op, Row, decode_detail, encode_detail

Listener = Callable[[Row], None]


class Clock(Protocol):
    """What the recorder reads the time from (a ``simpy.Environment``)."""

    _now: float


class RecordOp(Protocol):
    """How an operation is reported: :meth:`Recorder.op` (or anything called the same way)."""

    def __call__(
        self,
        op: Op,
        node: str,
        eids: tuple[str, ...] = (),
        peer: str = "",
        part: int = -1,
        num: int = -1,
        detail: Any = "",
    ) -> None: ...


class Recorder:
    """Appends operations (``keep``) and hands each to ``listener`` as it happens.

    The model reports through the bound method :meth:`op` (calling the recorder itself does the
    same, but Python calls an object's ``__call__`` several times slower than a bound method,
    and a run reports millions of operations)."""

    def __init__(self, clock: Clock, keep: bool = True, listener: Listener | None = None) -> None:
        self.clock = clock
        self.ops: list[Row] = []
        self.keep = keep
        self.listener = listener
        self._emit = _emitter(self.ops if keep else None, listener)

    def op(
        self,
        op: Op,
        node: str,
        eids: tuple[str, ...] = (),
        peer: str = "",
        part: int = -1,
        num: int = -1,
        detail: Any = "",
    ) -> None:
        self._emit((self.clock._now, op, node, peer, eids, part, num, detail))

    __call__ = op


def _emitter(ops: list[Row] | None, listener: Listener | None) -> Listener:
    """What to do with each operation, decided once: keep it, hand it on, or both."""
    if ops is not None and listener is not None:
        keep = ops.append

        def both(row: Row) -> None:
            keep(row)
            listener(row)

        return both
    if listener is not None:
        return listener
    if ops is not None:
        return ops.append
    return _ignore


def _ignore(row: Row) -> None:
    """No one wants the operation."""


FRAME_COLUMNS = ["seq", "time", "op", "node", "peer", "event", "part", "num", "detail"]


def history_frame(ops: Sequence[Row]) -> pd.DataFrame:
    """The history as a frame, one row per (operation, event id); operations without events
    keep one row with no event. ``detail`` is encoded as text (:func:`encode_detail`)."""
    rows: list[tuple[object, ...]] = []
    for seq, (time, op, node, peer, eids, part, num, detail) in enumerate(ops):
        text = encode_detail(op, detail)
        name = str(op)
        for e in eids or (None,):
            rows.append((seq, float(time), name, node, peer, e, part, num, text))
    return pd.DataFrame(rows, columns=FRAME_COLUMNS)


def frame_to_ops(frame: pd.DataFrame) -> list[Row]:
    """Rebuild the history from its frame (so a stored trace can be checked again)."""
    ops: list[Row] = []
    cols = [frame[c].tolist() for c in FRAME_COLUMNS]
    current = -1
    for seq, time, op, node, peer, event, part, num, text in zip(*cols, strict=True):
        if seq != current:
            current = seq
            name = Op(op)
            ops.append(
                (
                    float(time),
                    name,
                    str(node),
                    str(peer) if isinstance(peer, str) else "",
                    (),
                    int(part),
                    int(num),
                    decode_detail(name, str(text)),
                )
            )
        if isinstance(event, str):
            t, o, n, p, eids, pa, nu, d = ops[-1]
            ops[-1] = (t, o, n, p, (*eids, event), pa, nu, d)
    return ops
