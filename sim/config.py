"""The experiment config: pydantic models of every key in the contract.

Unknown keys are errors, values are range-checked, and sections this version cannot simulate
yet are rejected with "not supported yet" rather than silently ignored. ``load_config`` turns
every problem (unreadable file, malformed YAML, invalid value) into a :class:`ConfigError`
whose message names the file, the key path, the line and what is allowed.
"""

from __future__ import annotations

import difflib
import fnmatch
import itertools
import re
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .distributions import Constant, Distribution, Exponential

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegInt = Annotated[int, Field(ge=0)]


class ConfigLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with YAML 1.2 booleans: only true/false. In YAML 1.1 the fault key
    ``on:`` (and yes/no/off) would silently turn into a boolean."""


ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


class ConfigError(ValueError):
    """Bad input: the message is meant for the user, complete and without a traceback."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- workload / topology


class Workload(_Model):
    producers: PositiveInt = 1
    rate: NonNegativeFloat = 100.0
    arrivals: list[NonNegativeFloat] | None = None
    keys: PositiveInt = 16
    key_skew: PositiveFloat | None = None
    abort_probability: Probability = 0.0
    poison_probability: Probability = 0.0
    process_time: Distribution = Exponential(dist="exponential", mean=0.001)

    @field_validator("arrivals")
    @classmethod
    def _sorted(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and any(b < a for a, b in itertools.pairwise(v)):
            raise ValueError("arrivals must be in non-decreasing time order")
        return v


class LinkSpec(_Model):
    latency: Distribution | None = None
    loss: Probability = 0.0
    duplicate: Probability = 0.0
    reorder: Probability = 0.0


class Network(_Model):
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


class Topology(_Model):
    brokers: PositiveInt = 1
    partitions: PositiveInt = 4
    consumers: PositiveInt = 2
    network: Network = Network()


# --------------------------------------------------------------------------- broker & roles


class Broker(_Model):
    replication_factor: PositiveInt = 1
    acks: Literal[0, 1, "all"] = "all"
    min_insync_replicas: PositiveInt = 1
    unclean_leader_election: bool = False
    mode: Literal["log", "queue"] = "log"
    durability: Literal["fsync", "interval", "memory"] = "fsync"
    flush_interval: PositiveFloat = 0.01
    visibility_timeout: PositiveFloat = 5.0
    max_receives: PositiveInt | None = 5
    ttl: PositiveFloat | None = None
    capacity: PositiveInt | None = None
    overflow: Literal["block", "reject", "drop-oldest"] = "block"
    dedupe_window: PositiveFloat | None = None
    dedupe_durable: bool = True
    max_poll_records: PositiveInt = 100
    fetch_max_wait: PositiveFloat = 0.5

    @field_validator("acks", mode="before")
    @classmethod
    def _acks(cls, v: Any) -> Any:
        return str(v) if v == "all" else v


class ConsumerGroup(_Model):
    assignor: Literal["range", "round-robin", "sticky", "cooperative-sticky"] = "range"
    session_timeout: PositiveFloat = 10.0
    heartbeat_interval: PositiveFloat = 3.0
    auto_commit_interval: PositiveFloat = 5.0


class Backoff(_Model):
    initial: NonNegativeFloat = 0.1
    multiplier: Annotated[float, Field(ge=1.0)] = 2.0
    max: NonNegativeFloat = 5.0

    def delay(self, attempt: int) -> float:
        """The pause after failed attempt number ``attempt`` (1, 2, ...): exponential, capped."""
        return min(self.max, self.initial * self.multiplier ** (attempt - 1))


class Producer(_Model):
    request_timeout: PositiveFloat = 0.5
    max_in_flight: Annotated[int, Field(ge=1, le=5)] = 5
    """Idempotent producers: requests in flight per partition (Kafka allows at most 5)."""
    max_batch: PositiveInt = 100
    """Idempotent producers: events per produce request (what queued while requests were in flight)."""
    retries: NonNegInt | None = None
    backoff: Backoff = Backoff()


class Outbox(_Model):
    poll_interval: PositiveFloat = 0.1
    batch: PositiveInt = 100
    relay: Literal["poll", "cdc"] = "poll"
    """``poll``: read the outbox table every poll_interval; ``cdc``: tail the database's log and
    publish as soon as a row commits (change data capture)."""


class TwoPhaseCommit(_Model):
    prepare_timeout: PositiveFloat = 1.0
    decision: Literal["presumed-abort"] = "presumed-abort"
    log_write: Distribution = Constant(value=0.002)
    """Time of one forced (synchronous) log write: a participant's prepare and commit records,
    the coordinator's commit decision."""


# --------------------------------------------------------------------------- faults

PROTOCOL_STEPS: dict[str, str] = {
    "after-ack-before-process": "consumer: offsets committed (acked) on receipt, before the effect is applied (at-most-once)",
    "after-process-before-commit": "consumer: effect applied in the sink, before the offset is committed (at-least-once)",
    "after-send-before-ack": "producer: request sent, before its acknowledgement arrives",
    "after-append-before-ack": "broker: record appended to the log, before the acknowledgement is sent",
    "after-commit-before-publish": "producer (commit-then-publish, outbox): local transaction committed, before publishing",
    "before-commit-after-publish": "producer (publish-then-commit): published, before the local commit",
    "after-publish-before-mark": "relay (outbox): published, before marking the outbox rows sent",
    "after-prepare": "coordinator (2PC): prepare sent to the participants, before the decision",
    "after-decision-logged": "coordinator (2PC): decision forced to its log, before it is sent",
}
SUPPORTED_STEPS = set(PROTOCOL_STEPS)


class _Fault(_Model):
    at: NonNegativeFloat | None = None


class _Lasting(_Fault):
    at: NonNegativeFloat = 0.0
    duration: PositiveFloat = 1e18


class CrashFault(_Fault):
    kind: Literal["crash"]
    node: str
    on: str | None = None
    occurrence: PositiveInt = 1
    restart_after: NonNegativeFloat | None = None

    @model_validator(mode="after")
    def _when(self) -> CrashFault:
        if (self.at is None) == (self.on is None):
            raise ValueError("a crash needs exactly one of `at` (a time) or `on` (a protocol step)")
        if self.on is not None:
            if self.on not in PROTOCOL_STEPS:
                raise ValueError(f"unknown protocol step {self.on!r}; allowed: {', '.join(PROTOCOL_STEPS)}")
            if self.on not in SUPPORTED_STEPS:
                raise ValueError(f"protocol step {self.on!r} is not supported yet (its strategies are not implemented)")
        return self


class PauseFault(_Lasting):
    kind: Literal["pause"]
    node: str


class PartitionFault(_Lasting):
    kind: Literal["partition"]
    groups: list[list[str]] | None = None
    between: list[str] | None = None

    @model_validator(mode="after")
    def _sides(self) -> PartitionFault:
        if (self.groups is None) == (self.between is None):
            raise ValueError("a partition needs exactly one of `groups: [[...], [...]]` or `between: [A, B]`")
        if self.between is not None and len(self.between) != 2:
            raise ValueError("`between` names exactly two node patterns")
        if self.groups is not None and len(self.groups) < 2:
            raise ValueError("`groups` needs at least two groups")
        return self


class DropFault(_Lasting):
    kind: Literal["drop"]
    link: str
    probability: Probability = 1.0

    @field_validator("link")
    @classmethod
    def _link(cls, v: str) -> str:
        parse_link(v)
        return v


class DelayFault(_Lasting):
    kind: Literal["delay"]
    link: str
    extra: Distribution = Constant(value=0.1)

    _link = field_validator("link")(DropFault._link.__func__)  # type: ignore[attr-defined]


class DuplicateFault(_Lasting):
    kind: Literal["duplicate"]
    link: str
    probability: Probability = 1.0

    _link = field_validator("link")(DropFault._link.__func__)  # type: ignore[attr-defined]


class ReorderFault(_Lasting):
    kind: Literal["reorder"]
    link: str
    probability: Probability = 1.0
    extra: Distribution | None = None

    _link = field_validator("link")(DropFault._link.__func__)  # type: ignore[attr-defined]


class DiskLossFault(_Fault):
    kind: Literal["disk-loss"]
    at: NonNegativeFloat = 0.0
    node: str


RANDOM_KINDS = ("crash", "pause", "partition", "drop", "delay", "duplicate", "reorder")


class RandomFault(_Lasting):
    """A generator of faults, expanded from the seed into concrete faults before any run."""

    kind: Literal["random"]
    nodes: str | list[str] = "*"
    kinds: list[Literal["crash", "pause", "partition", "drop", "delay", "duplicate", "reorder"]] = ["crash"]
    rate: PositiveFloat
    mean_duration: PositiveFloat = 1.0
    probability: Probability = 1.0
    extra: Distribution = Constant(value=0.1)


Fault = Annotated[
    CrashFault
    | PauseFault
    | PartitionFault
    | DropFault
    | DelayFault
    | DuplicateFault
    | ReorderFault
    | DiskLossFault
    | RandomFault,
    Field(discriminator="kind"),
]
FAULT_KINDS = ("crash", "pause", "partition", "drop", "delay", "duplicate", "reorder", "disk-loss", "random")


def parse_link(text: str) -> tuple[str, str, bool]:
    """``"A->B"`` -> (A, B, False); ``"A<->B"`` -> (A, B, True). Patterns are shell globs."""
    if "<->" in text:
        a, b = text.split("<->", 1)
        both = True
    elif "->" in text:
        a, b = text.split("->", 1)
        both = False
    else:
        raise ValueError(f"link {text!r} must be written 'A->B' or 'A<->B' (shell globs allowed, e.g. 'producer-*->broker-0')")
    a, b = a.strip(), b.strip()
    if not a or not b:
        raise ValueError(f"link {text!r} has an empty end")
    return a, b, both


def link_matches(pattern: str, src: str, dst: str) -> bool:
    a, b, both = parse_link(pattern)
    if fnmatch.fnmatchcase(src, a) and fnmatch.fnmatchcase(dst, b):
        return True
    return both and fnmatch.fnmatchcase(src, b) and fnmatch.fnmatchcase(dst, a)


# --------------------------------------------------------------------------- the experiment

STRATEGY_NAMES = ("at-most-once", "at-least-once", "exactly-once", "outbox", "two-phase-commit")


class ExperimentConfig(_Model):
    """One experiment: a base scenario, strategies, replications and an optional sweep."""

    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$")] = "experiment"
    seed: NonNegInt = 7
    replications: PositiveInt = 3
    duration: PositiveFloat = 60.0
    drain: NonNegativeFloat = 30.0
    trace: Literal["summary", "messages", "full"] = "messages"
    strategies: Annotated[list[str], Field(min_length=1)] = Field(default_factory=lambda: _implemented_strategies())
    workload: Workload = Workload()
    topology: Topology = Topology()
    broker: Broker = Broker()
    consumer_group: ConsumerGroup = ConsumerGroup()
    producer: Producer = Producer()
    outbox: Outbox = Outbox()
    two_phase_commit: TwoPhaseCommit = TwoPhaseCommit()
    faults: list[Fault] = []
    sweep: dict[str, Annotated[list[Any], Field(min_length=1)]] = {}

    @field_validator("strategies")
    @classmethod
    def _strategies(cls, v: list[str]) -> list[str]:
        from .strategies import STRATEGIES, unsupported_reason

        for name in v:
            if name not in STRATEGIES:
                hint = difflib.get_close_matches(name, list(STRATEGIES), n=1)
                extra = f" (did you mean {hint[0]!r}?)" if hint else ""
                raise ValueError(f"unknown strategy {name!r}{extra}; allowed: {', '.join(STRATEGIES)}")
            reason = unsupported_reason(name)
            if reason:
                raise ValueError(f"strategy {name!r} is not supported yet: {reason}")
        if len(set(v)) != len(v):
            raise ValueError("strategies are listed more than once")
        return v

    @model_validator(mode="after")
    def _not_supported_yet(self) -> ExperimentConfig:
        problems: list[tuple[str, str]] = []
        b = self.broker
        if b.replication_factor > 1:
            problems.append(("broker.replication_factor", "replication across brokers is not supported yet (use 1)"))
        if b.replication_factor > self.topology.brokers:
            problems.append(("broker.replication_factor", "must be <= topology.brokers"))
        if b.min_insync_replicas > b.replication_factor:
            problems.append(("broker.min_insync_replicas", "must be <= broker.replication_factor"))
        if b.mode == "queue":
            from .strategies import STRATEGIES

            for s in self.strategies:
                if STRATEGIES[s].consumer.commit == "in-sink":
                    problems.append(("broker.mode", f"strategy {s!r} needs broker.mode: log (it stores log offsets in the sink)"))
        if b.acks == 0:
            for s in self.strategies:
                from .strategies import STRATEGIES

                if STRATEGIES[s].producer.await_ack:
                    problems.append(("broker.acks", f"strategy {s!r} waits for acknowledgements, so acks must be 1 or all"))
                    break
        for i, f in enumerate(self.faults):
            for node in _fault_nodes(f):
                if not any(fnmatch.fnmatchcase(n, node) for n in self.node_names()):
                    where = f"faults.{i}.{_fault_node_key(f, node)}"
                    problems.append((where, f"node pattern {node!r} matches no node; nodes are: {', '.join(self.node_names())}"))
        if problems:
            text = "; ".join(f"{p}: {m}" for p, m in problems)
            raise PydanticCustomError("config_problems", "{text}", {"text": text, "problems": problems})
        return self

    def node_names(self) -> list[str]:
        t = self.topology
        names = [f"producer-{i}" for i in range(self.workload.producers)]
        names += [f"broker-{i}" for i in range(t.brokers)]
        names += [f"consumer-{i}" for i in range(t.consumers)]
        names.append("sink")
        from .strategies import STRATEGIES

        couplings = {STRATEGIES[s].producer.coupling for s in self.strategies if s in STRATEGIES}
        if "outbox" in couplings:
            names += [f"relay-{i}" for i in range(self.workload.producers)]
        if "two-phase-commit" in couplings:
            names.append("coordinator")
        return names


def _implemented_strategies() -> list[str]:
    """The default: every strategy of the contract that this version implements."""
    from .strategies import STRATEGIES

    return [name for name in STRATEGY_NAMES if STRATEGIES[name].implemented]


def _fault_node_key(f: Any, node: str) -> str:
    """The key of fault ``f`` that names node pattern ``node`` (for error messages)."""
    for key in ("node", "link", "between", "groups", "nodes"):
        if hasattr(f, key) and node in str(getattr(f, key)):
            return key
    return "node"


def _fault_nodes(f: Any) -> list[str]:
    if hasattr(f, "node"):
        return [f.node]
    if isinstance(f, PartitionFault):
        return list(f.between or []) + [n for g in (f.groups or []) for n in g]
    if hasattr(f, "link"):
        a, b, _ = parse_link(f.link)
        return [a, b]
    if isinstance(f, RandomFault):
        return [f.nodes] if isinstance(f.nodes, str) else list(f.nodes)
    return []


# --------------------------------------------------------------------------- loading & messages


def load_config(source: str | Path | dict[str, Any] | ExperimentConfig) -> ExperimentConfig:
    """Read and validate a config from a YAML path, a dict or an existing config."""
    if isinstance(source, ExperimentConfig):
        return source
    if isinstance(source, dict):
        return validate_dict(source, origin="<dict>")
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file. Give the path of an experiment config (YAML), e.g. experiments/compare_semantics.yaml.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.__class__.__name__}: {exc}). An experiment config is a UTF-8 YAML file.") from None
    try:
        data = yaml.load(text, Loader=ConfigLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: malformed YAML{where}: {problem}. Fix the syntax (indentation, colons, brackets) and try again.") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of config keys (name, seed, strategies, ...), not a {type(data).__name__}.")
    return validate_dict(data, origin=str(path), text=text)


def validate_dict(data: dict[str, Any], origin: str = "<dict>", text: str | None = None) -> ExperimentConfig:
    try:
        return ExperimentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, data, origin, text)) from None


def format_validation_error(exc: ValidationError, data: Any, origin: str, text: str | None) -> str:
    lines = {} if text is None else _key_lines(text)
    parts = []
    for err in exc.errors(include_url=False):
        if err["type"] == "config_problems":  # cross-field checks: one part per (key path, message)
            for key, message in err["ctx"]["problems"]:
                keypath = tuple(int(p) if p.isdigit() else p for p in key.split("."))
                line = lines.get(keypath)
                where = f"{origin}, line {line}, key {key}" if line else f"{origin}, key {key}"
                parts.append(f"{where}: {message}")
            continue
        path = _data_path(err["loc"], data)
        key = ".".join(str(p) for p in path) or "(top level)"
        line = lines.get(tuple(path))
        where = f"{origin}, line {line}, key {key}" if line else f"{origin}, key {key}"
        parts.append(f"{where}: {_explain(err, path, data)}")
    problems = len(parts)
    head = f"invalid config ({problems} problem{'s' if problems > 1 else ''}): "
    return head + " | ".join(parts)


def _data_path(loc: tuple[Any, ...], data: Any) -> list[Any]:
    """Drop pydantic's union/discriminator tags from ``loc`` so it reads as a path in the YAML."""
    path: list[Any] = []
    cur = data
    for part in loc:
        if isinstance(cur, dict) and part in cur:
            path.append(part)
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and part < len(cur):
            path.append(part)
            cur = cur[part]
        elif isinstance(cur, dict) and isinstance(part, str) and not part.startswith(("function-", "tagged-union", "union")) and part not in _TAGS:
            path.append(part)  # a missing or unknown key under a mapping
            cur = None
    return path


_TAGS = set(FAULT_KINDS) | {"constant", "uniform", "exponential", "normal", "lognormal", "pareto", "int", "str", "float", "list", "dict", "literal['all']", "none", "bool"}


def _model_at(path: list[Any], data: Any = None) -> type[BaseModel] | None:
    """The model that owns the last key of ``path`` (to list its allowed keys).

    Walks the config models alongside the data, resolving ``dict[str, Model]`` values,
    list items, optional fields and tagged unions (a fault's ``kind``, a distribution's ``dist``).
    """
    tp: Any = ExperimentConfig
    cur: Any = data
    for part in path[:-1]:
        tp = _resolve(tp, cur)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(part))
            if field is None:
                return None
            tp = field.annotation
        else:
            origin, args = typing.get_origin(tp), typing.get_args(tp)
            if origin is dict:
                tp = args[1]
            elif origin is list:
                tp = args[0]
            else:
                return None
        cur = cur[part] if isinstance(cur, dict | list) and _has(cur, part) else None
    tp = _resolve(tp, cur)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _has(container: Any, part: Any) -> bool:
    if isinstance(container, dict):
        return part in container
    return isinstance(part, int) and 0 <= part < len(container)


def _resolve(tp: Any, value: Any) -> Any:
    """Strip Annotated/Optional and pick the union member the value's tag names."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
            if isinstance(value, dict):
                for m in members:
                    if isinstance(m, type) and issubclass(m, BaseModel):
                        for tag in ("kind", "dist"):
                            field = m.model_fields.get(tag)
                            if field is not None and value.get(tag) in typing.get_args(field.annotation):
                                return m
            if isinstance(value, dict) and "dist" not in value and any(m is Constant for m in members):
                return None
            models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
            return models[0] if len(models) == 1 else None
        return tp


def _explain(err: Any, path: list[Any], data: Any = None) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        name = str(path[-1]) if path else "?"
        model = _model_at(path, data)
        allowed = list(model.model_fields) if model is not None else []
        hint = difflib.get_close_matches(name, allowed, n=1) if allowed else []
        msg = f"unknown key {name!r}"
        if hint:
            msg += f" (did you mean {hint[0]!r}?)"
        if allowed:
            msg += f"; allowed here: {', '.join(allowed)}"
        return msg
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        return f"unknown {ctx.get('discriminator', 'tag').strip(chr(39))} {ctx.get('tag')!r}; allowed: {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        return f"missing {err.get('ctx', {}).get('discriminator', 'tag')} (e.g. kind: crash, or dist: exponential)"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind in ("missing",):
        msg = "required key is missing"
    got = err.get("input")
    if kind not in ("missing",) and not isinstance(got, dict | list):
        msg += f" (got {got!r})"
    return msg


def _key_lines(text: str) -> dict[tuple[Any, ...], int]:
    """Map each key path in a YAML document to its 1-based line number."""
    try:
        root = yaml.compose(text, Loader=ConfigLoader)
    except yaml.YAMLError:
        return {}
    out: dict[tuple[Any, ...], int] = {}

    def walk(node: Any, prefix: tuple[Any, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = k.value
                out[prefix + (key,)] = k.start_mark.line + 1
                walk(v, prefix + (key,))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                out[prefix + (i,)] = v.start_mark.line + 1
                walk(v, prefix + (i,))

    if root is not None:
        walk(root, ())
    return out


def config_to_yaml(cfg: ExperimentConfig) -> str:
    """The fully defaulted config as YAML (the results folder's ``config.yaml``)."""
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False, default_flow_style=None)
