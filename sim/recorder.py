"""The history: typed operations reported by nodes, network and fault injector, in order.

Nodes say what happened ("producer-0 sent message 17 carrying e-42 to broker-0"); they never
decide what it means. The checker (:mod:`sim.checker`) reads this history and nothing else.

Each row is ``(time, op, node, peer, eids, part, num, info)``:

=============  ==========================================================================
op             meaning of the fields
=============  ==========================================================================
create         ``node`` (a producer) created ``eids[0]``; ``num`` key, ``part`` partition, ``info`` arrival time
send           ``node`` sent message ``num`` to ``peer``; ``part`` 1 if it carries custody; ``info`` its type
dup            the network made copy ``num`` of a message ``node``->``peer``
drop           message ``num`` ``node``->``peer`` was lost; ``info`` is the cause
deliver        message ``num`` from ``peer`` was handed to ``node``
release        ``node`` let go of its in-memory copy of ``eids`` (``info``: acked, sent, gave-up, done)
append         broker ``node`` appended ``eids[0]`` to ``part`` at offset ``num`` (``info``: the message id)
log-loss       broker ``node`` lost the record at ``part``/``num`` (``info``: cause)
offset-reset   broker ``node`` forgot committed offsets of ``part``; committed is now ``num``
commit         broker ``node`` stored committed offset ``num`` for ``part`` (from consumer ``peer``)
sink-commit    the sink stored consumed offset ``num`` of ``part`` (of broker ``peer``) with an effect
txn-refused    the sink refused an offset transaction: stored offsets (``info``) were not the expected
producer-id    coordinator ``node`` gave producer id ``num`` a new epoch (``info``) for ``peer``
dedupe         broker ``node`` acknowledged a resent ``eids[0]`` without appending (original offset ``num``)
fenced         broker ``node`` rejected a request of an older producer epoch (``info``)
reject         broker ``node`` refused a produce request (``info``: out-of-sequence, full, rejected overflow:...)
expire         broker ``node`` discarded ``eids[0]`` at ``part``/``num`` for its age (TTL)
dead-letter    ``eids`` were moved to a dead-letter queue by broker ``node`` (from consumer ``peer``, if any)
delete         queue mode: broker ``node`` deleted ``eids[0]`` (``part``/``num``) for consumer ``peer``
process-fail   consumer ``node`` failed to process ``eids[0]`` (attempt ``num``, ``info``: why)
receive        consumer ``node`` received ``eids[0]`` from ``part``/``num`` (a delivery)
effect         the sink applied the effect of each of ``eids`` (message ``num`` from consumer ``peer``)
outcome        producer ``node`` told its application ``info`` (ok | fail) about ``eids[0]``
crash          ``node`` crashed (``info``: cause); restart / pause / resume likewise
step           ``node`` reached protocol step ``info``
fault-start    fault ``num`` (``info``: kind) began on ``node``; fault-end likewise
=============  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import pandas as pd


class Op(NamedTuple):
    time: float
    op: str
    node: str
    peer: str
    eids: tuple[str, ...]
    part: int
    num: int
    info: str


class Recorder:
    """Appends operations as plain tuples in :class:`Op` field order.

    Plain tuples of strings and numbers are untracked by Python's cyclic garbage collector,
    so a long history does not slow down every collection (named tuples would be tracked).
    """

    def __init__(self, env) -> None:  # type: ignore[no-untyped-def]
        self.env = env
        self.ops: list[tuple[float, str, str, str, tuple[str, ...], int, int, str]] = []

    def __call__(
        self,
        op: str,
        node: str,
        eids: tuple[str, ...] = (),
        peer: str = "",
        part: int = -1,
        num: int = -1,
        info: str = "",
    ) -> None:
        self.ops.append((self.env._now, op, node, peer, eids, part, num, info))


def history_frame(ops: Sequence[tuple[Any, ...]]) -> pd.DataFrame:
    """The history as a frame, one row per (operation, event id); operations without events keep one row."""
    rows: list[tuple[object, ...]] = []
    for seq, (time, op, node, peer, eids, part, num, info) in enumerate(ops):
        if eids:
            for e in eids:
                rows.append((seq, float(time), op, node, peer, e, part, num, info))
        else:
            rows.append((seq, float(time), op, node, peer, None, part, num, info))
    return pd.DataFrame(rows, columns=["seq", "time", "op", "node", "peer", "event", "part", "num", "info"])


def frame_to_ops(frame: pd.DataFrame) -> list[Op]:
    """Rebuild the history from its frame (so a stored trace can be checked again)."""
    ops: list[Op] = []
    for _seq, group in frame.groupby("seq", sort=True):
        first = group.iloc[0]
        eids = tuple(e for e in group["event"] if isinstance(e, str))
        ops.append(Op(float(first["time"]), str(first["op"]), str(first["node"]), str(first["peer"]), eids,
                      int(first["part"]), int(first["num"]), str(first["info"])))
    return ops
