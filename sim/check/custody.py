"""Custody and fates: where every copy of every event is, and what removed the last one.

Copies live in a producer's memory, in custody messages in flight (a produce request, a sink
transaction), in the outbox table, in a prepared 2PC write, in a partition log up to the
committed offset, and in a consumer's memory. At the end an event is ``processed`` if its
effect was applied, ``dead_lettered`` or ``expired`` if the broker said so, ``pending`` if a
copy that could still deliver it remains, and ``lost`` otherwise; the loss cause is the fault
that removed the last copy (or, when the last copy was let go on purpose, the last fault that
hit the event). An event whose business transaction did not commit is ``aborted``
(:func:`state.fate_of` reads the fate off the state this part keeps).
"""

from __future__ import annotations

from collections import defaultdict

from ..core.topology import GROUP_TAG
from ..history import causes
from ..history.ops import Op, Row
from .part import Part, on
from .settled import Events
from .state import EventState

# (Op's members read once: see sim/history/ops.py, Reading a member)
_COMMIT, _TXN_COMMIT = Op.COMMIT, Op.TXN_COMMIT


class Custody(Part):
    def __init__(self, events: Events) -> None:
        self.events = events
        self.mem: dict[str, dict[str, int]] = {}
        """Node -> event -> the copies of it the node holds in memory (an event with none is
        not in its table: memory grows with the copies held, not with every event)."""
        self.net: dict[int, tuple[str, ...]] = {}
        self.logs: dict[tuple[str, int], dict[int, str]] = defaultdict(dict)
        self.low: dict[tuple[str, int], int] = defaultdict(int)
        self.outbox: dict[str, dict[str, int]] = defaultdict(dict)
        """Service -> event -> its unsent outbox rows (a plain dict: a counter's missing key and
        deletion are Python functions, and every outbox event passes through here)."""
        self.prepared: set[tuple[str, str]] = set()

    def lose(self, e: EventState, n: int, cause: str | None) -> None:
        e.copies -= n
        if cause is not None:
            e.last_failure = cause
        if e.copies <= 0:
            e.zero_cause = cause

    def _held(self, node: str) -> dict[str, int]:
        held = self.mem.get(node)
        if held is None:
            held = self.mem[node] = {}
        return held

    @on(Op.CREATE)
    def _create(self, seq: int, row: Row) -> None:
        node, eid = row[2], row[4][0]
        self.events.create(eid, EventState(seq, node, row[6], row[5], float(row[7])))
        held = self._held(node)
        held[eid] = held.get(eid, 0) + 1

    @on(Op.REFUSED)
    def _refused(self, seq: int, row: Row) -> None:
        eid = row[4][0]
        e = self.events[eid]
        e.refused = row[7]
        held = self._held(row[2])
        n = held.get(eid, 0) - 1
        if n:
            held[eid] = n
        else:
            held.pop(eid, None)
        self.lose(e, 1, row[7])

    @on(Op.SEND, Op.DUP)
    def _in_flight(self, seq: int, row: Row) -> None:
        if row[5] == 1:  # it carries custody: one more copy of each of its events
            self.net[row[6]] = row[4]
            events = self.events
            for eid in row[4]:
                events[eid].copies += 1

    @on(Op.DROP)
    def _drop(self, seq: int, row: Row) -> None:
        for eid in row[4]:
            self.events[eid].message_failure = row[7]
        carried = self.net.pop(row[6], None)
        if carried:
            for eid in carried:
                self.lose(self.events[eid], 1, row[7])

    @on(Op.DELIVER)
    def _deliver(self, seq: int, row: Row) -> None:
        carried = self.net.pop(row[6], None)
        if carried:
            events = self.events
            for eid in carried:  # (lose(e, 1, None), inlined: the commonest operation)
                e = events[eid]
                e.copies -= 1
                if e.copies <= 0:
                    e.zero_cause = None

    @on(Op.RELEASE)
    def _release(self, seq: int, row: Row) -> None:
        held = self.mem.get(row[2])
        if not held:
            return
        events = self.events
        for eid in row[4]:
            n = held.get(eid, 0)
            if n > 0:
                if n > 1:
                    held[eid] = n - 1
                else:
                    del held[eid]
                e = events[eid]  # (lose(e, 1, None), inlined)
                e.copies -= 1
                if e.copies <= 0:
                    e.zero_cause = None

    @on(Op.APPEND)
    def _append(self, seq: int, row: Row) -> None:
        _, _, node, _, eids, part, num, _ = row
        e = self.events[eids[0]]
        self.logs[(node, part)][num] = eids[0]
        e.copies += 1
        e.appends += 1

    @on(Op.HOLD)
    def _hold(self, seq: int, row: Row) -> None:  # a blocked request, in the broker's memory
        held = self._held(row[2])
        for eid in row[4]:
            held[eid] = held.get(eid, 0) + 1
            self.events[eid].copies += 1

    @on(Op.LOG_LOSS)
    def _log_loss(self, seq: int, row: Row) -> None:
        log = self.logs[(row[2], row[5])]
        if row[6] in log:
            self.lose(self.events[log.pop(row[6])], 1, row[7])

    @on(Op.OFFSET_RESET)
    def _offset_reset(self, seq: int, row: Row) -> None:
        leader, _cause = row[7]
        self.low[(leader, row[5])] = row[6]

    @on(Op.COMMIT, Op.SINK_COMMIT)
    def _commit(self, seq: int, row: Row) -> None:
        _, op, node, peer, _, part, num, detail = row
        where = (detail[0], part) if op == _COMMIT else (peer, part)
        log = self.logs[where]
        for offset in range(self.low[where], num):
            if offset in log:
                e = self.events[log.pop(offset)]
                e.acked_past = True
                if e.effects == 0:  # committed past a record whose effect is not (yet) applied
                    if e.last_failure is None:
                        by = peer if e.deliveries else ""
                        e.last_failure = causes.skipped(node, part, by)
                    elif causes.is_consumer_crash_before_ack(e.last_failure):
                        e.last_failure = causes.after_ack(e.last_failure)  # committed after it
                self.lose(e, 1, None)
        self.low[where] = num

    @on(Op.RECEIVE)
    def _receive(self, seq: int, row: Row) -> None:
        eid = row[4][0]
        e = self.events[eid]
        e.deliveries += 1
        e.copies += 1
        held = self._held(row[2])
        held[eid] = held.get(eid, 0) + 1

    @on(Op.EFFECT)
    def _effect(self, seq: int, row: Row) -> None:
        for eid in row[4]:
            e = self.events[eid]
            e.effects += 1
            if e.effects == 1:
                e.first_effect_at = row[0]
                e.first_effect_seq = seq

    @on(Op.CRASH)
    def _crash(self, seq: int, row: Row) -> None:
        node, cause = row[2], row[7]
        held = self.mem.pop(node, None)
        if held:
            consumer = node.startswith("consumer")
            for eid, n in held.items():
                if n > 0:
                    e = self.events[eid]
                    self.lose(e, n, causes.after_ack(cause) if e.acked_past and consumer else cause)

    @on(Op.REJECT)
    def _reject(self, seq: int, row: Row) -> None:
        verdict, cause = row[7]
        if verdict == "rejected" and cause.startswith("overflow:"):
            for eid in row[4]:
                self.events[eid].last_failure = cause

    @on(Op.DELETE)
    def _delete(self, seq: int, row: Row) -> None:  # queue mode: the consumer's acknowledgement
        _, _, node, peer, _, part, num, _ = row
        log = self.logs[(node, part)]
        if num in log:
            e = self.events[log.pop(num)]
            e.acked_past = True
            if e.effects == 0 and e.last_failure is None:
                e.last_failure = causes.skipped(node, part, peer, how="deleted")
            self.lose(e, 1, None)

    @on(Op.DEAD_LETTER)
    def _dead_letter(self, seq: int, row: Row) -> None:
        _, _, node, peer, eids, part, num, reason = row
        for eid in eids:
            e = self.events[eid]
            e.dead_lettered = True
            e.last_failure = causes.dead_letter(node, reason)
        log = self.logs[(node, part)]
        # the broker moved it out of the queue itself (a consumer's dead-letter publication
        # ends its custody message here, and leaves the log copy to the commits)
        by_broker = node == peer or not peer or peer.startswith(GROUP_TAG)
        if by_broker and num in log and log[num] in eids:
            self.lose(self.events[log.pop(num)], 1, None)

    @on(Op.PROCESS_FAIL)
    def _process_fail(self, seq: int, row: Row) -> None:
        for eid in row[4]:
            failed = causes.failure if row[7] == "failure" else causes.poison
            self.events[eid].last_failure = failed(row[2])

    @on(Op.EXPIRE)
    def _expire(self, seq: int, row: Row) -> None:  # discarded for its age: never applied
        log = self.logs[(row[2], row[5])]
        if row[6] in log:
            e = self.events[log.pop(row[6])]
            e.expired = True
            self.lose(e, 1, row[7])

    @on(Op.TXN_BEGIN)
    def _txn_begin(self, seq: int, row: Row) -> None:
        self.events[row[4][0]].db = True

    @on(Op.TXN_COMMIT, Op.TXN_ABORT)
    def _txn_end(self, seq: int, row: Row) -> None:
        e = self.events[row[4][0]]
        e.txn = "commit" if row[1] == _TXN_COMMIT else "abort"
        if e.txn == "abort" and not e.abort:
            e.abort = causes.aborted(row[7], e.message_failure)

    @on(Op.OUTBOX_WRITE)
    def _outbox_write(self, seq: int, row: Row) -> None:  # durable until marked sent
        rows, eid = self.outbox[row[2]], row[4][0]
        rows[eid] = rows.get(eid, 0) + 1
        self.events[row[4][0]].copies += 1

    @on(Op.OUTBOX_MARK)
    def _outbox_mark(self, seq: int, row: Row) -> None:
        rows = self.outbox[row[3]]
        for eid in row[4]:
            n = rows.get(eid, 0)
            if n > 0:
                if n > 1:
                    rows[eid] = n - 1
                else:
                    del rows[eid]
                self.lose(self.events[eid], 1, None)

    @on(Op.PREPARED)
    def _prepared(self, seq: int, row: Row) -> None:  # a broker's prepared write is a copy
        self.prepared.add((row[2], row[4][0]))
        if row[2].startswith("broker"):
            self.events[row[4][0]].copies += 1

    @on(Op.RESOLVED)
    def _resolved(self, seq: int, row: Row) -> None:
        e = self.events[row[4][0]]
        if row[7] == "abort" and not e.abort:  # the coordinator had no record: presumed abort
            e.abort = causes.aborted(
                "presumed abort (no record at the coordinator)", e.message_failure
            )
        key = (row[2], row[4][0])
        if key in self.prepared:
            self.prepared.discard(key)
            if row[2].startswith("broker"):
                self.lose(self.events[row[4][0]], 1, None)

    @on(Op.FENCED)
    def _fenced(self, seq: int, row: Row) -> None:  # an old epoch's request, refused
        for eid in row[4]:
            self.events[eid].last_failure = causes.fenced(row[3], row[2])

    @on(Op.OUTCOME)
    def _outcome(self, seq: int, row: Row) -> None:
        self.events[row[4][0]].outcome = row[7]
