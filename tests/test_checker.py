"""The checker is a pure function of the history: hand-written histories, known verdicts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sim.check import check
from sim.check.order import FirstEffects
from sim.check.state import EventState
from sim.history import Op, frame_to_ops, history_frame


def op(t, kind, node, eids=(), peer="", part=-1, num=-1, info=""):
    """An operation tuple; ``info`` is its detail (typed per operation: see sim/history/ops.py)."""
    kind = Op(kind)
    if kind == Op.CREATE:
        info = float(info)
    elif kind == Op.APPEND:
        info = (-1, "")
    elif kind == Op.RECEIVE:
        info = (0, 0)
    elif kind == Op.COMMIT:
        info = (node, 0)  # the partition's leader (here the coordinator itself), epoch 0
    return (t, kind, node, peer, tuple(eids), part, num, info)


def test_dropped_only_copy_is_lost_with_the_link_as_cause() -> None:
    ops = [
        op(0.0, "create", "producer-0", ["a"], part=0, num=1, info="0.0"),
        op(0.0, "send", "producer-0", ["a"], peer="broker-0", part=1, num=1, info="produce"),
        op(0.0, "release", "producer-0", ["a"], info="sent"),
        op(
            0.1,
            "drop",
            "producer-0",
            ["a"],
            peer="broker-0",
            part=1,
            num=1,
            info="drop:producer-0->broker-0",
        ),
    ]
    v = check(ops, duration=1.0, sim_time=1.0)
    assert v.fates == {"a": "lost"}
    assert v.causes["a"] == "drop:producer-0->broker-0"
    assert v.counts["lost"] == 1 and v.counts["loss_rate"] == 1.0


def test_appended_record_is_pending_until_applied_and_processed_after() -> None:
    ops = [
        op(0.0, "create", "producer-0", ["a"], part=0, num=1, info="0.0"),
        op(0.0, "send", "producer-0", ["a"], peer="broker-0", part=1, num=1, info="produce"),
        op(0.0, "release", "producer-0", ["a"], info="sent"),
        op(0.1, "deliver", "broker-0", ["a"], peer="producer-0", part=1, num=1, info="produce"),
        op(0.1, "append", "broker-0", ["a"], part=0, num=0),
    ]
    assert check(ops, 1.0, 1.0).fates == {"a": "pending"}
    ops += [
        op(0.2, "receive", "consumer-0", ["a"], part=0, num=0),
        op(0.3, "effect", "sink", ["a"], peer="consumer-0"),
        op(0.3, "effect", "sink", ["a"], peer="consumer-0"),
    ]
    v = check(ops, 1.0, 1.0)
    assert v.fates == {"a": "processed"}
    assert v.counts["duplicates"] == 1 and v.counts["effects"] == 2
    assert abs(v.counts["latency_mean"] - 0.3) < 1e-12


def test_consumer_crash_after_commit_loses_with_after_ack_cause() -> None:
    ops = [
        op(0.0, "create", "producer-0", ["a"], part=0, num=1, info="0.0"),
        op(0.0, "send", "producer-0", ["a"], peer="broker-0", part=1, num=1, info="produce"),
        op(0.0, "release", "producer-0", ["a"], info="sent"),
        op(0.1, "deliver", "broker-0", ["a"], peer="producer-0", part=1, num=1),
        op(0.1, "append", "broker-0", ["a"], part=0, num=0),
        op(0.2, "receive", "consumer-0", ["a"], part=0, num=0),
        op(0.2, "commit", "broker-0", peer="consumer-0", part=0, num=1),
        op(0.3, "crash", "consumer-0", info="crash:consumer-0"),
    ]
    v = check(ops, 1.0, 1.0)
    assert v.fates == {"a": "lost"}
    assert v.causes["a"] == "crash:consumer-0 after ack"


def test_crash_before_commit_keeps_the_log_copy_pending() -> None:
    ops = [
        op(0.0, "create", "producer-0", ["a"], part=0, num=1, info="0.0"),
        op(0.1, "append", "broker-0", ["a"], part=0, num=0),
        op(0.1, "release", "producer-0", ["a"], info="acked"),
        op(0.2, "receive", "consumer-0", ["a"], part=0, num=0),
        op(0.3, "crash", "consumer-0", info="crash:consumer-0"),
    ]
    assert check(ops, 1.0, 1.0).fates == {"a": "pending"}


def test_order_violation_counts_per_key_inversions_of_first_effects() -> None:
    ops = [
        op(0.0, "create", "producer-0", ["a"], part=0, num=7, info="0.0"),
        op(0.1, "create", "producer-0", ["b"], part=0, num=7, info="0.1"),
        op(0.2, "create", "producer-0", ["c"], part=0, num=8, info="0.2"),
        op(0.5, "effect", "sink", ["b"]),
        op(0.6, "effect", "sink", ["a"]),  # a was created before b: out of order
        op(0.7, "effect", "sink", ["c"]),
        op(0.8, "effect", "sink", ["a"]),  # a duplicate is not an order violation
    ]
    v = check(ops, 1.0, 1.0)
    assert v.counts["order_violations"] == 1
    assert v.counts["duplicates"] == 1


def test_history_frame_round_trip_gives_the_same_verdict() -> None:
    ops = [
        op(0.0, "create", "producer-0", ["a"], part=0, num=1, info="0.0"),
        op(0.0, "send", "producer-0", ["a"], peer="broker-0", part=1, num=1, info="produce"),
        op(0.0, "release", "producer-0", ["a"], info="sent"),
        op(
            0.1,
            "drop",
            "producer-0",
            ["a"],
            peer="broker-0",
            part=1,
            num=1,
            info="drop:producer-0->broker-0",
        ),
        op(0.2, "crash", "consumer-1", info="crash:consumer-1"),
    ]
    again = frame_to_ops(history_frame(ops))
    assert again == ops
    assert check(again, 1.0, 1.0).causes == check(ops, 1.0, 1.0).causes


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["producer-0", "producer-1"]),
            st.integers(0, 3),
            st.integers(0, 40),
            st.sampled_from([0.0, 0.5, 1.0, 1.5]),
        ),
        max_size=40,
    ),
    st.randoms(use_true_random=False),
)
def test_the_order_check_counts_what_a_pairwise_reading_counts(applied, rnd) -> None:
    """Judged in the order of first effects with a running maximum per (producer, key), the
    check counts the same violations as the rule read literally: an event is a violation when
    an event of its producer and key created after it (by creation time, then history
    position) had its first effect strictly earlier, or at the same operation and earlier in
    creation order."""
    events = {
        f"e{i}": EventState(
            seq=i, producer=p, key=k, partition=0, created_at=t, effects=1, first_effect_seq=f
        )
        for i, (p, k, f, t) in enumerate(applied)
    }
    first = FirstEffects(events)
    for f in sorted({e.first_effect_seq for e in events.values()}):
        eids = [eid for eid, e in events.items() if e.first_effect_seq == f]
        rnd.shuffle(eids)  # the operation names them in any order
        first._effect(f, (float(f), Op.EFFECT, "sink", "", tuple(eids), -1, -1, ""))
    first.finish(events)
    states = list(events.values())

    def violates(i: int) -> bool:
        a = states[i]
        return any(
            (b.producer, b.key) == (a.producer, a.key)
            and (b.created_at, b.seq) > (a.created_at, a.seq)
            and (b.first_effect_seq, j) < (a.first_effect_seq, i)
            for j, b in enumerate(states)
        )

    assert first.violations == sum(violates(i) for i in range(len(states)))
    assert len(first.latencies) == len(states)


def test_an_undecided_transaction_suspends_its_key_until_the_end() -> None:
    """A publish-then-commit event's effect can come before its commit: its key is judged at
    the end, once the transaction has ended (an aborted one is a phantom and not judged)."""
    a = EventState(seq=0, producer="p", key=1, partition=0, created_at=0.0, effects=1)
    b = EventState(seq=1, producer="p", key=1, partition=0, created_at=1.0, effects=1)
    a.db = b.db = True
    b.txn = "commit"
    a.first_effect_seq, b.first_effect_seq = 10, 5  # b (created after a) applied first
    events = {"a": a, "b": b}
    first = FirstEffects(events)
    first._effect(5, (5.0, Op.EFFECT, "sink", "", ("b",), -1, -1, ""))
    first._effect(10, (10.0, Op.EFFECT, "sink", "", ("a",), -1, -1, ""))
    assert first.violations == 0  # b was judged; a, undecided, waits with its key
    a.txn = "abort"
    first.finish(events)
    assert first.violations == 0  # a aborted: a phantom, not out of order
    a.txn = "commit"
    again = FirstEffects(events)
    b.txn = ""  # now b, the first one applied, is undecided: the whole key waits
    again._effect(5, (5.0, Op.EFFECT, "sink", "", ("b",), -1, -1, ""))
    again._effect(10, (10.0, Op.EFFECT, "sink", "", ("a",), -1, -1, ""))
    b.txn = "commit"
    again.finish(events)
    assert again.violations == 1
