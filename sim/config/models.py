"""The experiment config: pydantic models of every key (sections, then the experiment).

Unknown keys are errors, values are range-checked, and sections this version cannot simulate
yet are rejected with "not supported yet" rather than silently ignored. Loading a YAML file and
turning validation errors into one paragraph for the user is ``loading.py``.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import itertools
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ..core.distributions import Constant, Distribution, Exponential
from ..core.metrics import METRICS
from ..core.strategies import CONTRACT_STRATEGIES, PRESETS, Strategy
from ..core.topology import Topology as NodeTopology
from .base import Model, NonNegInt, Probability
from .faults import Fault, node_patterns
from .links import parse_link
from .strategies import StrategyEntry, composed, entry_name

# --------------------------------------------------------------------------- sections


class Workload(Model):
    producers: PositiveInt = 1
    rate: NonNegativeFloat = 100.0
    arrivals: list[NonNegativeFloat] | None = None
    keys: PositiveInt = 16
    key_skew: PositiveFloat | None = None
    abort_probability: Probability = 0.0
    poison_probability: Probability = 0.0
    failure_probability: Probability = 0.0
    """Each processing attempt of an event fails on its own with this probability (a
    transient failure: retried in place in log mode, redelivered in queue mode, counted
    toward ``broker.max_receives`` and the dead-letter queue); poison fails every attempt."""
    process_time: Distribution = Exponential(dist="exponential", mean=0.001)

    @field_validator("arrivals")
    @classmethod
    def _sorted(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and any(b < a for a, b in itertools.pairwise(v)):
            raise ValueError("arrivals must be in non-decreasing time order")
        return v


class LinkSpec(Model):
    latency: Distribution | None = None
    loss: Probability = 0.0
    duplicate: Probability = 0.0
    reorder: Probability = 0.0


class Network(Model):
    latency: Distribution = Exponential(dist="exponential", mean=0.001)
    loss: Probability = 0.0
    duplicate: Probability = 0.0
    reorder: Probability = 0.0
    reorder_hold: Distribution = Exponential(dist="exponential", mean=0.05)
    links: dict[str, LinkSpec] = {}

    @field_validator("links")
    @classmethod
    def _link_patterns(cls, v: dict[str, LinkSpec]) -> dict[str, LinkSpec]:
        for pattern in v:
            parse_link(pattern)
        return v


class Topology(Model):
    brokers: PositiveInt = 1
    partitions: PositiveInt = 4
    consumers: PositiveInt = 2
    network: Network = Network()


# --------------------------------------------------------------------------- broker & roles


class Broker(Model):
    replication_factor: PositiveInt = 1
    acks: Literal[0, 1, "all"] = "all"
    min_insync_replicas: PositiveInt = 1
    unclean_leader_election: bool = False
    mode: Literal["log", "queue"] = "log"
    durability: Literal["fsync", "interval", "memory"] = "fsync"
    flush_interval: PositiveFloat = 0.01
    visibility_timeout: PositiveFloat = 5.0
    visibility_heartbeat: PositiveFloat | None = None
    """Queue mode: while a consumer works on received messages it extends their visibility
    every this many seconds (SQS ChangeMessageVisibility); null: never."""
    max_receives: PositiveInt | None = 5
    ttl: PositiveFloat | None = None
    capacity: PositiveInt | None = None
    overflow: Literal["block", "reject", "drop-oldest"] = "block"
    dedupe_window: PositiveFloat | None = None
    dedupe_durable: bool = True
    max_poll_records: PositiveInt = 100
    """Records a fetch returns at most (in queue mode a receive returns at most 10, as SQS)."""
    max_partition_records: PositiveInt = 25
    """Records a fetch returns at most per partition (Kafka's max.partition.fetch.bytes, in
    records); consumers rotate the order of their partitions in every fetch (KIP-74)."""
    fetch_max_wait: PositiveFloat = 0.5
    fsync_time: Distribution = Constant(value=0.0005)
    """With durability fsync: how long the flush takes before a write is acknowledged."""

    @field_validator("acks", mode="before")
    @classmethod
    def _acks(cls, v: Any) -> Any:
        return str(v) if v == "all" else v


class ConsumerGroup(Model):
    assignor: Literal["range", "round-robin", "sticky", "cooperative-sticky"] = "range"
    session_timeout: PositiveFloat = 10.0
    heartbeat_interval: PositiveFloat = 3.0
    auto_commit_interval: PositiveFloat = 5.0
    """At-least-once commits processed offsets this often (inside the poll loop, as Kafka)."""
    max_poll_interval: PositiveFloat | None = 300.0
    """A member whose poll loop does not poll for this long leaves the group (Kafka's
    ``max.poll.interval.ms``); null: never."""
    static_membership: bool = False
    """Each consumer rejoins under a fixed ``group.instance.id`` (KIP-345): a restart within
    the session timeout keeps its partitions without a rebalance."""


class Backoff(Model):
    initial: NonNegativeFloat = 0.1
    multiplier: Annotated[float, Field(ge=1.0)] = 2.0
    max: NonNegativeFloat = 5.0

    def delay(self, attempt: int) -> float:
        """The pause after failed attempt number ``attempt`` (1, 2, ...): exponential, capped."""
        return min(self.max, self.initial * self.multiplier ** (attempt - 1))


class Producer(Model):
    request_timeout: PositiveFloat = 0.5
    max_in_flight: Annotated[int, Field(ge=1, le=5)] = 5
    """Idempotent producers: requests in flight per partition (Kafka allows at most 5)."""
    max_batch: PositiveInt = 100
    """Idempotent producers: events per produce request (what queued while one was in flight)."""
    retries: NonNegInt | None = None
    """Resends of a request before it fails; null: until ``delivery_timeout``."""
    delivery_timeout: PositiveFloat = 120.0
    """A request not acknowledged this long after its event was created fails, and the
    application is told so (Kafka's ``delivery.timeout.ms``, KIP-91)."""
    backoff: Backoff = Backoff()


class Outbox(Model):
    poll_interval: PositiveFloat = 0.1
    batch: PositiveInt = 100
    relay: Literal["poll", "cdc"] = "poll"
    """``poll``: read the outbox table every poll_interval; ``cdc``: tail the database's log and
    publish as soon as a row commits (change data capture)."""
    offset_flush_interval: PositiveFloat = 60.0
    """``cdc`` only: how often the relay stores the source position it has published up to
    (Debezium's ``offset.flush.interval.ms``, 60 s); after a crash it replays from there."""


class TwoPhaseCommit(Model):
    prepare_timeout: PositiveFloat = 1.0
    decision: Literal["presumed-abort"] = "presumed-abort"
    log_write: Distribution = Constant(value=0.002)
    """Time of one forced (synchronous) log write: a participant's prepare and commit records,
    the coordinator's commit decision."""


# --------------------------------------------------------------------------- the experiment

#: The reserved entry of ``sweep:`` that names the metrics the sweep chart plots.
SWEEP_METRICS = "metrics"


def _contract_strategies() -> list[StrategyEntry]:
    return list(CONTRACT_STRATEGIES)


class ExperimentConfig(Model):
    """One experiment: a base scenario, strategies, replications and an optional sweep."""

    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$")] = "experiment"
    seed: NonNegInt = 7
    replications: PositiveInt = 3
    duration: PositiveFloat = 60.0
    drain: NonNegativeFloat = 30.0
    trace: Literal["summary", "messages", "full"] = "messages"
    strategies: Annotated[list[StrategyEntry], Field(min_length=1)] = Field(
        default_factory=_contract_strategies
    )
    """Preset names, or mappings that compose a strategy (``strategies.py``)."""
    workload: Workload = Workload()
    topology: Topology = Topology()
    broker: Broker = Broker()
    consumer_group: ConsumerGroup = ConsumerGroup()
    producer: Producer = Producer()
    outbox: Outbox = Outbox()
    two_phase_commit: TwoPhaseCommit = TwoPhaseCommit()
    faults: list[Fault] = []
    sweep: dict[str, Annotated[list[Any], Field(min_length=1)]] = {}
    """``{"dotted.path": [values]}``; the reserved entry ``metrics`` lists the summary columns
    the sweep chart plots."""

    @field_validator("strategies")
    @classmethod
    def _strategies(cls, v: list[StrategyEntry]) -> list[StrategyEntry]:
        for entry in v:
            if isinstance(entry, str) and entry not in PRESETS:
                hint = difflib.get_close_matches(entry, list(PRESETS), n=1)
                extra = f" (did you mean {hint[0]!r}?)" if hint else ""
                raise ValueError(
                    f"unknown strategy {entry!r}{extra}; allowed: {', '.join(PRESETS)}, or a "
                    "mapping {name, like, producer, broker, consumer, promises}"
                )
        names = [entry_name(e) for e in v]
        if len(set(names)) != len(names):
            raise ValueError("strategies are listed more than once (names must be unique)")
        return v

    @property
    def strategy_names(self) -> list[str]:
        return [entry_name(e) for e in self.strategies]

    @model_validator(mode="after")
    def _consistent(self) -> ExperimentConfig:
        problems = (
            self._broker_problems()
            + self._strategy_problems()
            + self._node_problems()
            + self._sweep_problems()
        )
        if problems:
            text = "; ".join(f"{p}: {m}" for p, m in problems)
            raise PydanticCustomError(
                "config_problems", "{text}", {"text": text, "problems": problems}
            )
        return self

    def _broker_problems(self) -> list[tuple[str, str]]:
        b = self.broker
        problems = []
        if b.replication_factor > 1:
            problems.append(
                (
                    "broker.replication_factor",
                    "replication across brokers is not supported yet (use 1)",
                )
            )
        if b.replication_factor > self.topology.brokers:
            problems.append(("broker.replication_factor", "must be <= topology.brokers"))
        if b.min_insync_replicas > b.replication_factor:
            problems.append(("broker.min_insync_replicas", "must be <= broker.replication_factor"))
        return problems

    def _strategy_problems(self) -> list[tuple[str, str]]:
        problems = []
        strategies = self.strategy_objects()
        if self.broker.mode == "queue":
            for s in strategies:
                if s.consumer.commit == "in-sink":
                    problems.append(
                        (
                            "broker.mode",
                            f"strategy {s.name!r} needs broker.mode: log "
                            "(it stores log offsets in the sink)",
                        )
                    )
        if self.broker.acks == 0:
            waiting = [s for s in strategies if s.producer.publisher != "fire-and-forget"]
            if waiting:
                problems.append(
                    (
                        "broker.acks",
                        f"strategy {waiting[0].name!r} waits for "
                        "acknowledgements, so acks must be 1 or all",
                    )
                )
        return problems

    def _node_problems(self) -> list[tuple[str, str]]:
        problems = []
        # a fault may name a relay or the coordinator whatever strategies run: it does nothing
        # in the runs of strategies without that node (``--strategies`` may leave them out)
        every = dataclasses.replace(self.node_topology(), relays=True, coordinator=True)
        names = list(every.nodes)
        for i, f in enumerate(self.faults):
            for key, pattern in node_patterns(f):
                if not any(fnmatch.fnmatchcase(n, pattern) for n in names):
                    problems.append(
                        (
                            f"faults.{i}.{key}",
                            f"node pattern {pattern!r} matches no "
                            f"node; nodes are: {', '.join(names)}",
                        )
                    )
        return problems

    def _sweep_problems(self) -> list[tuple[str, str]]:
        metrics = self.sweep.get(SWEEP_METRICS)
        if metrics is None:
            return []
        for i, name in enumerate(metrics):
            if name not in METRICS:
                hint = difflib.get_close_matches(str(name), list(METRICS), n=1)
                extra = f" (did you mean {hint[0]!r}?)" if hint else ""
                text = f"unknown metric {name!r}{extra}; allowed: {', '.join(METRICS)}"
                return [(f"sweep.metrics.{i}", text)]
        if not self.sweep_paths():
            return [("sweep.metrics", "chooses what the sweep chart plots: add a swept path")]
        return []

    def sweep_paths(self) -> dict[str, list[Any]]:
        """The swept config paths and their values (``sweep`` without ``metrics``)."""
        return {p: v for p, v in self.sweep.items() if p != SWEEP_METRICS}

    def strategy_objects(self) -> list[Strategy]:
        """The strategies of this experiment, resolved to their behaviours and promises."""
        return [self.strategy(name) for name in self.strategy_names]

    def strategy(self, name: str) -> Strategy:
        """The strategy named ``name``: one composed in this config, or a preset."""
        return composed(self.strategies).get(name) or PRESETS[name]

    def node_topology(self, strategies: list[Strategy] | None = None) -> NodeTopology:
        """The nodes of a run of ``strategies`` (default: the union over every strategy)."""
        chosen = self.strategy_objects() if strategies is None else strategies
        couplings = {s.producer.coupling for s in chosen}
        t = self.topology
        return NodeTopology(
            self.workload.producers,
            t.brokers,
            t.partitions,
            t.consumers,
            relays="outbox" in couplings,
            coordinator="two-phase-commit" in couplings,
        )

    def node_names(self) -> list[str]:
        return list(self.node_topology().nodes)
