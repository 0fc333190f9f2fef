"""What a node is given: a small context instead of the world.

A node sees the clock, the recorder, the wire it sends on, the topology (where to send), the
run's random streams and the hook that reports protocol steps to the fault injector. Its own
config section and its strategy's behaviour are passed to it by the world, which wires
everything explicitly (``world.py``). Nothing here knows the other nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..core.rng import Streams
from ..core.topology import Topology
from ..history.recorder import RecordOp
from .clock import Clock
from .messages import Envelope, Message


class Wire(Protocol):
    """The network as a node sees it."""

    def send(self, src: str, dst: str, payload: Message) -> None: ...

    def delivered(self, env: Envelope) -> None: ...

    def dropped(self, env: Envelope, cause: str) -> None: ...

    def reconnect(self, node: str) -> None: ...


class StepHook(Protocol):
    """The fault injector as a node sees it: a crash may be armed on a protocol step."""

    def reached(self, node: str, step: str) -> None: ...

    def armed_steps(self, node: str) -> frozenset[str]: ...


@dataclass
class Context:
    env: Clock
    record: RecordOp
    wire: Wire
    topology: Topology
    streams: Streams
    steps: StepHook
    request_timeout: float
    """How long a node waits for a reply before it resends (``producer.request_timeout``)."""
