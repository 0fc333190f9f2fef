"""Idempotent producers at the broker (Kafka's ``enable.idempotence``).

The coordinator broker allocates a producer id per transactional id and bumps its epoch at
every ``InitProducerId``, which fences the previous instance. Every partition leader keeps,
per (producer id, partition), the sequence numbers of the last :data:`DEDUPE_DEPTH` batches
and their offsets: a resend of one of them is acknowledged with its original offset instead
of being appended again, and a gap is refused as out-of-sequence.

When that state is lost (``dedupe_durable: false`` and a crash, an in-memory broker, or an
idle state older than ``dedupe_window``), the broker cannot recognise a resend any more and
appends it again; the append carries the reason, so the checker names it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...history import causes
from ..messages import Produce

DEDUPE_DEPTH = 5  # Kafka keeps the last five batches per producer and partition


@dataclass
class ProducerState:
    """Idempotence state of one (producer id, partition): the last sequences and their offsets."""

    epoch: int
    last_seq: int
    recent: dict[int, int]
    last_active: float
    base: int = 0
    """The first sequence seen: lower ones are unknown when the state was rebuilt empty."""
    rebuilt: str = ""
    """Why the state started empty in the middle of a sequence (the crash that lost it)."""
    lost: str = ""
    """Set when this state was started after the broker lost producer state (or it expired):
    its appends are annotated, since one of them may repeat a batch the lost state knew."""
    gaps: set[int] = field(default_factory=set)
    """Rebuilt states only: sequences skipped over, which may still arrive."""


@dataclass(frozen=True)
class SequenceVerdict:
    verdict: str
    """append | duplicate | fenced | out-of-sequence"""
    offset: int = -1
    """For a duplicate: the offset the batch was stored at (-1: unknown)."""
    note: str = ""
    """Why the batch may repeat one the broker no longer knows (for the checker's causes)."""
    in_order: bool = True
    """The broker checked the batch against sequences it knows from the start of the epoch,
    so accepting it proves every earlier batch of the epoch was stored (False for a state
    rebuilt in the middle of a sequence, which accepts what it cannot check). A new epoch
    starts its sequences at 0, so its batches are in order even though each may repeat one
    the old epoch stored (``note``)."""


APPEND = SequenceVerdict("append")


class NoIdempotence:
    """A broker that does not dedupe: every produce request is appended."""

    def __init__(self) -> None:
        self.transactional_ids: dict[str, tuple[int, int]] = {}
        self.next_pid = 0
        """Producer ids are allocated cluster-wide (by the controller in Kafka) and never
        reused, even by a broker that forgot its transactional ids."""

    def init_producer_id(self, transactional_id: str) -> tuple[int, int]:
        """The producer id of ``transactional_id`` and its next epoch (a new id if unknown)."""
        known = self.transactional_ids.get(transactional_id)
        if known is None:
            known = (self.next_pid, -1)
            self.next_pid += 1
        pid, epoch = known
        self.transactional_ids[transactional_id] = (pid, epoch + 1)
        return pid, epoch + 1

    def check(self, msg: Produce, now: float) -> SequenceVerdict:
        return APPEND

    def appended(self, msg: Produce, partition: int, base: int) -> None:
        pass

    def crashed(self, keeps_ids: bool, keeps_state: bool, cause: str) -> None:
        if not keeps_ids:
            self.transactional_ids.clear()

    def truncated(self, partition: int, keep: int) -> None:
        """The log of ``partition`` was cut to ``keep`` records: forget what was cut."""


class Idempotence(NoIdempotence):
    def __init__(self, dedupe_window: float | None) -> None:
        super().__init__()
        self.window = dedupe_window
        self.max_epoch: dict[int, int] = {}
        self.states: dict[tuple[int, int], ProducerState] = {}
        self.state_lost = ""

    def check(self, msg: Produce, now: float) -> SequenceVerdict:
        if msg.pid < 0:
            return APPEND
        p, pid, epoch, seq = msg.records[0].partition, msg.pid, msg.epoch, msg.seq
        newest = self.max_epoch.get(pid, -1)
        if epoch < newest:
            return SequenceVerdict("fenced", note=f"epoch {epoch} < {newest}")
        self.max_epoch[pid] = epoch
        st = self.states.get((pid, p))
        note = ""
        if st is not None and self.window is not None and now - st.last_active > self.window:
            st, note = None, causes.DEDUPE_WINDOW_EXPIRED
        if st is not None and st.epoch < epoch:  # a new epoch starts its sequences afresh
            # (what it resends may repeat what the old epoch stored: because the old state was
            # lost, if it was, else because of the bump)
            note = st.lost or causes.EPOCH_BUMP
            st = None
        if st is None:
            return self._first(pid, p, epoch, seq, now, note)
        st.last_active = now
        in_order = not st.rebuilt
        if seq in st.recent:  # (stored in sequence, unless this state was rebuilt)
            return SequenceVerdict(
                "duplicate", st.recent[seq], note=st.lost or st.rebuilt, in_order=in_order
            )
        if seq == st.last_seq + 1:
            if in_order and not st.lost:
                return APPEND  # (the commonest verdict: one object, not one a request)
            return SequenceVerdict("append", note=st.lost, in_order=in_order)
        return self._out_of_order(st, seq)

    def _first(
        self, pid: int, p: int, epoch: int, seq: int, now: float, note: str
    ) -> SequenceVerdict:
        """The first request of (pid, p) this broker knows of."""
        if seq != 0 and not (self.state_lost or (note and note != causes.EPOCH_BUMP)):
            return SequenceVerdict("out-of-sequence", note=f"expected 0, got {seq}")
        lost = note or self.state_lost
        rebuilt = "" if seq == 0 else lost
        self.states[(pid, p)] = ProducerState(
            epoch, seq - 1, {}, now, base=seq, rebuilt=rebuilt, lost=lost
        )
        return SequenceVerdict("append", note=lost, in_order=not rebuilt)

    def _out_of_order(self, st: ProducerState, seq: int) -> SequenceVerdict:
        if st.rebuilt:  # rebuilt empty mid-stream: accept what it cannot know it has seen
            if seq > st.last_seq + 1:
                st.gaps.update(range(st.last_seq + 1, seq))
                return SequenceVerdict("append", note=st.rebuilt, in_order=False)
            if seq < st.base or seq in st.gaps:
                st.gaps.discard(seq)
                return SequenceVerdict("append", note=st.rebuilt, in_order=False)
        return SequenceVerdict("out-of-sequence", note=f"expected {st.last_seq + 1}, got {seq}")

    def appended(self, msg: Produce, partition: int, base: int) -> None:
        if msg.pid < 0:
            return
        st = self.states[(msg.pid, partition)]
        st.last_seq = max(st.last_seq, msg.seq)
        st.recent[msg.seq] = base
        if len(st.recent) > DEDUPE_DEPTH:
            del st.recent[min(st.recent)]

    def crashed(self, keeps_ids: bool, keeps_state: bool, cause: str) -> None:
        super().crashed(keeps_ids, keeps_state, cause)
        if not keeps_state:
            if self.states or self.max_epoch:
                self.state_lost = cause
            self.states.clear()
            self.max_epoch.clear()

    def truncated(self, partition: int, keep: int) -> None:
        """Producer state is rebuilt from the log (Kafka): batches cut from the log are no
        longer known, and a state with none left is gone."""
        for key, st in list(self.states.items()):
            if key[1] != partition:
                continue
            st.recent = {seq: base for seq, base in st.recent.items() if base < keep}
            if not st.recent:
                del self.states[key]
            else:
                st.last_seq = max(st.recent)
