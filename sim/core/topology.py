"""The topology: the single source of node names, partition leaders, coordinators and links.

Config validation (node patterns in faults and links), the world (which nodes exist) and the
nodes themselves (where to send a request) all ask this object; nothing else spells a node
name. Names follow the contract: ``producer-{i}``, ``broker-{i}``, ``consumer-{i}``, ``sink``,
``relay-{i}`` (outbox only) and ``coordinator`` (2PC only).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

SINK = "sink"
TWO_PC_COORDINATOR = "coordinator"


@dataclass(frozen=True)
class Topology:
    producers: int
    brokers: int
    partitions: int
    consumers: int
    relays: bool = False
    """Each producer has an outbox relay ``relay-{i}``."""
    coordinator: bool = False
    """A 2PC transaction coordinator ``coordinator`` exists."""

    @cached_property
    def producer_names(self) -> tuple[str, ...]:
        return tuple(f"producer-{i}" for i in range(self.producers))

    @cached_property
    def broker_names(self) -> tuple[str, ...]:
        return tuple(f"broker-{i}" for i in range(self.brokers))

    @cached_property
    def consumer_names(self) -> tuple[str, ...]:
        return tuple(f"consumer-{i}" for i in range(self.consumers))

    @cached_property
    def relay_names(self) -> tuple[str, ...]:
        return tuple(f"relay-{i}" for i in range(self.producers)) if self.relays else ()

    @property
    def sink(self) -> str:
        return SINK

    @property
    def group_coordinator(self) -> str:
        """The broker hosting the consumer group and allocating producer ids (as Kafka's
        group and transaction coordinators, here one broker)."""
        return self.broker_names[0]

    @property
    def two_pc_coordinator(self) -> str:
        return TWO_PC_COORDINATOR

    def host_of(self, node: str) -> str:
        """The service ``node`` runs in: a relay runs in its producer's service and the 2PC
        coordinator in producer-0's; every other node is a service of its own. A link fault or
        a partition that names a service reaches every node in it, and messages between nodes
        of one service never cross the network."""
        if node.startswith("relay-"):
            return "producer-" + node.removeprefix("relay-")
        if node == TWO_PC_COORDINATOR:
            return self.producer_names[0]
        return node

    def relay_of(self, producer: str) -> str:
        return "relay-" + producer.removeprefix("producer-")

    @cached_property
    def nodes(self) -> tuple[str, ...]:
        """Every node, in a stable order."""
        extra = (TWO_PC_COORDINATOR,) if self.coordinator else ()
        return (
            *self.producer_names,
            *self.broker_names,
            *self.consumer_names,
            SINK,
            *self.relay_names,
            *extra,
        )

    def leader_of(self, partition: int) -> str:
        """The broker that leads ``partition`` (partitions are spread round-robin)."""
        return self.broker_names[partition % self.brokers]

    def partitions_of(self, broker: str) -> list[int]:
        b = self.broker_names.index(broker)
        return [p for p in range(self.partitions) if p % self.brokers == b]

    def by_leader(self, partitions: list[int]) -> dict[str, list[int]]:
        """``partitions`` grouped by leader, each list sorted, leaders in first-seen order."""
        out: dict[str, list[int]] = {}
        for p in sorted(partitions):
            out.setdefault(self.leader_of(p), []).append(p)
        return out

    @cached_property
    def edges(self) -> tuple[tuple[str, str], ...]:
        """Directed links: clients <-> brokers, consumers <-> sink, 2PC parties <-> coordinator."""
        out: list[tuple[str, str]] = []
        for a in (*self.producer_names, *self.consumer_names, *self.relay_names):
            for b in self.broker_names:
                out += [(a, b), (b, a)]
        for c in self.consumer_names:
            out += [(c, SINK), (SINK, c)]
        if self.coordinator:
            for n in (*self.producer_names, *self.broker_names):
                out += [(n, TWO_PC_COORDINATOR), (TWO_PC_COORDINATOR, n)]
        return tuple(out)
