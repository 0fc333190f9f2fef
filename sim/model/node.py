"""Node lifecycle: up, paused, crashed, restarting.

A node owns SimPy processes. A crash interrupts all of them at once and discards the node's
volatile state (its ``on_crash`` hook); durable state is whatever the subclass keeps outside
that hook. ``restart`` runs the subclass's recovery (``on_start``). A pause freezes the node:
messages wait at its door and its timers fire late, as in a long GC pause.

Messages are handled by type: a node (or a behaviour it owns) registers a handler per message
class with :meth:`Node.on`; a message of a type nobody registered is ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import simpy
from simpy import Event  # (a module global: compiled, simpy.Event is an attribute lookup per read)
from simpy.events import PENDING

from ..history import causes
from ..history.ops import Op
from .clock import Clock, call_later, timers_of
from .context import Context
from .messages import Envelope, Message
from .tasks import NodeCrashed, Task, TaskGenerator

__all__ = ["Handover", "Node", "NodeCrashed", "RequestTracker"]


class Node:
    role = "node"

    def __init__(self, name: str, ctx: Context) -> None:
        self.name = name
        self.ctx = ctx
        self.env: Clock = ctx.env
        self.record = ctx.record
        self.topology = ctx.topology
        self.state = "up"
        self.incarnation = 0
        self._procs: dict[simpy.Process, None] = {}
        """The node's live processes, in the order they started (a crash interrupts them in
        that order: a set's order would follow memory addresses)."""
        self.tasks: dict[Task, None] = {}
        """The node's live tasks (``tasks.py``), in the order they started."""
        self.running_task: Task | None = None
        """The task of this node running now, if one is."""
        self._held: list[Envelope] = []
        self._resumed: simpy.Event | None = None
        self.disk_loss_armed = False
        self._send = ctx.wire.send
        self._armed_steps = ctx.steps.armed_steps(name)
        """The steps a crash of this node is armed on (the only ones worth reporting)."""
        self.requests = RequestTracker(self.env)
        self.timers = timers_of(self.env)
        self.request_timeout = ctx.request_timeout
        self._handlers: dict[type, Callable[[Envelope], None]] = {}

    # ------------------------------------------------------------------ processes

    def spawn(self, gen: Generator[Any, Any, Any]) -> simpy.Process:
        """Run ``gen`` as one of this node's processes: it dies with the node."""
        proc = simpy.Process(self.env, self._guard(gen))  # (env.process, without its descriptor)
        self._procs[proc] = None
        return proc

    def task(self, gen: TaskGenerator, done: Callable[[Any], None] | None = None) -> Task:
        """Run ``gen`` as one of this node's tasks (light processes, ``tasks.py``): it dies
        with the node; ``done`` is told what it returns."""
        return Task(self, gen, done)

    def _guard(self, gen: Generator[Any, Any, Any]) -> Generator[Any, Any, Any]:
        try:
            return (yield from gen)
        except (simpy.Interrupt, NodeCrashed):
            return None
        finally:
            self._procs.pop(self.env._active_proc, None)  # type: ignore[arg-type]

    def sleep(self, delay: float) -> Generator[Any, Any, None]:
        """Wait ``delay`` simulated seconds; if paused meanwhile, wake only after the pause."""
        yield simpy.Timeout(self.env, delay)
        yield from self.unpaused()

    def later(self, delay: float, action: Callable[[], None]) -> None:
        """Do ``action`` in ``delay`` simulated seconds, as a process that slept that long would:
        not at all if the node crashes meanwhile, only after the pause if it is paused then.
        A timer callback, not a process: one SimPy event instead of three."""
        call_later(self.env, delay, Later(self, action).fire)

    def unpaused(self) -> Generator[Any, Any, None]:
        while self.state == "paused":
            assert self._resumed is not None
            yield self._resumed

    def wait_for(self, event: simpy.Event, timeout: float) -> Generator[Any, Any, Any]:
        """Wait for ``event`` at most ``timeout`` seconds; return its value, or None on timeout."""
        if event.callbacks is None:  # already happened
            yield from self.unpaused()
            return event.value
        expiry = Expiry(self.env._active_proc, event)
        timer = self.timers.start(timeout, expiry)
        try:
            value = yield event
        finally:
            expiry.process = None
            timer.cancel()
        yield from self.unpaused()
        return None if expiry.expired else value

    def call(
        self,
        dst: str,
        make: Callable[[int], Message],
        retry: bool = True,
        timeout: float | None = None,
    ) -> Generator[Any, Any, Any]:
        """Send ``make(request_id)`` to ``dst`` and wait for the reply (resolved through
        ``self.requests`` by a reply handler); resend on timeout if ``retry``, else return None."""
        while True:
            req, ev = self.requests.new()
            self.send(dst, make(req))
            wait = self.request_timeout if timeout is None else timeout
            reply = yield from self.wait_for(ev, wait)
            if reply is not None:
                return reply
            self.requests.forget(req)
            if not retry:
                return None

    def reach(self, step: str) -> None:
        """Report a protocol step; a fault armed on this step crashes the node here."""
        if step in self._armed_steps:
            self.ctx.steps.reached(self.name, step)

    def when_resumed(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` when the current pause ends."""
        assert self._resumed is not None
        self._resumed.callbacks.append(lambda _e: callback())

    # ------------------------------------------------------------------ messaging

    def on(self, kind: type, handler: Callable[[Envelope], None]) -> None:
        """Handle messages of class ``kind`` with ``handler``."""
        self._handlers[kind] = handler

    def on_reply(self, *kinds: type) -> None:
        """Messages of these classes answer a :meth:`call`: resolve the waiting request."""
        for kind in kinds:
            self._handlers[kind] = self._resolve_reply

    def _resolve_reply(self, env: Envelope) -> None:
        self.requests.resolve(env.payload.request, env.payload)  # type: ignore[attr-defined]

    def send(self, dst: str, payload: Message) -> None:
        self._send(self.name, dst, payload)

    def accept(self, env: Envelope) -> None:
        """Called by the network on arrival. Held while paused; handled at once when up."""
        if self.state == "paused":
            self._held.append(env)
            return
        self.ctx.wire.delivered(env)
        self.handle(env)

    def handle(self, env: Envelope) -> None:
        handler = self._handlers.get(type(env.payload))
        if handler is not None:
            handler(env)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self.on_start()

    def on_start(self) -> None:
        """Recovery and main processes; called at time 0 and after every restart."""

    def on_crash(self) -> None:
        """Discard volatile state."""

    def lose_unflushed(self, cause: str) -> None:
        """Drop writes not yet flushed to disk (only called when a disk-loss fault is armed)."""

    def crash(self, cause: str) -> None:
        if self.state == "crashed":
            return
        was_self = self.env.active_process in self._procs or self.running_task is not None
        self.state = "crashed"
        self.incarnation += 1
        self.record(Op.CRASH, self.name, detail=cause)
        me = self.env.active_process
        for proc in list(self._procs):
            if proc is not me and proc.is_alive:
                proc.interrupt("crash")
        self._procs.clear()
        for task in list(self.tasks):
            if task is not self.running_task:
                task.close()
        self.tasks.clear()
        for held in self._held:
            self.ctx.wire.dropped(held, causes.crash(self.name))
        self._held.clear()
        if self._resumed is not None and not self._resumed.triggered:
            self._resumed.succeed()
        self._resumed = None
        self.requests.clear()
        self.on_crash()
        if self.disk_loss_armed:
            self.disk_loss_armed = False
            self.lose_unflushed(causes.disk_loss(self.name))
        if was_self:
            raise NodeCrashed(cause)

    def restart(self) -> None:
        if self.state != "crashed":
            return
        self.state = "up"
        self.record(Op.RESTART, self.name)
        self.ctx.wire.reconnect(self.name)
        self.on_start()

    def pause(self) -> None:
        if self.state != "up":
            return
        self.state = "paused"
        self._resumed = self.env.event()
        self.record(Op.PAUSE, self.name)

    def resume(self) -> None:
        if self.state != "paused":
            return
        self.state = "up"
        self.record(Op.RESUME, self.name)
        ev, self._resumed = self._resumed, None
        if ev is not None:
            ev.succeed()
        held, self._held = self._held, []
        for env in held:
            if self.state != "up":
                self.ctx.wire.dropped(env, causes.crash(self.name))
                continue
            self.ctx.wire.delivered(env)
            self.handle(env)


class Expiry:
    """The timer of :meth:`Node.wait_for`: when it fires first, it takes the waiting process off
    the event and resumes it with no value, as SimPy's own interrupt does; one SimPy event and
    no condition per wait (a reply that comes first leaves the timer with nothing to do)."""

    __slots__ = ("process", "event", "expired")

    def __init__(self, process: simpy.Process | None, event: simpy.Event) -> None:
        self.process = process
        self.event = event
        self.expired = False

    def __call__(self, timer: Any) -> None:
        process, callbacks = self.process, self.event.callbacks
        if process is None or callbacks is None:
            return
        callbacks.remove(process._resume)
        self.expired = True
        process._resume(timer)


class Handover:
    """A process's wait for an answer that a callback gives: :meth:`give` resumes the waiting
    process at once, in the giver's own step (``event.succeed`` would resume it a step later),
    so a process that hands work to callbacks goes on exactly when it would have had it done
    the work itself. An answer given before the process waits is returned without waiting."""

    __slots__ = ("env", "event", "given", "_value")
    _ok = True  # what a process reads of the "event" it is resumed with

    def __init__(self, env: Clock) -> None:
        self.env = env
        self.event = env.event()
        self.given = False
        self._value: Any = None

    def give(self, value: Any) -> None:
        self.given, self._value = True, value
        callbacks = self.event.callbacks
        if callbacks:  # a process waits: resume it now (and leave the active process as it was)
            resume = callbacks.pop()
            active = self.env._active_proc
            resume(self)
            self.env._active_proc = active

    def wait(self) -> Generator[Any, Any, Any]:
        """Yield from this in the waiting process: the answer."""
        if not self.given:
            yield self.event
        return self._value


class Later:
    """The timer callback of :meth:`Node.later` (an object, not a closure that names itself:
    that would be a reference cycle per call, freed only by the cyclic garbage collector)."""

    __slots__ = ("node", "incarnation", "action")

    def __init__(self, node: Node, action: Callable[[], None]) -> None:
        self.node = node
        self.incarnation = node.incarnation
        self.action = action

    def fire(self, _event: Any) -> None:
        node = self.node
        if node.incarnation != self.incarnation:
            return
        if node.state == "paused":
            assert node._resumed is not None
            node._resumed.callbacks.append(self.fire)
            return
        self.action()


class RequestTracker:
    """Outstanding requests of a node, keyed by request id: volatile, cleared by a crash. A
    request is waited for by a process (an event it yields) or by a callback (a node driven
    by its callbacks): :meth:`resolve` triggers the one or calls the other."""

    def __init__(self, env: Clock) -> None:
        self.env = env
        self._next = 0
        self._waiting: dict[Any, simpy.Event | Callable[[Any], None]] = {}

    def new(self, key: Any = None) -> tuple[Any, simpy.Event]:
        if key is None:
            key = self.next_key()
        ev = Event(self.env)
        self._waiting[key] = ev
        return key, ev

    def next_key(self) -> int:
        """A fresh request id."""
        self._next += 1
        return self._next

    def wait(self, key: Any, callback: Callable[[Any], None]) -> None:
        """Call ``callback(reply)`` when ``key`` is resolved (replacing whatever waited)."""
        self._waiting[key] = callback

    def resolve(self, key: Any, value: Any = True) -> bool:
        waiter = self._waiting.pop(key, None)
        if waiter is None:
            return False
        if isinstance(waiter, Event):
            if waiter._value is not PENDING:  # (waiter.triggered, without its Python frame)
                return False
            waiter.succeed(value)
        else:
            waiter(value)
        return True

    def forget(self, key: Any) -> None:
        self._waiting.pop(key, None)

    def clear(self) -> None:
        self._waiting.clear()

    def __contains__(self, key: Any) -> bool:
        return key in self._waiting
