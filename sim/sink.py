"""The sink: the database where consumers apply effects.

Each transaction is atomic and durable: all its effects are applied together, and a crash
keeps them. The effects table is the sink's own state; the checker counts effects from the
history, and the run verifies that the two agree.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from .messages import Envelope, SinkAck, SinkTxn
from .node import Node

if TYPE_CHECKING:
    from .world import World


class Sink(Node):
    role = "sink"

    def __init__(self, name: str, world: World) -> None:
        super().__init__(name, world)
        self.effects: Counter[str] = Counter()  # durable

    def handle(self, env: Envelope) -> None:
        msg = env.payload
        if isinstance(msg, SinkTxn):
            eids = tuple(r.eid for r in msg.records)
            for eid in eids:
                self.effects[eid] += 1
            self.record("effect", self.name, eids, peer=env.src, num=env.msgid)
            self.send(env.src, SinkAck(msg.request, eids))
