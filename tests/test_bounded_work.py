"""The broker's work per request does not grow with what waits behind it: a receive looks at
the messages it can hand out, not at every message in flight, and a produce request held by a
full partition is checked against the held ones by a set, not a scan. (Both were linear: a
poison message at the head of an SQS-like queue made each receive look at the thousands
received behind it, and 20 s of held requests made each new one compare with all of them.)
A bounded partition's backlog, checked on every produce request, counts the offsets gone
from it by bisection instead of looking at every offset of the backlog.

Counted, not timed: a count fails on any machine if the scan comes back."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.model.broker import node as broker_node
from sim.model.broker.offsets import Offsets
from sim.model.broker.queue import GroupQueue, QueueStore


def counting(monkeypatch: pytest.MonkeyPatch, cls: type, name: str) -> dict[str, int]:
    """Count the calls of ``cls.name`` (a method) from now on."""
    calls = {"n": 0}
    original = getattr(cls, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(cls, name, counted)
    return calls


def test_a_receive_looks_at_what_it_can_hand_out_not_at_everything_in_flight(
    run, monkeypatch
) -> None:
    receiving = {"now": False, "receives": 0, "looked": 0}
    visible, done = QueueStore._visible, GroupQueue.done

    def counted_visible(self: QueueStore, *args: Any) -> Any:
        receiving["now"], receiving["receives"] = True, receiving["receives"] + 1
        try:
            return visible(self, *args)
        finally:
            receiving["now"] = False

    def counted_done(self: GroupQueue, *args: Any) -> bool:
        receiving["looked"] += receiving["now"]
        return done(self, *args)

    monkeypatch.setattr(QueueStore, "_visible", counted_visible)
    monkeypatch.setattr(GroupQueue, "done", counted_done)
    rows, _ = run(
        ["at-least-once"],
        duration=30,
        broker={"mode": "queue", "max_receives": 4, "visibility_timeout": 5},
        workload={"rate": 100, "poison_probability": 0.02},
    )
    assert rows["at-least-once"]["dead_lettered"] > 20  # poison held the heads for 20 s each
    # a receive takes up to 10 messages from each of 4 partitions (the linear scan looked
    # at about 1,000 messages per receive here)
    per_receive = receiving["looked"] / receiving["receives"]
    assert per_receive < 20, receiving


def test_a_held_request_is_not_compared_with_every_other_held_one(run, monkeypatch) -> None:
    looked = {"n": 0}

    held = {"n": 0}

    class Counting(deque):  # type: ignore[type-arg]
        """A partition's queue of held requests that counts the requests held (each is
        appended once) and the held requests a scan of it looks at (the scan this replaced
        compared a new request with every held one)."""

        def append(self, env: Any) -> None:
            held["n"] += 1
            deque.append(self, env)

        def __iter__(self) -> Iterator[Any]:
            for env in deque.__iter__(self):
                looked["n"] += 1
                yield env

        def __contains__(self, env: object) -> bool:
            looked["n"] += len(self)
            return deque.__contains__(self, env)

    monkeypatch.setattr(broker_node, "deque", Counting)
    rows, _ = run(
        ["at-least-once"],
        workload={"rate": 100, "process_time": {"dist": "exponential", "mean": 0.02}},
        topology={"partitions": 1, "consumers": 1},
        broker={"capacity": 50, "overflow": "block"},
        drain=60,
    )
    assert rows["at-least-once"]["lost"] == 0
    assert held["n"] > 1000  # the partition is full again and again
    # held requests looked at per hold: none (a scan looked at every one held, dozens)
    assert looked["n"] / held["n"] < 1, (looked["n"], held["n"])


@given(
    added=st.lists(st.integers(0, 60), max_size=40),
    lo=st.integers(0, 70),
    hi=st.integers(0, 70),
    keep=st.integers(0, 70),
)
def test_offsets_count_what_a_set_would(added: list[int], lo: int, hi: int, keep: int) -> None:
    """The backlogs count gone offsets in a range by bisection: the same as looking at each."""
    offsets, naive = Offsets(), set()
    for o in added:
        offsets.add(o)
        naive.add(o)
    assert len(offsets) == len(naive) and all(o in offsets for o in naive)
    assert list(offsets) == sorted(naive)
    assert offsets.count(lo, hi) == sum(1 for o in range(lo, hi) if o in naive)
    assert offsets.within(lo, hi) == [o for o in sorted(naive) if lo <= o < hi]
    assert list(offsets.below(keep)) == sorted(o for o in naive if o < keep)
    offsets.forget_below(keep)
    assert list(offsets) == sorted(o for o in naive if o >= keep)
    assert all((o in offsets) == (o >= keep) for o in naive)


def test_a_queue_keeps_what_is_in_it_not_every_message_it_had(run, monkeypatch) -> None:
    """Below a queue's head every message is out for good: what was kept of them (deleted
    offsets, visibility deadlines, receive counts) is forgotten as the head moves."""
    kept = {"most": 0}
    visible = QueueStore._visible

    def measured(self: QueueStore, *args: Any) -> Any:
        for q in self.queues.values():
            size = sum(len(q.gone[p]) + len(q.visible_at[p]) + len(q.receives[p]) for p in q.gone)
            kept["most"] = max(kept["most"], size)
        return visible(self, *args)

    monkeypatch.setattr(QueueStore, "_visible", measured)
    rows, _ = run(["at-least-once"], duration=60, broker={"mode": "queue"})
    assert rows["at-least-once"]["processed"] > 5000 and rows["at-least-once"]["pending"] == 0
    assert kept["most"] < 300, kept  # (it grew with every message: about 3 entries each)
