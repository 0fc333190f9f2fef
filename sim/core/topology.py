"""The topology: the single source of node names, partition leaders, coordinators and links.

Config validation (node patterns in faults and links), the world (which nodes exist) and the
nodes themselves (where to send a request) all ask this object; nothing else spells a node
name. Names follow the contract: ``producer-{i}``, ``broker-{i}``, ``consumer-{i}``, ``sink``,
``relay-{i}`` (outbox only) and ``coordinator`` (2PC only). With several consumer groups the
consumers are numbered across the groups, in their order, and each group has its own sink,
``sink-<group>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

SINK = "sink"
DEFAULT_GROUP = "default"
GROUP_TAG = "group:"
"""The ``peer`` of a broker's operation on one group's state with no consumer to name (a
rebalance, an offset reset): ``group:<name>``."""
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
    groups: tuple[tuple[str, int], ...] = ()
    """Named consumer groups and their consumers (``consumer_groups``); empty: one group,
    ``default``, of every consumer, with the sink ``sink``."""

    @cached_property
    def group_sizes(self) -> tuple[tuple[str, int], ...]:
        return self.groups or ((DEFAULT_GROUP, self.consumers),)

    @cached_property
    def group_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.group_sizes)

    @cached_property
    def group_of_node(self) -> dict[str, str]:
        """Each consumer and sink -> its group."""
        out: dict[str, str] = {}
        first = 0
        for name, n in self.group_sizes:
            for i in range(first, first + n):
                out[f"consumer-{i}"] = name
            out[self.sink_of(name)] = name
            first += n
        return out

    def consumers_of(self, group: str) -> tuple[str, ...]:
        return tuple(c for c in self.consumer_names if self.group_of_node[c] == group)

    def sink_of(self, group: str) -> str:
        """The database a group's consumers apply effects in."""
        return SINK if not self.groups else f"{SINK}-{group}"

    @cached_property
    def sinks(self) -> tuple[str, ...]:
        return tuple(self.sink_of(g) for g in self.group_names)

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
            *self.sinks,
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
        """Directed links: clients <-> brokers, consumers <-> their group's sink, 2PC parties
        <-> coordinator."""
        out: list[tuple[str, str]] = []
        for a in (*self.producer_names, *self.consumer_names, *self.relay_names):
            for b in self.broker_names:
                out += [(a, b), (b, a)]
        for c in self.consumer_names:
            sink = self.sink_of(self.group_of_node[c])
            out += [(c, sink), (sink, c)]
        if self.coordinator:
            for n in (*self.producer_names, *self.broker_names):
                out += [(n, TWO_PC_COORDINATOR), (TWO_PC_COORDINATOR, n)]
        return tuple(out)
