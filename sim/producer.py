"""The producer: the application that turns business events into produce requests.

Its policy decides whether it waits for the broker's acknowledgement and whether it resends
after ``request_timeout`` (with exponential backoff). Unacknowledged events live only in its
memory, so a producer crash loses them.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from .messages import Envelope, Produce, ProduceAck, Record
from .node import Node, RequestTracker
from .rng import stable_index
from .workload import Arrival

if TYPE_CHECKING:
    from .world import World


class Producer(Node):
    role = "producer"

    def __init__(self, name: str, world: World) -> None:
        super().__init__(name, world)
        self.cfg = world.cfg.producer
        self.policy = world.strategy.producer
        self.partitions = world.cfg.topology.partitions
        self.acks = RequestTracker(self)

    def partition_of(self, key: int) -> int:
        return stable_index(f"key-{key}", self.partitions)

    def on_crash(self) -> None:
        self.acks.clear()

    def arrive(self, a: Arrival) -> None:
        """A business event arrives from the application (dropped if the producer is down)."""
        if self.state == "crashed":
            return
        self.spawn(self._publish(a))

    def _publish(self, a: Arrival) -> Generator[Any, Any, None]:
        yield from self.unpaused()
        part = self.partition_of(a.key)
        rec = Record(a.eid, a.key, part, a.time, a.process_time)
        self.record("create", self.name, (a.eid,), part=part, num=a.key, info=repr(a.time))
        broker = self.world.leader_of(part)
        if not self.policy.await_ack:
            self.send(broker, Produce(rec, 1))
            self.record("release", self.name, (a.eid,), info="sent")
            self.record("outcome", self.name, (a.eid,), info="ok")
            return
        _, acked = self.acks.new(a.eid)
        attempt = 0
        backoff = self.cfg.backoff
        while True:
            attempt += 1
            self.send(broker, Produce(rec, attempt))
            self.reach("after-send-before-ack")
            result = yield from self.wait_for(acked, self.cfg.request_timeout)
            if result is not None:
                self.record("release", self.name, (a.eid,), info="acked")
                self.record("outcome", self.name, (a.eid,), info="ok")
                return
            retries_left = self.cfg.retries is None or attempt <= self.cfg.retries
            if not (self.policy.retry and retries_left):
                self.acks.forget(a.eid)
                self.record("release", self.name, (a.eid,), info="gave-up")
                self.record("outcome", self.name, (a.eid,), info="fail")
                return
            pause = min(backoff.max, backoff.initial * backoff.multiplier ** (attempt - 1))
            if pause > 0:
                yield from self.sleep(pause)
            if acked.triggered:  # the ack of an earlier attempt arrived during the backoff
                self.record("release", self.name, (a.eid,), info="acked")
                self.record("outcome", self.name, (a.eid,), info="ok")
                return

    def handle(self, env: Envelope) -> None:
        msg = env.payload
        if isinstance(msg, ProduceAck):
            self.acks.resolve(msg.eid, msg.offset)
