"""A node's waits and delayed actions (``sim/model/node.py``): ``wait_for`` with its timer taken
off the event when it fires first, and ``later`` as a timer callback in place of a process.
Each is checked against what a SimPy process doing the same would see: the value or None at the
right time, nothing after a crash, nothing before a pause ends."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

import simpy

from sim.model.clock import Clock
from sim.model.context import Context
from sim.model.node import Node


class _Quiet:
    """The recorder, wire and step hook a node needs, doing nothing."""

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def reached(self, node: str, step: str) -> None:
        pass

    def armed_steps(self, node: str) -> frozenset[str]:
        return frozenset()

    def reconnect(self, node: str) -> None:
        pass

    def send(self, src: str, dst: str, payload: Any) -> None:
        pass


def _node() -> Node:
    env = Clock()
    quiet: Any = _Quiet()
    ctx = Context(env, quiet, quiet, None, None, quiet, 1.0)  # type: ignore[arg-type]
    return Node("n", ctx)


def _at(node: Node, when: float, action: Callable[[], Any]) -> None:
    """Do ``action`` at simulated time ``when`` (from now)."""
    node.env.timeout(when).callbacks.append(lambda _e: action())


def _waiter(node: Node, event: simpy.Event, timeout: float, seen: list[Any]) -> Any:
    value = yield from node.wait_for(event, timeout)
    seen.append((node.env.now, value))


def test_wait_for_returns_the_value_when_the_event_comes_first() -> None:
    node = _node()
    event, seen = node.env.event(), []
    node.spawn(_waiter(node, event, 2.0, seen))
    _at(node, 0.5, lambda: event.succeed("reply"))
    node.env.run(until=10)
    assert seen == [(0.5, "reply")]


def test_wait_for_returns_none_at_the_timeout_and_ignores_a_late_event() -> None:
    node = _node()
    event, seen = node.env.event(), []
    node.spawn(_waiter(node, event, 2.0, seen))
    _at(node, 3.0, lambda: event.succeed("late"))
    node.env.run(until=10)
    assert seen == [(2.0, None)]  # once, at the timeout; the late event resumes no one
    assert event.processed and event.value == "late"


def test_a_timer_of_an_earlier_wait_does_not_end_a_later_wait() -> None:
    node = _node()
    first, shared, seen = node.env.event(), node.env.event(), []

    def waits() -> Any:
        for event, timeout in ((first, 5.0), (shared, 1.0), (shared, 10.0)):
            value = yield from node.wait_for(event, timeout)
            seen.append((node.env.now, value))

    node.spawn(waits())
    _at(node, 0.5, lambda: first.succeed("a"))
    _at(node, 8.0, lambda: shared.succeed("b"))
    node.env.run(until=20)
    # the first wait's timer (at 5) is spent; the second times out on `shared` at 1.5 and the
    # third waits on the same event again until it comes
    assert seen == [(0.5, "a"), (1.5, None), (8.0, "b")]


def test_two_processes_wait_on_one_event_with_their_own_timeouts() -> None:
    node = _node()
    event, seen = node.env.event(), []
    node.spawn(_waiter(node, event, 1.0, seen))
    node.spawn(_waiter(node, event, 5.0, seen))
    _at(node, 2.0, lambda: event.succeed("x"))
    node.env.run(until=10)
    assert seen == [(1.0, None), (2.0, "x")]


def test_an_event_already_processed_is_returned_at_once() -> None:
    node = _node()
    event, seen = node.env.event(), []
    event.succeed("done")
    node.env.run(until=1)
    node.spawn(_waiter(node, event, 5.0, seen))
    node.env.run(until=2)
    assert seen == [(1.0, "done")]


def test_a_crash_while_waiting_ends_the_wait_and_its_timer_does_nothing() -> None:
    node = _node()
    event, seen = node.env.event(), []
    node.spawn(_waiter(node, event, 2.0, seen))
    _at(node, 1.0, lambda: node.crash("test"))
    node.env.run(until=10)  # the timer at 2 finds no one waiting: no error, nothing seen
    assert seen == [] and node.state == "crashed"


def test_a_wait_that_times_out_during_a_pause_returns_after_the_pause() -> None:
    node = _node()
    event, seen = node.env.event(), []
    node.spawn(_waiter(node, event, 2.0, seen))
    _at(node, 1.0, node.pause)
    _at(node, 4.0, node.resume)
    node.env.run(until=10)
    assert seen == [(4.0, None)]


def test_later_acts_after_the_delay() -> None:
    node = _node()
    done: list[float] = []
    node.later(1.5, lambda: done.append(node.env.now))
    node.env.run(until=10)
    assert done == [1.5]


def test_later_does_nothing_if_the_node_crashes_meanwhile_even_after_a_restart() -> None:
    node = _node()
    done: list[float] = []
    node.later(2.0, lambda: done.append(node.env.now))
    _at(node, 1.0, lambda: node.crash("test"))
    _at(node, 1.5, node.restart)
    node.env.run(until=10)
    assert done == [] and node.state == "up"


def test_later_waits_for_the_end_of_a_pause() -> None:
    node = _node()
    done: list[float] = []
    node.later(2.0, lambda: done.append(node.env.now))
    _at(node, 1.0, node.pause)
    _at(node, 5.0, node.resume)
    node.env.run(until=10)
    assert done == [5.0]


def test_later_during_a_pause_then_a_crash_does_nothing() -> None:
    node = _node()
    done: list[float] = []
    node.later(2.0, lambda: done.append(node.env.now))
    _at(node, 1.0, node.pause)
    _at(node, 3.0, lambda: node.crash("test"))
    node.env.run(until=10)
    assert done == []


def test_timers_leave_nothing_for_the_cycle_collector() -> None:
    # A closure naming itself, or a wait's timer holding the waiting process after the wait,
    # is a reference cycle per call: freed only by the cyclic collector, it piles up between
    # collections (a 10^6-event run peaked at 1.3 GB instead of 380 MB with one such cycle).
    node = _node()
    seen: list[Any] = []
    gc.collect()
    gc.disable()
    try:
        for i in range(50):
            node.later(0.1 * i, lambda: None)
            event = node.env.event()
            node.spawn(_waiter(node, event, 1.0, seen))
            if i % 2:
                _at(node, 0.5, lambda ev=event: ev.succeed(1))
        node.env.run(until=20)
        del event
        assert len(seen) == 50
        assert gc.collect() == 0
    finally:
        gc.enable()
