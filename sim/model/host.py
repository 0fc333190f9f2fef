"""What a node's behaviours may use of the node that owns them.

Behaviours (a broker's store, a producer's publisher, a consumer's commit mode, ...) are
handed their node, typed by the protocols here rather than by the node classes, so the node
modules import their behaviours and never the other way round. Each protocol lists exactly
what its behaviours touch.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, Protocol

import simpy

from ..config.models import ConsumerGroup
from ..core.topology import Topology
from ..history.recorder import RecordOp
from .clock import Clock, Timers
from .messages import Envelope, Message, OffsetMove, ReceiveResponse, Record
from .node import RequestTracker
from .tasks import Task, TaskGenerator


class NodeHost(Protocol):
    """The lifecycle and messaging every node offers (``node.py``)."""

    name: str
    env: Clock
    state: str
    incarnation: int
    record: RecordOp
    topology: Topology
    request_timeout: float
    timers: Timers

    def send(self, dst: str, payload: Message) -> None: ...

    def on(self, kind: type, handler: Callable[[Envelope], None]) -> None: ...

    def spawn(self, gen: Generator[Any, Any, Any]) -> simpy.Process: ...

    def task(self, gen: TaskGenerator, done: Callable[[Any], None] | None = None) -> Task: ...

    def sleep(self, delay: float) -> Generator[Any, Any, None]: ...

    def unpaused(self) -> Generator[Any, Any, None]: ...

    def wait_for(self, event: simpy.Event, timeout: float) -> Generator[Any, Any, Any]: ...

    def call(
        self,
        dst: str,
        make: Callable[[int], Message],
        retry: bool = True,
        timeout: float | None = None,
    ) -> Generator[Any, Any, Any]: ...

    def reach(self, step: str) -> None: ...

    def when_resumed(self, callback: Callable[[], None]) -> None: ...


class ProducerHost(NodeHost, Protocol):
    acks: RequestTracker
    attempts: dict[str, int]

    def finish(self, eids: tuple[str, ...], copy: str, outcome: str) -> None: ...


class CommitHooks(Protocol):
    """A consumer's commit mode as its consumption loops call it (``consumer/commit.py``)."""

    def before_poll(self) -> None: ...

    def before_revoke(self, partitions: list[int]) -> Generator[Any, Any, None]: ...

    def fetch_positions(self, partitions: list[int]) -> Generator[Any, Any, None]: ...

    def consume(self, broker: str, batch: list[Record]) -> Generator[Any, Any, None]: ...

    def consume_queue(self, broker: str, reply: ReceiveResponse) -> Generator[Any, Any, None]: ...


class ConsumerHost(NodeHost, Protocol):
    group: ConsumerGroup
    group_name: str
    sink: str
    fetch_wait: float
    max_receives: int | None
    max_records: int
    visibility_heartbeat: float | None
    dead_letters: bool
    assigned: list[int]
    positions: dict[int, int]
    processed: dict[int, int]
    committed: dict[int, int]
    epochs: dict[int, int]
    generation: int
    to_revoke: set[int]
    to_take: set[int]
    changed: simpy.Event
    member_id: str
    instance: str
    last_heartbeat: float
    last_poll: float
    polled: simpy.Event
    contact: simpy.Event
    fetches: int
    commits: int
    """Offset commits it created (this incarnation): their order."""

    def mark_polled(self) -> None: ...

    def forget(self, partitions: list[int]) -> None: ...

    def abandon(self, why: str, partitions: list[int]) -> None: ...

    @property
    def commit(self) -> CommitHooks: ...

    def consume(self, broker: str, batch: list[Record]) -> Generator[Any, Any, None]: ...

    def process(
        self,
        rec: Record,
        offsets: dict[int, OffsetMove] | None = None,
        attempts: int | None = None,
        dead_letter: bool | None = None,
    ) -> Generator[Any, Any, Any]: ...
