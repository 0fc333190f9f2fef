"""The simulation clock: SimPy's environment, with a typed queue, a timer that is one queue entry
and a tighter run loop.

:class:`Clock` is a ``simpy.Environment`` whose queue is an :class:`~sim.model.agenda.Agenda`
(the same order as SimPy's list of tuples, compared in C): its ``schedule``, ``peek`` and
``step`` are SimPy's on that queue, and :meth:`Clock.run` to a time pops and calls in one loop
instead of one ``step()`` call per entry, with SimPy's semantics (an ``until`` time stops
before the entries due at it; a failed event nobody defused raises). Processes, events and
timeouts work on it as they do on any environment; the model runs on a :class:`Clock`.

A model schedules many plain actions (a message arriving, an acknowledgement sent after its
fsync, a fault starting): nothing waits for them, so they need no SimPy event. :func:`call_later`
puts a :class:`Call` on the queue, exactly where ``env.timeout(delay)`` would have put its event
(same time, priority and place in the order of creation), and the kernel calls it when it is
popped, as it calls an event's callbacks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import simpy
from simpy.core import NORMAL, URGENT, EmptySchedule, StopSimulation

from ..core.now import Now
from .agenda import AnyAgenda, Entry, new_agenda


class Call:
    """An action due at a time: ``fn(call)`` is called when the kernel pops it (``call.arg``
    is what it was given). It has what the kernel reads of an event (``callbacks``, ``_ok``)
    and nothing else; a subclass adds what its callbacks read (a message's arrival is one:
    ``sim/model/messages.py``'s ``Envelope``)."""

    __slots__ = ("callbacks", "arg")
    _ok = True
    _value = None

    def __init__(self, fn: Callable[[Any], None], arg: Any = None) -> None:
        self.callbacks: Any = [fn]
        self.arg = arg


def call_later(env: Clock, delay: float, fn: Callable[[Any], None], arg: Any = None) -> None:
    """Call ``fn(call)`` in ``delay`` simulated seconds (``call.arg`` is ``arg``), ordered
    among same-time entries as ``env.timeout(delay)`` made now would be."""
    queue: AnyAgenda = env._queue
    queue.push(env._now + delay, NORMAL, Call(fn, arg))


def call_soon(env: Clock, fn: Callable[[Any], None], arg: Any = None) -> None:
    """Call ``fn(call)`` now, before the entries already due now: where ``env.process(gen)``
    made now puts its start (an urgent entry), so a callback that does what a spawned process
    did starts exactly where the process would have."""
    queue: AnyAgenda = env._queue
    queue.push(env._now, URGENT, Call(fn, arg))


class Timeline(Now):
    """The time and the queue of what is due: in the compiled build both are fields of a C
    struct, which the run loop, :func:`call_later` and the timers read and write in C."""

    _queue: AnyAgenda


class Clock(Timeline, simpy.Environment):  # type: ignore[misc]  # (_queue: an agenda, not a list)
    """A ``simpy.Environment`` on an :class:`~sim.model.agenda.Agenda`, whose :meth:`run` to
    a time runs the queue in one loop."""

    def __init__(self, initial_time: float = 0) -> None:
        # (what simpy.Environment.__init__ sets, with the agenda for its list of tuples; its
        # bind_early binds nothing on a subclass, whose own __dict__ holds no BoundClass)
        self._now = initial_time
        self._queue = new_agenda()
        self._eid = None  # type: ignore[assignment]  # the agenda numbers the entries
        self._active_proc = None

    def schedule(self, event: simpy.Event, priority: Any = NORMAL, delay: Any = 0) -> None:
        self._queue.push(self._now + delay, priority, event)

    def peek(self) -> Any:
        return self._queue.first_time()

    def step(self) -> None:
        try:
            entry = self._queue.pop()
        except IndexError:
            raise EmptySchedule from None
        self._now = entry.time
        event = entry.event
        callbacks, event.callbacks = event.callbacks, None
        try:
            for callback in callbacks:
                callback(event)
        except StopSimulation:  # (as SimPy's step: the rest run when the simulation resumes)
            event.callbacks = callbacks[callbacks.index(callback) + 1 :]
            self.schedule(event, -1)
            raise
        if not event._ok and not hasattr(event, "_defused"):
            _raise_failure(event)

    def run(self, until: Any = None) -> Any:
        if until is None or isinstance(until, simpy.Event):
            return super().run(until)
        at = float(until)
        if at <= self._now:
            raise ValueError(f"until ({at}) must be greater than the current simulation time")
        stop = simpy.Event(self)  # scheduled as SimPy's run schedules its own: urgent, at `at`
        stop._ok = True
        stop._value = None
        self.schedule(stop, URGENT, at - self._now)
        _run_to(self, self._queue, stop)
        return None


def _run_to(env: Clock, queue: AnyAgenda, stop: simpy.Event) -> None:
    """Pop and call until ``stop`` comes out (the queue is never empty before: it holds it)."""
    while True:
        entry: Entry = queue.pop()
        env._now = entry.time
        event = entry.event
        if isinstance(event, Call):  # (the commonest entries, a message's arrival among them,
            # read as what they are: they never fail)
            call: Call = event
            callbacks = call.callbacks
            call.callbacks = None
            for callback in callbacks:
                callback(call)
            continue
        if event is stop:
            return
        callbacks, event.callbacks = event.callbacks, None
        for callback in callbacks:
            callback(event)
        if not event._ok and not hasattr(event, "_defused"):
            _raise_failure(event)


def _raise_failure(event: simpy.Event) -> None:
    """A failed event nobody defused crashes the run, with a copy of its exception."""
    exc = type(event._value)(*event._value.args)
    exc.__cause__ = event._value
    raise exc


class Timer:
    """A timer of :class:`Timers`: ``fn(timer)`` at ``time`` unless cancelled (``timer.arg`` is
    what it was given)."""

    __slots__ = ("time", "eid", "fn", "arg", "live", "queued")
    _ok = True  # it is what a process resumed by the timer is given, as a timeout would be
    _value = None

    def __init__(self, time: float, eid: int, fn: Callable[[Any], None], arg: Any) -> None:
        self.time = time
        self.eid = eid
        self.fn: Callable[[Any], None] | None = fn
        self.arg = arg
        self.live = True
        self.queued = False
        """Whether the kernel entry that fires it is on the kernel's queue."""

    def cancel(self) -> None:
        """It will not fire (and lets go of its callback: a callback's object usually keeps
        its timer, and the pair would be a reference cycle)."""
        self.live = False
        self.fn = self.arg = None


class Timers:
    """Timers that are mostly cancelled (a request's timeout, when its reply comes first), with
    one kernel entry for the earliest live one instead of one each.

    A timer takes its place in the kernel's order when it is started (its entry number, as
    ``env.timeout`` made then would), and the kernel entry that fires it is pushed with that
    place once it is the earliest: it pops exactly where that timeout would have popped, and a
    cancelled timer costs no step at all (it is dropped when it comes to the head)."""

    def __init__(self, env: Clock) -> None:
        self.env = env
        self._heap = new_agenda()
        """The live timers (and cancelled ones not yet dropped), earliest first."""
        self._armed: Timer | None = None

    def start(self, delay: float, fn: Callable[[Any], None], arg: Any = None) -> Timer:
        """Call ``fn(timer)`` in ``delay`` simulated seconds unless the timer is cancelled."""
        env = self.env
        queue: AnyAgenda = env._queue
        time, eid = env._now + delay, queue.number()
        timer = Timer(time, eid, fn, arg)
        self._heap.push_numbered(time, NORMAL, eid, timer)
        armed = self._armed
        if armed is None or time < armed.time or (time == armed.time and eid < armed.eid):
            self._arm(timer)
        return timer

    def _arm(self, timer: Timer) -> None:
        self._armed = timer
        if not timer.queued:  # (armed before, then passed over for an earlier one: still queued)
            timer.queued = True
            queue: AnyAgenda = self.env._queue
            queue.push_numbered(timer.time, NORMAL, timer.eid, Call(self._fire, timer))

    def _fire(self, call: Call) -> None:
        call.arg.queued = False
        if call.arg is not self._armed:
            return  # an earlier timer was armed since, or it was cancelled and passed over
        heap = self._heap
        timer = heap.pop().event  # (the armed timer is always the heap's head)
        if timer.live:  # (a timer it starts is later than this one: it arms none)
            timer.live = False
            fn, timer.fn = timer.fn, None
            assert fn is not None
            fn(timer)
            timer.arg = None
        self._armed = None
        while len(heap) and not heap.first().event.live:
            heap.pop()
        if len(heap):
            self._arm(heap.first().event)


def timers_of(env: Clock) -> Timers:
    """The :class:`Timers` of ``env`` (one per environment, made when first asked for)."""
    found = env.__dict__.get("_msgsim_timers")
    if found is None:
        found = env.__dict__["_msgsim_timers"] = Timers(env)
    return found
