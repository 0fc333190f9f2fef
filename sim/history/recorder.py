"""The recorder: where nodes, the network and the fault injector report operations.

Each operation is a plain tuple in :data:`~sim.history.ops.FIELDS` order. When a listener is
attached (the checker, folding online) the operations are handed to it in order, a batch at a
time (every :data:`BATCH` operations, and whatever is left at :meth:`Recorder.flush`): nothing
reads the checker while the model runs, so it folds a batch in one tight loop instead of being
called once per operation. Whether the tuples are also kept is the trace level's business:
``full`` keeps the whole history so it can be stored and checked again offline.

Plain tuples of strings and numbers are untracked by Python's cyclic garbage collector, so a
long history does not slow down every collection.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import pandas as pd

from ..core.now import Now
from .ops import Op, Row, decode_detail, encode_detail

Listener = Callable[[list[Row]], None]
"""Takes a batch of operations, in history order."""

BATCH = 4096
"""Operations handed to the listener at a time."""


class RecordOp(Protocol):
    """How an operation is reported: :attr:`Recorder.op` (or anything called the same way)."""

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
    """Appends operations (``keep``) and hands them to ``listener`` in batches.

    The model reports through :attr:`op`, a bound method of a :class:`Reporter` (calling the
    recorder itself does the same, but Python calls an object's ``__call__`` several times
    slower, and a run reports millions of operations). Call :meth:`flush` before reading what
    the listener concluded."""

    def __init__(self, clock: Now, keep: bool = True, listener: Listener | None = None) -> None:
        self.clock = clock
        self.ops: list[Row] = []
        self.keep = keep
        self.listener = listener
        self._batch: list[Row] = []
        self.op: RecordOp = self._reporter()

    def _reporter(self) -> RecordOp:
        """The function that reports an operation, decided once: keep it, batch it, or both."""
        reporter = Reporter(self.clock, self.ops, self._batch, self.flush)
        if self.listener is None:
            return reporter.keep_only if self.keep else _ignore
        return reporter.keep_and_batch if self.keep else reporter.batch_only

    def flush(self) -> None:
        """Hand the operations not yet handed over to the listener."""
        if self._batch and self.listener is not None:
            self.listener(self._batch)  # (the list is reused: the listener keeps no reference)
            self._batch.clear()

    def __call__(
        self,
        op: Op,
        node: str,
        eids: tuple[str, ...] = (),
        peer: str = "",
        part: int = -1,
        num: int = -1,
        detail: Any = "",
    ) -> None:
        self.op(op, node, eids, peer, part, num, detail)


class Reporter:
    """Stamps each operation with the time and hands it on: to ``kept`` and, through ``batch``,
    to the listener (``flush`` every :data:`BATCH` operations). Its methods are what
    :attr:`Recorder.op` may be; an extension type in the compiled build, whose methods read
    the time from the clock's C struct."""

    __slots__ = ("clock", "kept", "batch", "flush")

    def __init__(
        self, clock: Now, kept: list[Row], batch: list[Row], flush: Callable[[], None]
    ) -> None:
        self.clock = clock
        self.kept = kept
        self.batch = batch
        self.flush = flush

    def keep_only(self, op, node, eids=(), peer="", part=-1, num=-1, detail=""):  # type: ignore[no-untyped-def]
        self.kept.append((self.clock._now, op, node, peer, eids, part, num, detail))

    def keep_and_batch(self, op, node, eids=(), peer="", part=-1, num=-1, detail=""):  # type: ignore[no-untyped-def]
        row = (self.clock._now, op, node, peer, eids, part, num, detail)
        self.kept.append(row)
        batch = self.batch
        batch.append(row)
        if len(batch) >= BATCH:
            self.flush()

    def batch_only(self, op, node, eids=(), peer="", part=-1, num=-1, detail=""):  # type: ignore[no-untyped-def]
        batch = self.batch
        batch.append((self.clock._now, op, node, peer, eids, part, num, detail))
        if len(batch) >= BATCH:
            self.flush()


def _ignore(*_: Any, **__: Any) -> None:
    """No one wants the operation (a :class:`RecordOp` that does nothing)."""


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
