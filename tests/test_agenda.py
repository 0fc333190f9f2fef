"""The agenda pops in SimPy's order: the same entries as ``heapq`` over SimPy's tuples, and a
Clock runs processes exactly as a plain ``simpy.Environment`` does."""

from __future__ import annotations

import heapq
from typing import Any

import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.model.agenda import COMPILED, Agenda, TupleAgenda, new_agenda
from sim.model.clock import Clock

TIMES = st.one_of(st.integers(0, 5), st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 1e-9, 3.25]))
"""Few distinct times, ints among them: many ties, broken by priority, then number."""

STEP = st.one_of(
    st.tuples(st.just("push"), TIMES, st.sampled_from([-1, 0, 1])),
    st.tuples(st.just("take"), TIMES, st.sampled_from([0, 1])),  # a number now, pushed later
    st.tuples(st.just("pop"), st.just(0), st.just(0)),
)


@pytest.mark.parametrize("kind", [Agenda, TupleAgenda])
@settings(max_examples=200, deadline=None)
@given(st.lists(STEP, max_size=120))
def test_entries_come_out_as_heapq_orders_simpys_tuples(
    kind: type[Agenda | TupleAgenda], steps: list[tuple[str, Any, int]]
) -> None:
    agenda, heap = kind(), []
    taken: list[tuple[Any, int, int]] = []  # numbers taken, not pushed yet
    out_agenda: list[tuple[Any, int, int, str]] = []
    out_heap: list[tuple[Any, int, int, str]] = []
    for i, (what, time, priority) in enumerate(steps):
        name = f"e{i}"
        if what == "push":
            number = agenda.count
            agenda.push(time, priority, name)
            heapq.heappush(heap, (time, priority, number, name))
        elif what == "take":
            taken.append((time, priority, agenda.number()))
        else:
            if taken:  # a taken number goes in before the next pop
                t, p, n = taken.pop(0)
                agenda.push_numbered(t, p, n, name)
                heapq.heappush(heap, (t, p, n, name))
            if not heap:
                with pytest.raises(IndexError):
                    agenda.pop()
                continue
            e = agenda.pop()
            out_agenda.append((e.time, e.priority, e.number, e.event))
            out_heap.append(heapq.heappop(heap))
        assert len(agenda) == len(heap)
        assert agenda.first_time() == (heap[0][0] if heap else float("inf"))
    while heap:
        e = agenda.pop()
        out_agenda.append((e.time, e.priority, e.number, e.event))
        out_heap.append(heapq.heappop(heap))
    assert out_agenda == out_heap
    assert [type(t) for t, *_ in out_agenda] == [type(t) for t, *_ in out_heap]  # ints stay ints
    assert agenda.popped == len(out_heap)


def _trace(env: simpy.Environment, plan: list[tuple[float, int]]) -> list[tuple[Any, str]]:
    """Processes that sleep, wake each other and fail, as seen from the outside."""
    seen: list[tuple[Any, str]] = []
    signal = env.event()

    def worker(k: int, delays: tuple[float, ...]) -> Any:
        for d in delays:
            yield env.timeout(d)
            seen.append((env.now, f"w{k}"))
            if k == 1 and not signal.triggered:
                signal.succeed(k)

    def waiter() -> Any:
        value = yield signal
        seen.append((env.now, f"signal {value}"))

    def failing() -> Any:
        yield env.timeout(1)
        raise ValueError("boom")

    def watcher(p: simpy.Process) -> Any:
        try:
            yield p
        except ValueError:
            seen.append((env.now, "caught"))

    for k, (delay, repeat) in enumerate(plan):
        env.process(worker(k, (delay,) * repeat))
    env.process(waiter())
    env.process(watcher(env.process(failing())))
    env.run(until=20)
    env.run()  # what is left, with SimPy's own loop (step)
    return seen


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0, 1, 0.5, 2, 0.25]), st.integers(1, 6)), max_size=8))
def test_a_clock_runs_processes_as_simpy_does(plan: list[tuple[float, int]]) -> None:
    assert _trace(Clock(), plan) == _trace(simpy.Environment(), plan)


def test_a_failure_nobody_defused_crashes_the_clock_as_it_crashes_simpy() -> None:
    for env in (Clock(), simpy.Environment()):
        event = env.event()
        event.fail(KeyError("lost"))
        with pytest.raises(KeyError) as raised:
            env.run(until=1)
        assert raised.value.__cause__ is not None
    assert Clock().peek() == float("inf")
    with pytest.raises(simpy.core.EmptySchedule):
        Clock().step()


def test_a_clock_runs_on_the_typed_heap_compiled_and_on_heapq_as_pure_python() -> None:
    import sim.compiled

    compiled = sim.compiled.loaded()["sim.model.agenda"]
    assert COMPILED is compiled
    assert type(new_agenda()) is (Agenda if compiled else TupleAgenda)
    assert type(Clock()._queue) is type(new_agenda())
