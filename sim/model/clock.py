"""The simulation clock: SimPy's environment, with a timer that is one heap entry and a tighter
run loop.

A model schedules many plain actions (a message arriving, an acknowledgement sent after its
fsync, a fault starting): nothing waits for them, so they need no SimPy event. :func:`call_later`
puts a :class:`Call` on SimPy's own queue, exactly where ``env.timeout(delay)`` would have put
its event (same time, priority and place in the order of creation), and the kernel calls it
when it is popped, as it calls an event's callbacks. Processes, events and timeouts work as
they always do beside it, on any ``simpy.Environment``.

:class:`Clock` only runs the same queue faster: :meth:`Clock.run` pops and calls in one loop
instead of one ``step()`` call per entry, with SimPy's semantics (an ``until`` time stops
before the entries due at it; a failed event nobody defused raises).
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

import simpy
from simpy.core import NORMAL, URGENT


class Call:
    """An action due at a time: ``fn(call)`` is called when the kernel pops it (``call.arg``
    is what it was given). It has what the kernel reads of an event (``callbacks``, ``_ok``)
    and nothing else."""

    __slots__ = ("callbacks", "arg")
    _ok = True
    _value = None

    def __init__(self, fn: Callable[[Any], None], arg: Any = None) -> None:
        self.callbacks: Any = [fn]
        self.arg = arg


def call_later(
    env: simpy.Environment, delay: float, fn: Callable[[Any], None], arg: Any = None
) -> None:
    """Call ``fn(call)`` in ``delay`` simulated seconds (``call.arg`` is ``arg``), ordered
    among same-time entries as ``env.timeout(delay)`` made now would be."""
    entry: Any = (env._now + delay, NORMAL, next(env._eid), Call(fn, arg))
    heappush(env._queue, entry)


class Clock(simpy.Environment):
    """A ``simpy.Environment`` whose :meth:`run` to a time runs the queue in one loop."""

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
        queue = self._queue
        while True:
            self._now, _, _, event = heappop(queue)  # never empty: `stop` is in it
            if event is stop:
                return None
            callbacks, event.callbacks = event.callbacks, None  # type: ignore[assignment]
            for callback in callbacks:
                callback(event)
            if not event._ok and not hasattr(event, "_defused"):
                exc = type(event._value)(*event._value.args)
                exc.__cause__ = event._value
                raise exc
