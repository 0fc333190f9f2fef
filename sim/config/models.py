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
import re
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ..core.distributions import Constant, Distribution, Exponential
from ..core.metrics import METRICS
from ..core.strategies import CONTRACT_STRATEGIES, PRESETS, Strategy
from ..core.topology import Topology as NodeTopology
from . import limits
from .base import (
    Bool,
    Float,
    Int,
    Model,
    NonNegFloat,
    NonNegInt,
    PosFloat,
    PosInt,
    Probability,
    locate,
)
from .faults import Fault, PartitionFault, node_patterns
from .links import parse_link
from .strategies import StrategyEntry, composed, entry_name

# --------------------------------------------------------------------------- sections


class Workload(Model):
    producers: PosInt = 1
    rate: NonNegFloat = 100.0
    arrivals: list[NonNegFloat] | None = None
    keys: PosInt = 16
    key_skew: PosFloat | None = None
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
    """An override of ``topology.network`` for the links a pattern matches. A key left out, or
    null, inherits the network's value: so the config means the same once dumped (every key
    written, null for the inherited ones) and validated again, as the workers do."""

    latency: Distribution | None = None
    loss: Probability | None = None
    duplicate: Probability | None = None
    reorder: Probability | None = None

    def overrides(self) -> dict[str, Any]:
        """The values this override sets (every key that is not null)."""
        return {k: v for k, v in self if v is not None}


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
    brokers: PosInt = 1
    partitions: PosInt = 4
    consumers: PosInt = 2
    network: Network = Network()


# --------------------------------------------------------------------------- broker & roles


class Broker(Model):
    replication_factor: PosInt = 1
    acks: Literal[0, 1, "all"] = "all"
    min_insync_replicas: PosInt = 1
    unclean_leader_election: Bool = False
    mode: Literal["log", "queue"] = "log"
    durability: Literal["fsync", "interval", "memory"] = "fsync"
    flush_interval: PosFloat = 0.01
    visibility_timeout: PosFloat = 5.0
    visibility_heartbeat: PosFloat | None = None
    """Queue mode: while a consumer works on received messages it extends their visibility
    every this many seconds (SQS ChangeMessageVisibility); null: never."""
    max_receives: PosInt | None = 5
    ttl: PosFloat | None = None
    capacity: PosInt | None = None
    overflow: Literal["block", "reject", "drop-oldest"] = "block"
    dedupe_window: PosFloat | None = None
    dedupe_durable: Bool = True
    max_poll_records: PosInt = 100
    """Records a fetch returns at most (in queue mode a receive returns at most 10, as SQS)."""
    max_partition_records: PosInt = 25
    """Records a fetch returns at most per partition (Kafka's max.partition.fetch.bytes, in
    records); consumers rotate the order of their partitions in every fetch (KIP-74)."""
    fetch_max_wait: PosFloat = 0.5
    fsync_time: Distribution = Constant(value=0.0005)
    """With durability fsync: how long the flush takes before a write is acknowledged."""

    @field_validator("acks", mode="before")
    @classmethod
    def _acks(cls, v: Any) -> Any:
        if isinstance(v, bool):  # true == 1 in Python; acks are 0, 1 or all
            raise ValueError("acks must be 0, 1 or all, not a boolean")
        return str(v) if v == "all" else v


class ConsumerGroup(Model):
    assignor: Literal["range", "round-robin", "sticky", "cooperative-sticky"] = "range"
    session_timeout: PosFloat = 10.0
    heartbeat_interval: PosFloat = 3.0
    auto_commit_interval: PosFloat = 5.0
    """At-least-once commits processed offsets this often (inside the poll loop, as Kafka)."""
    max_poll_interval: PosFloat | None = 300.0
    """A member whose poll loop does not poll for this long leaves the group (Kafka's
    ``max.poll.interval.ms``); null: never."""
    static_membership: Bool = False
    """Each consumer rejoins under a fixed ``group.instance.id`` (KIP-345): a restart within
    the session timeout keeps its partitions without a rebalance."""

    @model_validator(mode="after")
    def _heartbeat_within_session(self) -> ConsumerGroup:
        if self.heartbeat_interval > self.session_timeout:
            raise ValueError(
                f"heartbeat_interval ({self.heartbeat_interval:g} s) must not be longer than "
                f"session_timeout ({self.session_timeout:g} s) (Kafka wants it shorter, "
                "typically a third): otherwise every member is declared dead between two "
                "heartbeats"
            )
        return self


DEFAULT_GROUP = "default"
"""The name of the one consumer group of a config without ``consumer_groups``."""


class ConsumerGroupEntry(Model):
    """One consumer group of ``consumer_groups``: its name, its consumers and the settings in
    which it differs from the ``consumer_group`` section (a setting left out, or null, is the
    section's). Every group reads every event, with its own members, committed offsets and
    sink (``sink-<name>``)."""

    name: str
    """Letters, digits, ``.``, ``_`` and ``-``; names the group's sink ``sink-<name>``."""
    consumers: PosInt = 2
    assignor: Literal["range", "round-robin", "sticky", "cooperative-sticky"] | None = None
    session_timeout: PosFloat | None = None
    heartbeat_interval: PosFloat | None = None
    auto_commit_interval: PosFloat | None = None
    static_membership: Bool | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not GROUP_NAME.fullmatch(v):
            raise ValueError(
                "a group name is 1 to 40 letters, digits, '.', '_' or '-', starting with a "
                "letter or digit (it names the group's sink, sink-<name>)"
            )
        return v

    def settings(self, section: ConsumerGroup) -> ConsumerGroup:
        """The group's settings: this entry's where given, else the section's."""
        own = self.model_dump(exclude={"name", "consumers"}, exclude_none=True)
        return ConsumerGroup(**{**section.model_dump(), **own})


GROUP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")


@dataclasses.dataclass(frozen=True)
class GroupPlan:
    """A consumer group as a run builds it: name, number of consumers, settings."""

    name: str
    consumers: int
    settings: ConsumerGroup


class Backoff(Model):
    initial: NonNegFloat = 0.1
    multiplier: Annotated[Float, Field(ge=1.0)] = 2.0
    max: NonNegFloat = 5.0

    def delay(self, attempt: int) -> float:
        """The pause after failed attempt number ``attempt`` (1, 2, ...): exponential, capped
        (also when ``multiplier ** attempt`` is past the largest float)."""
        if self.initial == 0:
            return 0.0
        try:
            return min(self.max, self.initial * self.multiplier ** (attempt - 1))
        except OverflowError:
            return self.max


class Producer(Model):
    request_timeout: PosFloat = 0.5
    max_in_flight: Annotated[Int, Field(ge=1, le=5)] = 5
    """Idempotent producers: requests in flight per partition (Kafka allows at most 5)."""
    max_batch: PosInt = 100
    """Idempotent producers: events per produce request (what queued while one was in flight)."""
    retries: NonNegInt | None = None
    """Resends of a request before it fails; null: until ``delivery_timeout``."""
    delivery_timeout: PosFloat = 120.0
    """A request not acknowledged this long after its event was created fails, and the
    application is told so (Kafka's ``delivery.timeout.ms``, KIP-91)."""
    backoff: Backoff = Backoff()


class Outbox(Model):
    poll_interval: PosFloat = 0.1
    batch: PosInt = 100
    relay: Literal["poll", "cdc"] = "poll"
    """``poll``: read the outbox table every poll_interval; ``cdc``: tail the database's log and
    publish as soon as a row commits (change data capture)."""
    offset_flush_interval: PosFloat = 60.0
    """``cdc`` only: how often the relay stores the source position it has published up to
    (Debezium's ``offset.flush.interval.ms``, 60 s); after a crash it replays from there."""


class TwoPhaseCommit(Model):
    prepare_timeout: PosFloat = 1.0
    decision: Literal["presumed-abort"] = "presumed-abort"
    log_write: Distribution = Constant(value=0.002)
    """Time of one forced (synchronous) log write: a participant's prepare and commit records,
    the coordinator's commit decision."""


# --------------------------------------------------------------------------- the experiment

#: The reserved entry of ``sweep:`` that names the metrics the sweep chart plots.
SWEEP_METRICS = "metrics"

NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}")


def _contract_strategies() -> list[StrategyEntry]:
    return list(CONTRACT_STRATEGIES)


class ExperimentConfig(Model):
    """One experiment: a base scenario, strategies, replications and an optional sweep."""

    name: str = "experiment"
    """The results folder's name under ``results/``: letters, digits, ``.``, ``_`` and ``-``,
    not starting with a dot (so never ``.`` or ``..``)."""
    seed: NonNegInt = 7
    replications: PosInt = 3
    duration: PosFloat = 60.0
    drain: NonNegFloat = 30.0
    trace: Literal["summary", "messages", "full"] = "messages"
    strategies: Annotated[list[StrategyEntry], Field(min_length=1)] = Field(
        default_factory=_contract_strategies
    )
    """Preset names, or mappings that compose a strategy (``strategies.py``)."""
    workload: Workload = Workload()
    topology: Topology = Topology()
    broker: Broker = Broker()
    consumer_group: ConsumerGroup = ConsumerGroup()
    consumer_groups: Annotated[list[ConsumerGroupEntry], Field(min_length=1)] | None = None
    """Several consumer groups, each reading every event (log mode: its own offsets; queue
    mode: its own queue, as SNS fanning out to SQS), each with its own sink. Replaces
    ``topology.consumers``; null: one group, ``default``, of ``topology.consumers``."""
    producer: Producer = Producer()
    outbox: Outbox = Outbox()
    two_phase_commit: TwoPhaseCommit = TwoPhaseCommit()
    faults: list[Fault] = []
    sweep: dict[str, Annotated[list[Any], Field(min_length=1)]] = {}
    """``{"dotted.path": [values]}``; the reserved entry ``metrics`` lists the summary columns
    the sweep chart plots."""

    _origin: str = PrivateAttr(default="<dict>")
    _lines: dict[tuple[Any, ...], int] = PrivateAttr(default_factory=dict)

    def __eq__(self, other: object) -> bool:
        """Equal configs have equal values, wherever each was read from."""
        if not isinstance(other, ExperimentConfig):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]

    def located(self, origin: str, lines: dict[tuple[Any, ...], int]) -> None:
        """Remember where this config was read (for messages about it after validation)."""
        self._origin, self._lines = origin, lines

    @property
    def origin(self) -> str:
        """The file this config was read from (``<dict>`` for a dict)."""
        return self._origin

    def where(self, key: str) -> str:
        """``FILE, line N, key K``: where ``key`` of this config was written."""
        return locate(self._origin, self._lines, key)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME.fullmatch(v):
            raise ValueError(
                "the name is a folder name under results/: 1 to 100 letters, digits, '.', '_' "
                "or '-', not starting with a dot (so never '.' or '..')"
            )
        return v

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
        problems = self._group_problems()  # (the groups are read by every check below)
        if not problems:
            problems = (
                self._broker_problems()
                + self._strategy_problems()
                + self._sweep_problems()
                + self._sweep_path_problems()
            )
            size = limits.measure(self)
            problems += size.problems
            if not size.problems:  # node names and links are listed only for a topology in bounds
                problems += self._node_problems() + self._link_problems()
        if problems:
            text = "; ".join(f"{p}: {m}" for p, m in problems)
            raise PydanticCustomError(
                "config_problems", "{text}", {"text": text, "problems": problems}
            )
        return self

    def _group_problems(self) -> list[tuple[str, str]]:
        if self.consumer_groups is None:
            return []
        problems = []
        seen: set[str] = set()
        for i, entry in enumerate(self.consumer_groups):
            if entry.name in seen:
                problems.append((f"consumer_groups.{i}.name", f"{entry.name!r} is listed twice"))
            seen.add(entry.name)
            try:
                entry.settings(self.consumer_group)
            except ValidationError as e:
                why = str(e.errors()[0]["msg"]).removeprefix("Value error, ")
                problems.append((f"consumer_groups.{i}", why))
        return problems

    @property
    def groups(self) -> list[GroupPlan]:
        """The consumer groups of a run, in order (their consumers are numbered in it)."""
        if self.consumer_groups is None:
            t = self.topology
            return [GroupPlan(DEFAULT_GROUP, t.consumers, self.consumer_group)]
        return [
            GroupPlan(e.name, e.consumers, e.settings(self.consumer_group))
            for e in self.consumer_groups
        ]

    @property
    def consumer_count(self) -> int:
        """Consumers in all groups."""
        return sum(g.consumers for g in self.groups)

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

    def _sweep_path_problems(self) -> list[tuple[str, str]]:
        """Every sweep path names a value of the config that may vary between cells."""
        problems = []
        paths = self.sweep_paths()
        data = self.model_dump(mode="json") if paths else {}
        for path in paths:
            why = sweep_path_problem(data, path)
            if why:
                problems.append((f"sweep.{path}", why))
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
        names = list(self._every_node().nodes)
        for i, f in enumerate(self.faults):
            for key, pattern in node_patterns(f):
                if not _matching(names, pattern):
                    problems.append(
                        (
                            f"faults.{i}.{key}",
                            f"node pattern {pattern!r} matches no node; nodes are: "
                            f"{_listing(names)}",
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

    def _link_problems(self) -> list[tuple[str, str]]:
        """Link patterns (``links:`` overrides, link faults) must match a link of the topology
        that crosses the network, and a partition must cut one: otherwise they would silently
        do nothing. Faults match a link by its nodes or by their services (as the network
        does); a link inside one service (relay-i and producer-i) is local, never faulty."""
        edges, hosts, shown = self._network_links()
        names = list(self._every_node().nodes)
        problems = []
        for pattern in self.topology.network.links:
            key = f"topology.network.links.{pattern}"
            ends = [end for end in parse_link(pattern)[:2] if not _matching(names, end)]
            if ends:
                why = f"{ends[0]!r} matches no node; nodes are: {_listing(names)}"
                problems.append((key, f"link pattern {pattern!r}: {why}"))
            elif not _links_match(pattern, names, edges):
                problems.append((key, f"link pattern {pattern!r} matches no link; {shown}"))
        for i, f in enumerate(self.faults):
            link = getattr(f, "link", None)
            if link is not None and not _links_match(link, names, edges, hosts):
                problems.append(
                    (f"faults.{i}.link", f"{link!r} matches no link, so it does nothing; {shown}")
                )
        return problems

    def _every_node(self) -> NodeTopology:
        """The topology with every node a strategy may have: a fault may name a relay or the
        coordinator whatever strategies run (it does nothing in the runs of strategies without
        that node, and ``--strategies`` may leave them out)."""
        return dataclasses.replace(self.node_topology(), relays=True, coordinator=True)

    def _network_links(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]], str]:
        """The links that cross the network (not inside one service) of every node a strategy
        may have, the services at their ends, and a listing of them for messages."""
        topo = self._every_node()
        edges = [(a, b) for a, b in topo.edges if topo.host_of(a) != topo.host_of(b)]
        hosts = [(topo.host_of(a), topo.host_of(b)) for a, b in edges]
        return edges, hosts, "links are: " + _listing([f"{a}->{b}" for a, b in edges])

    def warnings(self) -> list[tuple[str, str]]:
        """(key path, message) for what runs but probably does not do what was meant: a
        fault that starts after the run ends, a partition that cuts no link, and arrivals
        after ``duration``. Warnings, not errors: a sweep over ``duration`` may legitimately
        cut a scripted workload short or end a cell before a fault, and a partition between
        services that never talk is harmless."""
        out = []
        horizon = self.duration + self.drain
        partitions = [(i, f) for i, f in enumerate(self.faults) if isinstance(f, PartitionFault)]
        if partitions:
            edges, hosts, shown = self._network_links()
            for i, cut in partitions:
                if not _cuts(cut.sides, edges + hosts):
                    key = f"faults.{i}.{'groups' if cut.groups is not None else 'between'}"
                    out.append((key, f"the partition cuts no link, so it does nothing; {shown}"))
        for i, f in enumerate(self.faults):
            if f.at is not None and f.at >= horizon:
                out.append(
                    (
                        f"faults.{i}.at",
                        f"the {f.kind} fault starts at t={f.at:g} s, when the run is over "
                        f"(it ends at t={horizon:g} s, duration + drain): it never fires",
                    )
                )
        arrivals = self.workload.arrivals or []
        late = [i for i, t in enumerate(arrivals) if t >= self.duration]
        if late:
            out.append(
                (
                    f"workload.arrivals.{late[0]}",
                    f"{len(late)} of the {len(arrivals)} arrivals, from this one on, are at or "
                    f"after duration ({self.duration:g} s): producers create events only during "
                    "[0, duration), so these are never created",
                )
            )
        return out

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
        named = self.consumer_groups is not None
        return NodeTopology(
            self.workload.producers,
            t.brokers,
            t.partitions,
            self.consumer_count,
            relays="outbox" in couplings,
            coordinator="two-phase-commit" in couplings,
            groups=tuple((g.name, g.consumers) for g in self.groups) if named else (),
        )

    def node_names(self) -> list[str]:
        return list(self.node_topology().nodes)


UNSWEEPABLE = ("sweep", "strategies", "replications", "name", "seed")
"""What every cell of an experiment shares: these cannot be swept."""


def sweep_path_problem(data: dict[str, Any], path: str) -> str:
    """Why the dotted ``path`` is not a value of the config ``data`` that a sweep may set
    ("" when it is)."""
    parts = path.split(".")
    if parts[0] in UNSWEEPABLE:
        return f"{parts[0]!r} cannot be swept (the cells of an experiment share it)"
    cur: Any = data
    for i, part in enumerate(parts):
        where = ".".join(parts[:i]) or "the top level"
        if isinstance(cur, list):
            if not part.isdigit() or int(part) >= len(cur):
                return f"{where} is a list of {len(cur)}; {part!r} is not an index in it"
            cur = cur[int(part)]
        elif isinstance(cur, dict):
            if part not in cur:
                hint = difflib.get_close_matches(part, [str(k) for k in cur], n=1)
                extra = f" (did you mean {hint[0]!r}?)" if hint else ""
                allowed = _listing([str(k) for k in cur], 20)
                return f"no key {part!r} under {where}{extra}; allowed: {allowed}"
            cur = cur[part]
        else:
            return f"{where} is a value, not a section"
    return ""


def _matching(names: list[str], pattern: str) -> list[str]:
    return [n for n in names if fnmatch.fnmatchcase(n, pattern)]


def _listing(items: list[str], shown: int = 12) -> str:
    """``items`` joined, the first ``shown`` of them when there are more."""
    if len(items) <= shown:
        return ", ".join(items)
    return f"{', '.join(items[:shown])}, ... ({len(items)} in all)"


def _links_match(
    pattern: str,
    names: list[str],
    edges: list[tuple[str, str]],
    hosts: list[tuple[str, str]] | None = None,
) -> bool:
    """Whether the link pattern ``A->B`` (or ``A<->B``) matches one of ``edges`` by its ends,
    or by the services its ends run in (``hosts``, one pair per edge)."""
    a, b, both = parse_link(pattern)
    for src, dst in [(a, b), (b, a)] if both else [(a, b)]:
        srcs, dsts = set(_matching(names, src)), set(_matching(names, dst))
        for pair in [*edges, *(hosts or [])]:
            if pair[0] in srcs and pair[1] in dsts:
                return True
    return False


def _cuts(sides: list[list[str]], edges: list[tuple[str, str]]) -> bool:
    """Whether a partition into ``sides`` (node patterns) separates the ends of some link."""

    def side(node: str) -> int | None:
        for i, group in enumerate(sides):
            if any(fnmatch.fnmatchcase(node, p) for p in group):
                return i
        return None

    return any(
        (sa := side(a)) is not None and (sb := side(b)) is not None and sa != sb for a, b in edges
    )
