"""The story of one business event in one run, as ``msgsim explain`` tells and draws it.

Shared by the teller (:mod:`sim.report.explain`), the narration of each history row
(:mod:`sim.report.narrate`) and the sequence diagram (:mod:`sim.report.diagram`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

#: The columns of :func:`sim.report.explain.journey`.
JOURNEY_COLUMNS = ["time", "seq", "node", "peer", "step", "text"]
#: The columns of a story's steps: the journey, plus what the diagram needs: the operation
#: and its fields, the message type (``kind``), the unit kept or left out together when the
#: diagram has too many steps (``unit``, ``prio``: lower is more telling), the marker drawn
#: on the lifeline (``mark``) and its label.
STEP_COLUMNS = [
    *JOURNEY_COLUMNS,
    "op",
    "num",
    "part",
    "detail",
    "kind",
    "unit",
    "prio",
    "mark",
    "label",
]

_ROLE_ORDER = {
    "producer": 0,
    "relay": 1,
    "coordinator": 2,
    "broker": 3,
    "consumer": 4,
    "sink": 5,
}


@dataclass
class Fault:
    """One fault of the run (from its ``fault-start`` and ``fault-end`` rows), and the
    event's nodes it concerns."""

    num: int
    kind: str
    target: str
    start: float
    end: float | None
    """None: it never ended within the run."""
    start_seq: int
    end_seq: int | None
    probability: float | None = None
    nodes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        p = ""
        if self.probability is not None and math.isfinite(self.probability):
            p = f" p={self.probability:g}"
        until = "on" if self.end is None else f"{self.end:g}"
        on_node = self.kind in ("crash", "pause", "disk-loss")
        where = f"of {self.target}" if on_node else f"on {self.target}"
        return f"{self.kind}{p} {where} (fault {self.num}, t={self.start:g} to {until})"


@dataclass(frozen=True)
class Findings:
    """What the checker attributed to the event, with history positions as trace seqs."""

    copies: dict[int, tuple[int, str | None]] = field(default_factory=dict)
    """Seq of each append -> (its copy number in the logs, why it is an extra copy; None
    for the first)."""
    duplicate_causes: tuple[str, ...] = ()
    """One per effect beyond the first, in order."""


@dataclass
class Story:
    run: str
    message_id: str
    info: dict[str, Any]
    """Its messages-frame row (the checker's verdict on it): fate, effects, causes, ..."""
    findings: Findings
    steps: pd.DataFrame
    """One row per told history row, :data:`STEP_COLUMNS`."""
    runs_with_id: list[str]
    how_chosen: str
    faults: list[Fault]
    nodes: list[str]
    """Its lifelines, in role order."""
    group: str = ""
    """The consumer group whose view it tells ("" with one group)."""


def node_key(name: str) -> tuple[int, str, int, str]:
    """Order nodes by role (producer first, sink last), then by index."""
    role, _, index = name.partition("-")
    number = int(index) if index.isdigit() else 0
    return (_ROLE_ORDER.get(role, len(_ROLE_ORDER)), role, number, name)


def present(value: Any) -> str | None:
    """A frame cell as text, None when missing (None or NaN) or empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    text = str(value)
    return text or None


def effects_of(info: dict[str, Any]) -> int:
    return int(float(info["effects"])) if present(info.get("effects")) is not None else 0
