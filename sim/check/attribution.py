"""Duplicate attribution: why an effect beyond the first was applied.

Every extra effect gets a cause from the history: the extra log copy it came from (a network
duplicate, or a producer resend because an acknowledgement was lost or late, or a resend the
broker could not recognise after losing its sequence state), the redelivery it came from (a
consumer crash before committing, a visibility timeout), or the sink retry it came from (a
lost sink acknowledgement). It knows the protocol's vocabulary, not the strategies.

Runs after custody on the same operation (it reads ``appends`` and ``effects``).
"""

from __future__ import annotations

from collections import defaultdict, deque
from typing import Any

from ..history import causes
from ..history.ops import Op, Row
from .part import Part, on
from .reads import LastReads
from .state import EventState

# (Op's members read once: see sim/history/ops.py, Reading a member)
_DUP = Op.DUP


CopyKey = tuple[str, int, int, int]
"""A record in a log: (broker, partition, offset, leader epoch); a truncated log reuses
offsets, under a new epoch."""
Source = tuple[Any, ...]
"""What an effect came from: (log copy, the delivery's history position, redelivery cause)."""
NO_SOURCE: Source = (None, -1, None)


class Attribution(Part):
    def __init__(self, events: dict[str, EventState]) -> None:
        self.events = events
        self.dup_links: dict[int, str] = {}
        """Message copies the network made -> their cause."""
        self.reply_kinds: dict[int, str] = {}
        """produce-ack / sink-ack message ids in flight -> their type (removed when the
        message is delivered or dropped)."""
        self.append_cause: dict[CopyKey, str] = {}
        """Extra log copy -> why it exists (a first copy is not stored: memory grows with the
        extra copies, not with every record)."""
        self.receivers: dict[tuple[str, int, int], LastReads] = {}
        """(broker, partition, leader epoch) -> offset -> its last reader (:meth:`_index`) and
        the history position of that read."""
        self._reader_index: dict[str, int] = {}
        self._reader_names: list[str] = []
        self.last_crash: dict[str, int] = {}
        """Node -> the history position of its last crash."""
        self.holding: dict[str, dict[str, deque[Source]]] = defaultdict(dict)
        """Consumer -> event -> the deliveries it holds, oldest first (processed in order); an
        event whose queue empties is removed."""
        self.orphans: dict[tuple[str, str], Source] = {}
        """Deliveries held by a consumer when it crashed: its sink transactions may land."""
        self.epochs: dict[tuple[str, int], int] = {}
        """(broker, partition) -> its current leader epoch."""
        self.cuts: dict[tuple[str, int], list[tuple[int, int]]] = {}
        """(broker, partition) -> (the epoch each truncation began, the offset it kept to)."""
        self.released: dict[tuple[str, str], Source] = {}
        """(consumer, event) -> the delivery it released last: a sink transaction sent before
        the release may land after it."""
        self.last_send = -1
        self.copy_of: dict[int, int] = {}
        """A network copy's message id -> the message it copies (recorded right after it)."""
        self.twin_of: dict[int, int] = {}
        self.applied: dict[str, int | set[int]] = {}
        """Event -> the sink transaction (original message id) whose effect was applied, or
        the set of them when there were several (one int, not a set, for most events)."""
        self.readers: set[str] = set()
        """Every node that received records (the consumers)."""
        self.rewinds = Rewinds()
        self.forgotten: dict[str, str] = {}
        """Event -> the sink's processed-id retention that forgot it (its next effect repeats)."""

    @on(Op.TRUNCATE)
    def _truncate(self, seq: int, row: Row) -> None:
        self.epochs[(row[2], row[5])] = row[7]
        self.cuts.setdefault((row[2], row[5]), []).append((row[7], row[6]))

    def written_in(self, node: str, part: int, num: int, epoch: int) -> int:
        """The log epoch in which the record read at offset ``num`` in ``epoch`` was written: a
        record below every truncation point since keeps its identity (and its copy key)."""
        for began, keep in reversed(self.cuts.get((node, part), ())):
            if began <= epoch and keep <= num:
                return began
        return 0

    @on(Op.SEND, Op.DUP)
    def _sent(self, seq: int, row: Row) -> None:
        num, kind = row[6], row[7]
        if row[1] is _DUP:
            self.dup_links[num] = causes.network_duplicate(row[2], row[3])
            self.copy_of[num] = self.last_send
            self.twin_of[self.last_send] = num
        else:
            self.last_send = num
        if kind == "produce-ack" or kind == "sink-ack":
            self.reply_kinds[num] = kind

    @on(Op.DELIVER)
    def _delivered(self, seq: int, row: Row) -> None:
        self.reply_kinds.pop(row[6], None)  # a message is delivered or dropped, once

    @on(Op.DROP)
    def _drop(self, seq: int, row: Row) -> None:
        kind = self.reply_kinds.pop(row[6], None)
        if kind is not None:
            for eid in row[4]:
                if kind == "produce-ack":
                    self.events[eid].ack_failure = row[7]
                else:
                    self.events[eid].sink_ack_failure = row[7]

    @on(Op.RELEASE)
    def _release(self, seq: int, row: Row) -> None:
        held_here = self.holding.get(row[2])
        if held_here:
            for eid in row[4]:
                queue = held_here.get(eid)
                if queue:
                    self.released[(row[2], eid)] = queue.popleft()
                    if not queue:  # an empty queue and no queue say the same
                        del held_here[eid]

    @on(Op.APPEND)
    def _append(self, seq: int, row: Row) -> None:
        _, _, node, peer, eids, part, num, (msgid, unrecognised) = row
        e = self.events[eids[0]]
        why = None
        if e.appends > 1:  # a second copy in the logs: a network duplicate or a producer resend
            why = self.dup_links.get(msgid) or e.ack_failure or causes.late_ack(peer)
            if unrecognised:  # an idempotent resend the broker could not recognise
                why = causes.state_lost(e.state_loss or unrecognised, why)
        if unrecognised and unrecognised != causes.EPOCH_BUMP:
            e.state_loss = unrecognised  # stored by a broker that had lost its sequence state
        copy_key = (node, part, num, self.epochs.get((node, part), 0))
        if why:  # only an extra copy has a cause; a first copy is None, like an unknown one
            self.append_cause[copy_key] = why
        else:
            self.append_cause.pop(copy_key, None)  # (a copy key is written once, but be exact)
        e.append_causes = (*e.append_causes, (seq, why))

    @on(Op.RECEIVE)
    def _receive(self, seq: int, row: Row) -> None:
        _, _, node, peer, eids, part, num, (receive_count, epoch) = row
        epoch = self.written_in(peer, part, num, epoch)
        copy_key = (peer, part, num, epoch)
        read = self.receivers.get((peer, part, epoch))
        if read is None:
            read = self.receivers[(peer, part, epoch)] = LastReads()
        before = read.get(num)
        redelivery = None
        if before is not None:
            who, then = self._reader_names[before[0]], before[1]
            if self.last_crash.get(who, -1) > then:  # it crashed since it read the record
                redelivery = causes.redelivery_after_crash(who)
            elif receive_count > 0:  # queue mode: not deleted in time
                redelivery = causes.redelivery_after_visibility(who)
            else:
                why = self.rewinds.since(then, who, peer, part)
                redelivery = causes.redelivery_after(why) if why else causes.redelivery_to(node)
        read.put(num, self._index(node), seq)
        held = self.holding[node]
        queue = held.get(eids[0])
        if queue is None:
            queue = held[eids[0]] = deque()
        queue.append((copy_key, seq, redelivery))

    @on(Op.EFFECT)
    def _effect(self, seq: int, row: Row) -> None:
        peer, num = row[3], row[6]
        txn = self.copy_of.get(num, num)
        for eid in row[4]:
            e = self.events[eid]
            queue = self.holding.get(peer, {}).get(eid)
            source = (
                queue[0]
                if queue
                else self.orphans.get((peer, eid)) or self.released.get((peer, eid), NO_SOURCE)
            )
            applied = self.applied.get(eid)
            if e.effects > 1:
                if applied == txn or (isinstance(applied, set) and txn in applied):
                    # the network delivered the sink transaction twice
                    twin = num if num in self.dup_links else self.twin_of.get(txn, -1)
                    e.duplicate_causes = (
                        *e.duplicate_causes,
                        self.dup_links.get(twin, causes.REDELIVERY),
                    )
                else:
                    why = self._cause(e, source)
                    forgot = self.forgotten.pop(eid, None)
                    e.duplicate_causes = (
                        *e.duplicate_causes,
                        f"{forgot} ({why})" if forgot else why,
                    )
            if applied is None:
                self.applied[eid] = txn
            elif isinstance(applied, set):
                applied.add(txn)
            elif applied != txn:
                self.applied[eid] = {applied, txn}
            e.sources = (*e.sources, source)

    @on(Op.DEDUPE_FORGOT)
    def _forgot(self, seq: int, row: Row) -> None:
        for eid in row[4]:
            self.forgotten[eid] = causes.dedupe_retention(row[2], row[7])

    @on(Op.PAUSE, Op.RESUME, Op.FAULT_START, Op.FAULT_END)
    def _fault(self, seq: int, row: Row) -> None:
        self.rewinds.fault(row)

    @on(Op.MEMBER_DEAD, Op.ABANDON, Op.COMMIT_REFUSED, Op.OFFSET_RESET)
    def _rewind(self, seq: int, row: Row) -> None:
        self.rewinds.rewind(seq, row)

    @on(Op.CRASH)
    def _crash(self, seq: int, row: Row) -> None:
        node = row[2]
        self.last_crash[node] = seq
        for eid, queue in self.holding.pop(node, {}).items():
            if queue:
                self.orphans[(node, eid)] = queue[-1]

    def _index(self, reader: str) -> int:
        """The reader's number (in the order readers first read)."""
        index = self._reader_index.get(reader)
        if index is None:
            self.readers.add(reader)
            index = self._reader_index[reader] = len(self._reader_names)
            self._reader_names.append(reader)
        return index

    def settled(self, eids: list[str]) -> None:
        """Forget what only an event's own copies could use: every copy is gone, so any later
        effect comes from a sink transaction sent after it was received again, which records
        its own delivery (see ``settled.py``)."""
        for eid in eids:
            self.applied.pop(eid, None)
            for reader in self.readers:
                self.released.pop((reader, eid), None)

    def _cause(self, e: EventState, source: Source) -> str:
        """Why this effect repeats an earlier one of the same event."""
        copy_key, receive_seq, redelivery = source
        for _key, earlier_seq, _ in e.sources:
            if earlier_seq == receive_seq:  # the same delivery applied twice: a sink retry
                return e.sink_ack_failure or causes.late_ack("sink")
        same_copy = [why for key, _, why in e.sources if key == copy_key]
        if same_copy:  # two deliveries of one copy: the redelivery (whichever applied first)
            return redelivery or next((why for why in same_copy if why), causes.REDELIVERY)
        # a different copy in the logs: whichever of the copies was the extra one says why
        for key in (copy_key, *(k for k, _, _ in e.sources)):
            why = self.append_cause.get(key)
            if why:
                return why
        return causes.UNKNOWN


class Rewinds:
    """Why a consumer group read a record again without a consumer crash: the member that had
    it was removed from the group (and what held it back: a pause, a partition), gave its
    partitions up, had its commit refused, or the coordinator forgot committed offsets."""

    def __init__(self) -> None:
        self.paused: set[str] = set()
        self.cuts: dict[int, str] = {}
        """Active partition faults: fault id -> its target."""
        self.by_member: dict[str, list[tuple[int, str]]] = defaultdict(list)
        self.by_partition: dict[tuple[str, int], list[tuple[int, str]]] = defaultdict(list)

    def fault(self, row: Row) -> None:
        op, node, num, kind = row[1], row[2], row[6], row[7]
        if op == Op.PAUSE:
            self.paused.add(node)
        elif op == Op.RESUME:
            self.paused.discard(node)
        elif kind == "partition":
            if op == Op.FAULT_START:
                self.cuts[num] = node
            else:
                self.cuts.pop(num, None)

    def _held_back(self, consumer: str) -> str:
        if consumer in self.paused:
            return causes.pause(consumer)
        cuts = sorted(self.cuts.values(), key=lambda target: consumer not in target)
        return causes.partition_fault(cuts[0]) if cuts else ""

    def rewind(self, seq: int, row: Row) -> None:
        op, node, peer, detail = row[1], row[2], row[3], row[7]
        if op == Op.MEMBER_DEAD:
            held = self._held_back(peer)
            why = f"{peer} was removed from the group ({detail[1]}"
            self.by_member[peer].append((seq, why + (f", {held})" if held else ")")))
        elif op == Op.ABANDON:
            self.by_member[node].append((seq, f"{node} gave up its partitions ({detail[0]})"))
        elif op == Op.COMMIT_REFUSED:
            self.by_member[peer].append((seq, f"{node} refused the commit of {peer} ({detail[0]})"))
        else:  # OFFSET_RESET: (leader, cause)
            leader, cause = detail
            what = f"{node} forgot the committed offset of {leader}/p{row[5]} ({cause})"
            self.by_partition[(leader, row[5])].append((seq, what))

    def since(self, then: int, member: str, broker: str, partition: int) -> str:
        """The earliest rewind after history position ``then`` that concerns ``member`` or the
        partition ("" if none)."""
        tables = (self.by_member.get(member, []), self.by_partition.get((broker, partition), []))
        found = [(s, why) for table in tables for s, why in table if s > then]
        return min(found)[1] if found else ""
