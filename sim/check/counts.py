"""Counts: the summary row of a run, from the fates and from the operations themselves.

:class:`Tally` counts what the fates do not say (sends, recognised resends, fenced requests,
forced log writes, time in doubt); :func:`summary_counts` derives the rest from the events and
checks conservation: ``committed == processed + lost + pending + dead_lettered + expired``.
"""

from __future__ import annotations

from array import array
from collections import Counter

import numpy as np

from ..core.eids import Checksum
from ..history import causes
from ..history.ops import Op, Row
from .part import Part, on
from .settled import EventView
from .state import EventState, Verdict, fate_of

COUNT_COLUMNS = [
    "intended",
    "committed",
    "aborted",
    "aborted_by_faults",
    "refused",
    "published",
    "delivered",
    "processed",
    "effects",
    "duplicates",
    "redeliveries",
    "lost",
    "pending",
    "dead_lettered",
    "expired",
    "phantoms",
    "in_doubt",
    "order_violations",
    "deduplicated",
    "fenced",
    "forced_writes",
]
RATE_COLUMNS = [
    "loss_rate",
    "duplicate_rate",
    "latency_mean",
    "latency_p50",
    "latency_p99",
    "throughput",
    "network_messages",
    "blocked_time",
    "sim_time",
]


class ConservationError(AssertionError):
    """The fate table does not add up: a bug in the simulator or the checker."""


class Tally(Part):
    def __init__(self) -> None:
        self.sends = 0
        self.deduplicated = 0
        self.fenced = 0
        self.forced = 0
        self.doubt_since: dict[tuple[str, str], float] = {}
        """(participant, transaction) -> when it prepared (in doubt since)."""
        self.blocked = 0.0

    @on(Op.SEND)
    def _send(self, seq: int, row: Row) -> None:
        self.sends += 1

    @on(Op.DEDUPE)
    def _dedupe(self, seq: int, row: Row) -> None:
        self.deduplicated += 1

    @on(Op.FENCED)
    def _fenced(self, seq: int, row: Row) -> None:
        self.fenced += 1

    @on(Op.FORCE_LOG)
    def _forced(self, seq: int, row: Row) -> None:
        self.forced += 1

    @on(Op.PREPARED)
    def _prepared(self, seq: int, row: Row) -> None:
        self.doubt_since[(row[2], row[4][0])] = row[0]

    @on(Op.RESOLVED)
    def _resolved(self, seq: int, row: Row) -> None:
        since = self.doubt_since.pop((row[2], row[4][0]), None)
        if since is not None:
            self.blocked += row[0] - since

    def counts(self, sim_time: float) -> dict[str, float]:
        return {
            "deduplicated": self.deduplicated,
            "fenced": self.fenced,
            "forced_writes": self.forced,
            "in_doubt": len({txn for _, txn in self.doubt_since}),
            "blocked_time": self.blocked + sum(sim_time - t for t in self.doubt_since.values()),
        }


def summary_counts(v: Verdict, sends: int, duration: float, sim_time: float) -> dict[str, float]:
    """The summary row, in one pass over the events in creation order (each settled event is
    decoded once and dropped: nothing here holds every event, and what is kept per applied
    event for the latency and the order check is a few machine numbers)."""
    n: Counter[str] = Counter()
    latencies = array("d")
    stamps = Stamps()
    effects = v.effects = Checksum()
    events = v.events
    coded = (
        events.coded()
        if isinstance(events, EventView)
        else ((-1, eid, e) for eid, e in events.items())
    )
    for code, eid, e in coded:
        if e.effects:
            effects.add(eid, e.effects, code)
        n["intended"] += 1
        fate, reason = fate_of(e)
        n[fate] += 1
        if fate == "aborted" and causes.is_fault_abort(reason):
            n["aborted_by_faults"] += 1
        if not e.committed:  # rates and effects are about committed events
            n["phantoms"] += e.effects > 0
            continue
        n["committed"] += 1
        n["effects"] += e.effects
        n["delivered"] += e.deliveries > 0
        n["deliveries"] += e.deliveries
        n["published"] += e.appends > 0
        if e.effects > 0:
            latencies.append(e.first_effect_at - e.created_at)
            stamps.add(e)
    return _row(n, np.frombuffer(latencies), stamps.violations(), sends, duration, sim_time)


def _row(
    n: Counter[str],
    latencies: np.ndarray,
    order_violations: int,
    sends: int,
    duration: float,
    sim_time: float,
) -> dict[str, float]:
    committed, processed, effects = n["committed"], n["processed"], n["effects"]
    c: dict[str, float] = {
        "intended": n["intended"],
        "committed": committed,
        "aborted": n["intended"] - committed - n["refused"],
        "aborted_by_faults": n["aborted_by_faults"],
        "refused": n["refused"],
        "published": n["published"],
        "delivered": n["delivered"],
        "processed": processed,
        "effects": effects,
        "duplicates": effects - processed,
        "redeliveries": n["deliveries"] - n["delivered"],
        "lost": n["lost"],
        "pending": n["pending"],
        "dead_lettered": n["dead_lettered"],
        "expired": n["expired"],
        "phantoms": n["phantoms"],
        "in_doubt": 0,
        "order_violations": order_violations,
        "deduplicated": 0,
        "fenced": 0,
        "forced_writes": 0,
        "loss_rate": n["lost"] / committed if committed else float("nan"),
        "duplicate_rate": (effects - processed) / committed if committed else float("nan"),
        **_latency(latencies),
        "throughput": processed / duration,
        "network_messages": sends,
        "blocked_time": 0.0,
        "sim_time": sim_time,
    }
    accounted = c["processed"] + c["lost"] + c["pending"] + c["dead_lettered"] + c["expired"]
    if c["committed"] != accounted:
        raise ConservationError(
            f"conservation violated: committed={c['committed']} but "
            f"processed+lost+pending+dead_lettered+expired={accounted}"
        )
    return c


def _latency(latencies: np.ndarray) -> dict[str, float]:
    if not len(latencies):
        return {
            "latency_mean": float("nan"),
            "latency_p50": float("nan"),
            "latency_p99": float("nan"),
        }
    return {
        "latency_mean": float(latencies.mean()),
        "latency_p50": float(np.quantile(latencies, 0.5)),
        "latency_p99": float(np.quantile(latencies, 0.99)),
    }


class Stamps:
    """What the order check needs of each applied event, in creation order (the order of the
    history's creations), as columns of machine numbers: its producer and key (one number),
    the history position of its first effect and its creation time."""

    def __init__(self) -> None:
        self._producers: dict[str, int] = {}
        self.stream = array("q")
        self.first = array("q")
        self.created = array("d")

    def add(self, e: EventState) -> None:
        producers = self._producers
        index = producers.setdefault(e.producer, len(producers))
        self.stream.append((index << 40) | e.key)  # (keys are below 2**40: config limits)
        self.first.append(e.first_effect_seq)
        self.created.append(e.created_at)

    def violations(self) -> int:
        """Events whose first effect came after the first effect of a later-created event of
        the same producer and key (order is only promised per producer: two producers' events
        of a key have no order between them)."""
        n = len(self.first)
        if n < 2:
            return 0
        created = np.frombuffer(self.created)
        # creation order as a rank: by creation time, then history position (the events come
        # in history order: when the times never decrease the rank is the position, and a
        # stable sort by time breaks ties by position)
        if np.all(created[1:] >= created[:-1]):
            rank = np.arange(n, dtype=np.int64)
        else:
            rank = np.empty(n, np.int64)
            rank[np.argsort(created, kind="stable")] = np.arange(n)
        # per (producer, key), in the order of the first effects: an event created before the
        # latest-created one applied ahead of it is a violation
        stream = np.frombuffer(self.stream, np.int64)
        by = np.lexsort((np.frombuffer(self.first, np.int64), stream))
        # (each step frees what it no longer needs: this runs over every applied event)
        lifted = rank[by]
        del rank
        keys = stream[by]
        del by
        group = np.zeros(n, np.int64)
        np.cumsum(keys[1:] != keys[:-1], out=group[1:])
        del keys
        group *= n
        lifted += group  # groups never mix in the running max
        del group
        latest = np.maximum.accumulate(lifted)
        return int(np.count_nonzero(lifted[1:] < latest[:-1]))
