"""The checker: a pure function of the history that decides each business event's fate.

It follows every copy of every event through the history (the producer's memory, custody
messages in flight, partition logs up to the committed offset, consumer memory) and the
effects in the sink. At the end an event is ``processed`` if its effect was applied,
``pending`` if a copy is still held somewhere that could deliver it, and ``lost`` otherwise;
the loss cause is the fault that removed the last copy (or, when the last copy was let go
on purpose, the last fault that hit the event). Every effect beyond the first gets a
duplicate cause the same way: the extra log copy it came from (a network duplicate, or a
producer resend because an acknowledgement was lost), the redelivery it came from (a
consumer crash before committing), or the sink retry it came from (a lost sink
acknowledgement). It knows the protocol's vocabulary, not the strategies: nothing here asks
which strategy ran.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

MESSAGE_COLUMNS = [
    "id", "producer", "key", "partition", "created_at", "committed", "producer_outcome",
    "fate", "effects", "deliveries", "first_effect_at", "latency", "loss_cause", "duplicate_cause",
]
COUNT_COLUMNS = [
    "intended", "committed", "aborted", "published", "delivered", "processed", "effects",
    "duplicates", "redeliveries", "lost", "pending", "dead_lettered", "expired", "phantoms",
    "in_doubt", "order_violations", "deduplicated", "fenced", "forced_writes",
]
RATE_COLUMNS = [
    "loss_rate", "duplicate_rate", "latency_mean", "latency_p50", "latency_p99", "throughput",
    "network_messages", "blocked_time", "sim_time",
]


class ConservationError(AssertionError):
    """The fate table does not add up: a bug in the simulator or the checker."""


@dataclass(slots=True)
class EventState:
    seq: int
    producer: str
    key: int
    partition: int
    created_at: float
    copies: int = 1
    effects: int = 0
    first_effect_at: float = float("nan")
    first_effect_seq: int = -1
    deliveries: int = 0
    appended: bool = False
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

    @property
    def committed(self) -> bool:
        return not self.db or self.txn == "commit"
    ack_failure: str | None = None
    sink_ack_failure: str | None = None
    sources: list[tuple[Any, ...]] = field(default_factory=list)
    duplicate_causes: list[str] = field(default_factory=list)


@dataclass
class Verdict:
    """What the checker concluded from one history."""

    events: dict[str, EventState]
    fates: dict[str, str]
    causes: dict[str, str | None]
    counts: dict[str, float] = field(default_factory=dict)


def check(ops: Sequence[tuple[Any, ...]], duration: float, sim_time: float) -> Verdict:
    """Fates, causes and the summary counts of one history (a list of :class:`~sim.recorder.Op` rows)."""
    ev: dict[str, EventState] = {}
    mem: dict[str, Counter[str]] = defaultdict(Counter)
    net: dict[int, tuple[str, ...]] = {}
    logs: dict[tuple[str, int], dict[int, str]] = defaultdict(dict)
    low: dict[tuple[str, int], int] = defaultdict(int)
    sends = 0
    dedupes = fenced = forced = 0
    outbox: dict[str, Counter[str]] = defaultdict(Counter)  # producer database -> outbox rows
    doubt_since: dict[tuple[str, str], float] = {}  # (participant, txn) -> prepared at
    blocked = 0.0
    dup_links: dict[int, str] = {}  # message copies made by the network -> link
    reply_kinds: dict[int, str] = {}  # produce-ack / sink-ack message ids -> kind
    append_cause: dict[tuple[str, int, int], str | None] = {}  # log copy -> why it exists twice
    receivers: dict[tuple[str, int, int], tuple[str, int]] = {}  # log copy -> last (consumer, crash count)
    crashes: Counter[str] = Counter()
    # consumer -> eid -> the deliveries it holds, oldest first (it processes them in that order)
    holding: dict[str, dict[str, deque[tuple[Any, ...]]]] = defaultdict(dict)
    # deliveries held by a consumer when it crashed: its sink transactions may still land
    orphans: dict[tuple[str, str], tuple[Any, ...]] = {}

    def lose(e: EventState, n: int, cause: str | None) -> None:
        e.copies -= n
        if cause is not None:
            e.last_failure = cause
        if e.copies <= 0:
            e.zero_cause = cause

    for seq, (time, op, node, peer, eids, part, num, info) in enumerate(ops):
        if op == "create":
            eid = eids[0]
            ev[eid] = EventState(seq, node, num, part, float(info) if info else time)
            mem[node][eid] += 1
        elif op in ("send", "dup"):  # a message (or a copy the network made) is in flight
            if op == "send":
                sends += 1
            else:
                dup_links[num] = f"duplicate:{node}->{peer}"
            if info in ("produce-ack", "sink-ack"):
                reply_kinds[num] = info
            if part == 1:  # it carries custody: one more copy of each of its events
                net[num] = eids
                for eid in eids:
                    ev[eid].copies += 1
        elif op == "drop":
            kind = reply_kinds.get(num)
            if kind is not None:
                for eid in eids:
                    if kind == "produce-ack":
                        ev[eid].ack_failure = info
                    else:
                        ev[eid].sink_ack_failure = info
            carried = net.pop(num, None)
            if carried:
                for eid in carried:
                    lose(ev[eid], 1, info)
        elif op == "deliver":
            carried = net.pop(num, None)
            if carried:
                for eid in carried:
                    lose(ev[eid], 1, None)
        elif op == "release":
            held_here = holding.get(node)
            for eid in eids:
                if held_here and held_here.get(eid):
                    held_here[eid].popleft()
                if mem[node][eid] > 0:
                    mem[node][eid] -= 1
                    lose(ev[eid], 1, None)
        elif op == "append":
            eid = eids[0]
            e = ev[eid]
            logs[(node, part)][num] = eid
            e.copies += 1
            why = None
            if e.appended:  # a second copy in the logs: a network duplicate or a producer resend
                words = info.split()
                msgid = int(words[0]) if words else -1
                lost_state = next((w.removeprefix("state-lost:") for w in words if w.startswith("state-lost:")), "")
                why = dup_links.get(msgid) or e.ack_failure or f"timeout:{peer} (late ack)"
                if lost_state:  # an idempotent resend the broker could not recognise
                    why = f"{lost_state} lost the dedupe state (resent after {why})"
            append_cause[(node, part, num)] = why
            e.appended = True
        elif op == "log-loss":
            log = logs[(node, part)]
            if num in log:
                lose(ev[log.pop(num)], 1, info)
        elif op == "offset-reset":
            low[(node, part)] = num
        elif op in ("commit", "sink-commit"):
            where = (node, part) if op == "commit" else (peer, part)
            log = logs[where]
            for offset in range(low[where], num):
                if offset in log:
                    e = ev[log.pop(offset)]
                    e.acked_past = True
                    if e.effects == 0:  # committed past a record whose effect is not (yet) applied
                        if e.last_failure is None:
                            e.last_failure = f"skipped:{node}/p{part}" + (f" (committed by {peer} before processing)" if e.deliveries else "")
                        elif e.last_failure.startswith("crash:consumer") and not e.last_failure.endswith("after ack"):
                            e.last_failure += " after ack"  # its commit landed after the crash
                    lose(e, 1, None)
            low[where] = num
        elif op == "receive":
            eid = eids[0]
            e = ev[eid]
            e.deliveries += 1
            e.copies += 1
            mem[node][eid] += 1
            copy_key = (peer, part, num)
            before = receivers.get(copy_key)
            redelivery = None
            if before is not None:
                who, crash_count = before
                if crashes[who] > crash_count:
                    redelivery = f"redelivery after crash:{who}"
                elif info.startswith("receive "):  # queue mode: not deleted in time
                    redelivery = f"redelivery after visibility timeout ({who})"
                else:
                    redelivery = f"redelivery to {node}"
            receivers[copy_key] = (node, crashes[node])
            holding[node].setdefault(eid, deque()).append((copy_key, seq, redelivery))
        elif op == "effect":
            for eid in eids:
                e = ev[eid]
                e.effects += 1
                queue = holding.get(peer, {}).get(eid)
                source = queue[0] if queue else orphans.get((peer, eid), (None, -1, None))
                if e.effects == 1:
                    e.first_effect_at = time
                    e.first_effect_seq = seq
                elif num in dup_links:  # the network delivered the sink transaction twice
                    e.duplicate_causes.append(dup_links[num])
                else:
                    e.duplicate_causes.append(_duplicate_cause(e, source, append_cause))
                e.sources.append(source)
        elif op == "crash":
            crashes[node] += 1
            for eid, queue in holding.pop(node, {}).items():
                if queue:
                    orphans[(node, eid)] = queue[-1]
            held = mem.pop(node, None)
            if held:
                for eid, n in held.items():
                    if n > 0:
                        e = ev[eid]
                        cause = info + (" after ack" if e.acked_past and node.startswith("consumer") else "")
                        lose(e, n, cause)
        elif op == "reject":
            if "overflow:" in info and info.startswith("rejected"):
                for eid in eids:
                    ev[eid].last_failure = info.split()[1]
        elif op == "delete":  # queue mode: the consumer's acknowledgement removes the message
            log = logs[(node, part)]
            if num in log:
                e = ev[log.pop(num)]
                e.acked_past = True
                if e.effects == 0 and e.last_failure is None:
                    e.last_failure = f"skipped:{node}/p{part} (deleted by {peer} before processing)"
                lose(e, 1, None)
        elif op == "dead-letter":
            for eid in eids:
                e = ev[eid]
                e.dead_lettered = True
                e.last_failure = f"dead-letter:{node} ({info})"
            log = logs[(node, part)]
            if node == peer or not peer:  # the broker moved it out of the queue itself
                if num in log and log[num] in eids:
                    lose(ev[log.pop(num)], 1, None)
            else:  # a consumer published it to the dead-letter topic: its custody message ended here
                pass
        elif op == "process-fail":  # processing failed (a poison event)
            for eid in eids:
                ev[eid].last_failure = f"poison:{node}"
        elif op == "expire":  # discarded by the broker for its age: never applied
            log = logs[(node, part)]
            if num in log:
                e = ev[log.pop(num)]
                e.expired = True
                lose(e, 1, info)
        elif op == "txn-begin":
            ev[eids[0]].db = True
        elif op == "txn-commit":
            ev[eids[0]].txn = "commit"
        elif op == "txn-abort":
            ev[eids[0]].txn = "abort"
        elif op == "outbox-write":  # a durable copy in the producer's database until marked sent
            outbox[node][eids[0]] += 1
            ev[eids[0]].copies += 1
        elif op == "outbox-mark":
            for eid in eids:
                if outbox[peer][eid] > 0:
                    outbox[peer][eid] -= 1
                    lose(ev[eid], 1, None)
        elif op == "prepared":  # 2PC: the participant holds the prepared write, in doubt
            doubt_since[(node, eids[0])] = time
            if node.startswith("broker"):
                ev[eids[0]].copies += 1
        elif op == "resolved":
            since = doubt_since.pop((node, eids[0]), None)
            if since is not None:
                blocked += time - since
                if node.startswith("broker"):
                    lose(ev[eids[0]], 1, None)
        elif op == "force-log":
            forced += 1
        elif op == "dedupe":
            dedupes += 1
        elif op == "fenced":  # a request of a crashed producer's old epoch, refused
            fenced += 1
            for eid in eids:
                ev[eid].last_failure = f"crash:{peer} (its old request fenced by {node})"
        elif op == "outcome":
            ev[eids[0]].outcome = info

    fates: dict[str, str] = {}
    causes: dict[str, str | None] = {}
    for eid, e in ev.items():
        if not e.committed:
            fates[eid], causes[eid] = "aborted", None
        elif e.effects > 0:
            fates[eid], causes[eid] = "processed", None
        elif e.dead_lettered:
            fates[eid], causes[eid] = "dead_lettered", e.last_failure
        elif e.copies > 0:
            fates[eid], causes[eid] = "pending", None
        elif e.expired:
            fates[eid], causes[eid] = "expired", e.zero_cause or e.last_failure
        else:
            fates[eid] = "lost"
            causes[eid] = e.zero_cause or e.last_failure or "unknown"
    verdict = Verdict(ev, fates, causes)
    verdict.counts = _counts(verdict, sends, duration, sim_time)
    verdict.counts["deduplicated"] = dedupes
    verdict.counts["fenced"] = fenced
    verdict.counts["forced_writes"] = forced
    verdict.counts["in_doubt"] = len({txn for _, txn in doubt_since})
    verdict.counts["blocked_time"] = blocked + sum(sim_time - since for since in doubt_since.values())
    return verdict


def _duplicate_cause(e: EventState, source: tuple[Any, ...], append_cause: dict[Any, str | None]) -> str:
    """Why this effect repeats an earlier one of the same event."""
    copy_key, receive_seq, redelivery = source
    for _key, earlier_seq, _ in e.sources:
        if earlier_seq == receive_seq:  # the same delivery applied twice: the consumer retried the sink
            return e.sink_ack_failure or "timeout:sink (late ack)"
    if any(earlier_key == copy_key for earlier_key, _, _ in e.sources):
        return redelivery or "redelivery"
    # a different copy in the logs: whichever of the copies was the extra one says why
    for key in (copy_key, *(k for k, _, _ in e.sources)):
        why = append_cause.get(key)
        if why:
            return why
    return "unknown"


def _counts(v: Verdict, sends: int, duration: float, sim_time: float) -> dict[str, float]:
    every = v.events
    fate_n = Counter(v.fates.values())
    intended = len(every)
    ev = {eid: e for eid, e in every.items() if e.committed}  # rates and effects are about these
    committed = len(ev)
    processed = fate_n["processed"]
    effects = sum(e.effects for e in ev.values())
    delivered = sum(1 for e in ev.values() if e.deliveries > 0)
    latencies = np.array([e.first_effect_at - e.created_at for e in ev.values() if e.effects > 0])
    c: dict[str, float] = {
        "intended": intended,
        "committed": committed,
        "aborted": intended - committed,
        "published": sum(1 for e in ev.values() if e.appended),
        "delivered": delivered,
        "processed": processed,
        "effects": effects,
        "duplicates": effects - processed,
        "redeliveries": sum(e.deliveries for e in ev.values()) - delivered,
        "lost": fate_n["lost"],
        "pending": fate_n["pending"],
        "dead_lettered": fate_n["dead_lettered"],
        "expired": fate_n["expired"],
        "phantoms": sum(1 for e in every.values() if not e.committed and e.effects > 0),
        "in_doubt": 0,
        "order_violations": order_violations(ev),
        "deduplicated": 0,  # filled in by check(): resent requests the broker recognised
        "fenced": 0,  # requests of an older producer epoch the broker refused
        "forced_writes": 0,  # 2PC: forced (synchronous) log writes of coordinator and participants
        "loss_rate": fate_n["lost"] / committed if committed else float("nan"),
        "duplicate_rate": (effects - processed) / committed if committed else float("nan"),
        "latency_mean": float(latencies.mean()) if len(latencies) else float("nan"),
        "latency_p50": float(np.quantile(latencies, 0.5)) if len(latencies) else float("nan"),
        "latency_p99": float(np.quantile(latencies, 0.99)) if len(latencies) else float("nan"),
        "throughput": processed / duration,
        "network_messages": sends,
        "blocked_time": 0.0,
        "sim_time": sim_time,
    }
    accounted = c["processed"] + c["lost"] + c["pending"] + c["dead_lettered"] + c["expired"]
    if c["committed"] != accounted:
        raise ConservationError(
            f"conservation violated: committed={c['committed']} but processed+lost+pending+dead_lettered+expired={accounted}"
        )
    return c


def order_violations(ev: dict[str, EventState]) -> int:
    """Events whose first effect came after the first effect of a later-created event of the same key."""
    by_key: dict[int, list[EventState]] = defaultdict(list)
    for e in ev.values():
        if e.effects > 0:
            by_key[e.key].append(e)
    violations = 0
    for events in by_key.values():
        events.sort(key=lambda e: e.first_effect_seq)
        latest = (-1.0, -1)
        for e in events:
            stamp = (e.created_at, e.seq)
            if stamp < latest:
                violations += 1
            else:
                latest = stamp
    return violations


def messages_frame(v: Verdict) -> pd.DataFrame:
    rows = []
    for eid, e in v.events.items():
        latency = e.first_effect_at - e.created_at if e.effects > 0 else float("nan")
        dup = "; ".join(e.duplicate_causes) if e.duplicate_causes else None
        rows.append((eid, e.producer, e.key, e.partition, e.created_at, e.committed, e.outcome, v.fates[eid],
                     e.effects, e.deliveries, e.first_effect_at, latency, v.causes[eid], dup))
    frame = pd.DataFrame(rows, columns=MESSAGE_COLUMNS)
    return frame.astype({"key": "int64", "partition": "int64", "effects": "int64", "deliveries": "int64",
                         "created_at": "float64", "first_effect_at": "float64", "latency": "float64",
                         "committed": "bool", "loss_cause": "str", "duplicate_cause": "str"})
