"""Tasks: a node's light processes.

A task is a generator that a node runs on SimPy's queue by callbacks instead of as a SimPy
process. It yields *commands*: :class:`Sleep` (``node.sleep``), :class:`Ask` (``node.call``),
:class:`Wait` (``node.wait_for``), or a SimPy event (wait for it). A command resumes the task in
the kernel step that ends it: a sleep in its timer's step, a wait in the step of its event or
its timer, a request in the step that handles its reply (a process is resumed one step later,
at the same instant) or its timer; with the same pause rules as a process (a sleep or a wait
that ends during a pause resumes the task only once the pause is over). A command costs a heap
entry or none where a process paid for an event, a timeout and SimPy's resume.

A task starts in the kernel's next urgent step, where a SimPy process would start. It dies with
its node: a crash closes every task of the node (their ``finally`` blocks run) and a task that
crashes its node itself (a crash armed on a protocol step it reached) stops where it is.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from functools import partial
from typing import Any, Protocol

import simpy
from simpy import Event  # (a module global: compiled, simpy.Event is an attribute lookup per read)

from .clock import Call, Clock, Timer, Timers, call_later, call_soon

TaskGenerator = Generator[Any, Any, Any]

PENDING: Any = object()
"""What a command's :meth:`start` returns when the task must wait (else: the value at once)."""


class Node(Protocol):
    """What a task uses of its node (``node.py``)."""

    env: Clock
    state: str
    tasks: dict[Task, None]
    running_task: Task | None
    requests: Any
    request_timeout: float
    timers: Timers

    def send(self, dst: str, payload: Any) -> None: ...

    def when_resumed(self, callback: Callable[[], None]) -> None: ...


class NodeCrashed(Exception):
    """Raised in a node's own running process or task when it crashes itself (a step-triggered
    crash)."""


class Task:
    """One light process of ``node`` (see the module's docstring)."""

    __slots__ = ("node", "gen", "alive", "done")

    def __init__(
        self, node: Node, gen: TaskGenerator, done: Callable[[Any], None] | None = None
    ) -> None:
        self.node = node
        self.gen = gen
        self.alive = True
        self.done = done
        """Called with the task's return value when it returns (not when it is closed)."""
        node.tasks[self] = None
        call_soon(node.env, self._start)

    @property
    def is_alive(self) -> bool:
        return self.alive

    def _start(self, _call: Call) -> None:
        if self.alive:
            self.resume(None)

    def resume(self, value: Any) -> None:
        """Send ``value`` into the task and run it to its next wait."""
        node = self.node
        previous, node.running_task = node.running_task, self
        try:
            while True:
                try:
                    command = self.gen.send(value)
                except StopIteration as stop:
                    self._end()
                    if self.done is not None:
                        self.done(stop.value)
                    return
                except NodeCrashed:
                    self._end()
                    return
                if isinstance(command, Event):
                    value = _on_event(self, command)
                else:
                    value = command.start(self)
                if value is PENDING:
                    return
        finally:
            node.running_task = previous

    def wake(self, value: Any = None) -> None:
        """Resume with ``value`` now, or once the node's pause is over (unless it died)."""
        if not self.alive:
            return
        if self.node.state == "paused":
            self.node.when_resumed(partial(self.wake, value))
        else:
            self.resume(value)

    def close(self) -> None:
        """End the task where it waits (its node crashed, or it was stopped)."""
        if self.alive:
            self._end()
            self.gen.close()

    interrupt = close

    def _end(self) -> None:
        self.alive = False
        self.node.tasks.pop(self, None)


def _on_event(task: Task, event: simpy.Event) -> Any:
    """A plain ``yield event``: its value at once if it was processed, else once it is."""
    if event.callbacks is None:
        return event._value
    event.callbacks.append(partial(_event_happened, task))
    return PENDING


def _event_happened(task: Task, event: simpy.Event) -> None:
    if task.alive:
        task.resume(event._value)


class Sleep:
    """Resume after ``delay`` simulated seconds, and after a pause (``Node.sleep``)."""

    __slots__ = ("delay", "task")

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def start(self, task: Task) -> Any:
        self.task = task
        call_later(task.node.env, self.delay, self._slept)
        return PENDING

    def _slept(self, _call: Call) -> None:
        self.task.wake(None)


class Wait:
    """Wait for ``event`` at most ``timeout`` seconds; resume with its value, or None on timeout,
    and after a pause (``Node.wait_for``)."""

    __slots__ = ("event", "timeout", "task", "waiting", "timer")

    def __init__(self, event: simpy.Event, timeout: float) -> None:
        self.event = event
        self.timeout = timeout
        self.waiting = False

    def start(self, task: Task) -> Any:
        self.task = task
        event = self.event
        if event.callbacks is None:  # already happened
            if task.node.state == "paused":
                task.node.when_resumed(partial(task.wake, event._value))
                return PENDING
            return event._value
        event.callbacks.append(self._happened)
        self.waiting = True
        self.timer = task.node.timers.start(self.timeout, self._expired)
        return PENDING

    def _happened(self, event: simpy.Event) -> None:
        if self.waiting:
            self.waiting = False
            self.timer.cancel()
            self.task.wake(event._value)

    def _expired(self, _timer: Timer) -> None:
        if not self.waiting:
            return
        self.waiting = False
        callbacks = self.event.callbacks
        if callbacks is not None:
            callbacks.remove(self._happened)
        self.task.wake(None)


class Ask:
    """Send ``make(request_id)`` to ``dst`` and resume with the reply (resolved through the
    node's ``requests`` by a reply handler); resend on timeout if ``retry``, else resume with
    None (``Node.call``). The reply is taken as soon as the message that carries it is
    handled."""

    __slots__ = ("dst", "make", "retry", "timeout", "task", "key", "waiting", "turn", "timer")

    def __init__(
        self,
        dst: str,
        make: Callable[[int], Any],
        retry: bool = True,
        timeout: float | None = None,
    ) -> None:
        self.dst = dst
        self.make = make
        self.retry = retry
        self.timeout = timeout
        self.waiting = False
        self.turn = 0

    def start(self, task: Task) -> Any:
        self.task = task
        self._send()
        return PENDING

    def _send(self) -> None:
        node = self.task.node
        self.key = key = node.requests.next_key()
        node.requests.wait(key, self._resolved)
        node.send(self.dst, self.make(key))
        self.waiting = True
        self.turn += 1
        wait = node.request_timeout if self.timeout is None else self.timeout
        self.timer = node.timers.start(wait, self._expired, self.turn)

    def _resolved(self, reply: Any) -> None:
        if self.waiting and self.task.alive:
            self.waiting = False
            self.timer.cancel()
            self.task.wake(reply)

    def _expired(self, call: Timer) -> None:
        if call.arg != self.turn or not self.waiting or not self.task.alive:
            return
        self.waiting = False
        task = self.task
        if task.node.state == "paused":
            task.node.when_resumed(self._unanswered)
        else:
            self._unanswered()

    def _unanswered(self) -> None:
        task = self.task
        if not task.alive:
            return
        if task.node.state == "paused":
            task.node.when_resumed(self._unanswered)
            return
        task.node.requests.forget(self.key)
        if self.retry:
            self._send()
        else:
            task.resume(None)
