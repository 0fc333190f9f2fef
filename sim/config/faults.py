"""The ``faults:`` list: one pydantic model per fault kind, told apart by ``kind``.

A fault with a time has ``at`` (simulated seconds) and, where it lasts, ``duration``. A crash
may instead fire on a protocol step (``on``, the ``occurrence``-th time the node reaches it).
``random`` is a generator, expanded from the seed into concrete faults before any run
(``sim/model/schedule.py``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from ..core.distributions import Constant, Distribution
from .base import Model, NonNegFloat, PosFloat, PosInt, Probability
from .links import parse_link

PROTOCOL_STEPS: dict[str, str] = {
    "after-ack-before-process": "consumer: offsets committed (acked) on receipt, before the "
    "effect is applied (at-most-once)",
    "after-process-before-commit": "consumer: effect applied in the sink, before the offset is "
    "committed (at-least-once)",
    "after-send-before-ack": "producer: request sent, before its acknowledgement arrives",
    "after-append-before-ack": "broker: record appended to the log, before the acknowledgement "
    "is sent",
    "after-commit-before-publish": "producer (commit-then-publish, outbox): local transaction "
    "committed, before publishing",
    "before-commit-after-publish": "producer (publish-then-commit): published, before the local "
    "commit",
    "after-publish-before-mark": "relay (outbox): published, before marking the outbox rows sent",
    "after-prepare": "coordinator (2PC): prepare sent to the participants, before the decision",
    "after-decision-logged": "coordinator (2PC): decision forced to its log, before it is sent",
}


class _Fault(Model):
    at: NonNegFloat | None = None


class _Lasting(_Fault):
    at: NonNegFloat = 0.0
    duration: PosFloat = 1e18


class _OnLink(_Lasting):
    """A fault on the links matching ``link`` (each subclass declares the field, after ``kind``)."""

    @field_validator("link", check_fields=False)
    @classmethod
    def _link(cls, v: str) -> str:
        parse_link(v)
        return v


class CrashFault(_Fault):
    kind: Literal["crash"]
    node: str
    on: str | None = None
    occurrence: PosInt = 1
    restart_after: NonNegFloat | None = None

    @model_validator(mode="after")
    def _when(self) -> CrashFault:
        if (self.at is None) == (self.on is None):
            raise ValueError("a crash needs exactly one of `at` (a time) or `on` (a protocol step)")
        if self.on is not None and self.on not in PROTOCOL_STEPS:
            raise ValueError(
                f"unknown protocol step {self.on!r}; allowed: {', '.join(PROTOCOL_STEPS)}"
            )
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
            raise ValueError(
                "a partition needs exactly one of `groups: [[...], [...]]` or `between: [A, B]`"
            )
        if self.between is not None and len(self.between) != 2:
            raise ValueError("`between` names exactly two node patterns")
        if self.groups is not None and len(self.groups) < 2:
            raise ValueError("`groups` needs at least two groups")
        return self

    @property
    def sides(self) -> list[list[str]]:
        if self.groups is not None:
            return self.groups
        assert self.between is not None
        return [[self.between[0]], [self.between[1]]]


class DropFault(_OnLink):
    kind: Literal["drop"]
    link: str
    probability: Probability = 1.0


class DelayFault(_OnLink):
    kind: Literal["delay"]
    link: str
    extra: Distribution = Constant(value=0.1)


class DuplicateFault(_OnLink):
    kind: Literal["duplicate"]
    link: str
    probability: Probability = 1.0


class ReorderFault(_OnLink):
    kind: Literal["reorder"]
    link: str
    probability: Probability = 1.0
    extra: Distribution | None = None


class DiskLossFault(_Fault):
    kind: Literal["disk-loss"]
    at: NonNegFloat = 0.0
    node: str


class RandomFault(_Lasting):
    """A generator of faults, expanded from the seed into concrete faults before any run."""

    kind: Literal["random"]
    nodes: str | list[str] = "*"
    kinds: Annotated[
        list[Literal["crash", "pause", "partition", "drop", "delay", "duplicate", "reorder"]],
        Field(min_length=1),
    ] = ["crash"]
    rate: PosFloat
    mean_duration: PosFloat = 1.0
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
FAULT_KINDS = (
    "crash",
    "pause",
    "partition",
    "drop",
    "delay",
    "duplicate",
    "reorder",
    "disk-loss",
    "random",
)


def node_patterns(f: Fault) -> list[tuple[str, str]]:
    """(key, node pattern) for every node pattern fault ``f`` names."""
    if isinstance(f, CrashFault | PauseFault | DiskLossFault):
        return [("node", f.node)]
    if isinstance(f, PartitionFault):
        key = "groups" if f.groups is not None else "between"
        return [(key, n) for side in f.sides for n in side]
    if isinstance(f, DropFault | DelayFault | DuplicateFault | ReorderFault):
        a, b, _ = parse_link(f.link)
        return [("link", a), ("link", b)]
    if isinstance(f, RandomFault):
        return [("nodes", n) for n in ([f.nodes] if isinstance(f.nodes, str) else f.nodes)]
    return []
