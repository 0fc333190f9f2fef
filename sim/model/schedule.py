"""The fault schedule: the config's ``faults:`` materialised into concrete, timestamped faults.

:func:`materialise` runs once per (cell, replication), before any strategy runs: node globs
become one fault per node, and ``random`` generators are drawn from the seed here, never
during a run. The same list is then replayed into every strategy's run (``faults.py``) and
written to ``faults.csv`` (:func:`schedule_frame`).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from ..config.faults import (
    CrashFault,
    DelayFault,
    DiskLossFault,
    DropFault,
    DuplicateFault,
    PartitionFault,
    PauseFault,
    RandomFault,
    ReorderFault,
)
from ..config.models import ExperimentConfig
from ..core.rng import Streams


@dataclass(frozen=True)
class ConcreteFault:
    fault: int
    kind: str
    target: str
    at: float | None
    duration: float | None = None
    restart_after: float | None = None
    probability: float | None = None
    extra: Any = None
    on: str | None = None
    occurrence: int | None = None
    source: str = ""

    @property
    def groups(self) -> list[list[str]]:
        return [side.split(",") for side in self.target.split("|")]

    @property
    def end(self) -> float | None:
        """When the fault's effect ends (None: never, or not time-triggered)."""
        if self.at is None:
            return None
        if self.kind == "crash":
            return None if self.restart_after is None else self.at + self.restart_after
        if self.duration is None:
            return self.at
        return self.at + self.duration


_FIELDS = [f.name for f in fields(ConcreteFault)]


@lru_cache(maxsize=1024)
def _matching(nodes: tuple[str, ...], patterns: tuple[str, ...]) -> tuple[str, ...]:
    """The nodes any of ``patterns`` names, in order (remembered: every replication of a
    cell asks the same)."""
    return tuple(n for n in nodes if any(fnmatch.fnmatchcase(n, p) for p in patterns))


def _cap(at: float, duration: float, horizon: float) -> float:
    return min(duration, max(0.0, horizon - at))


def _expand(nodes: tuple[str, ...], f: Any, src: str, horizon: float) -> list[dict[str, Any]]:
    """The concrete faults (as keyword dicts) of one configured, non-random fault."""
    if isinstance(f, CrashFault):
        occurrence = f.occurrence if f.on else None
        return [
            dict(
                kind="crash",
                target=node,
                at=f.at,
                restart_after=f.restart_after,
                on=f.on,
                occurrence=occurrence,
                source=src,
            )
            for node in _matching(nodes, (f.node,))
        ]
    if isinstance(f, DiskLossFault):
        return [
            dict(kind="disk-loss", target=node, at=f.at, source=src)
            for node in _matching(nodes, (f.node,))
        ]
    lasting = dict(at=f.at, duration=_cap(f.at, f.duration, horizon), source=src)
    if isinstance(f, PauseFault):
        return [dict(kind="pause", target=node, **lasting) for node in _matching(nodes, (f.node,))]
    if isinstance(f, PartitionFault):
        target = "|".join(",".join(side) for side in f.sides)
        return [dict(kind="partition", target=target, **lasting)]
    if isinstance(f, DropFault | DuplicateFault):
        return [dict(kind=f.kind, target=f.link, probability=f.probability, **lasting)]
    if isinstance(f, ReorderFault):
        return [
            dict(kind="reorder", target=f.link, probability=f.probability, extra=f.extra, **lasting)
        ]
    assert isinstance(f, DelayFault)
    return [dict(kind="delay", target=f.link, extra=f.extra, **lasting)]


def materialise(
    cfg: ExperimentConfig, seed: int, nodes: tuple[str, ...] | None = None
) -> list[ConcreteFault]:
    """The concrete schedule for one (cell, replication). ``nodes``: the cell's node names,
    when already known (a cell's replications share them, and building them takes the
    strategies)."""
    horizon = cfg.duration + cfg.drain
    if nodes is None:
        nodes = tuple(cfg.node_names())
    out: list[dict[str, Any]] = []
    for i, f in enumerate(cfg.faults):
        if isinstance(f, RandomFault):
            rng = Streams(seed)(f"faults/random/{i}")
            out.extend(_expand_random(nodes, f, i, rng, horizon))
        else:
            out.extend(_expand(nodes, f, f"faults.{i}", horizon))
    return [ConcreteFault(fault=j, **row) for j, row in enumerate(out)]


def _expand_random(
    names: tuple[str, ...], f: RandomFault, index: int, rng: np.random.Generator, horizon: float
) -> list[dict[str, Any]]:
    """Poisson arrivals at ``f.rate`` over [at, at+duration): a node and a kind chosen
    uniformly, an exponential length with ``mean_duration``."""
    patterns = (f.nodes,) if isinstance(f.nodes, str) else tuple(f.nodes)
    nodes = _matching(names, patterns)
    end = min(f.at + f.duration, horizon)
    src = f"faults.{index}/random"
    out: list[dict[str, Any]] = []
    t = f.at
    while True:
        t += float(rng.exponential(1.0 / f.rate))
        if t >= end:
            return out
        node = nodes[int(rng.integers(len(nodes)))]
        kind = f.kinds[int(rng.integers(len(f.kinds)))]
        length = float(rng.exponential(f.mean_duration))
        base = dict(at=t, source=src)
        if kind == "crash":
            out.append(dict(kind="crash", target=node, restart_after=length, **base))
        elif kind == "pause":
            out.append(dict(kind="pause", target=node, duration=length, **base))
        elif kind == "partition":
            out.append(dict(kind="partition", target=f"{node}|*", duration=length, **base))
        elif kind == "delay":
            out.append(
                dict(kind="delay", target=f"{node}<->*", duration=length, extra=f.extra, **base)
            )
        else:
            out.append(
                dict(
                    kind=kind,
                    target=f"{node}<->*",
                    duration=length,
                    probability=f.probability,
                    **base,
                )
            )


def schedule_frame(schedule: list[ConcreteFault], cell: int, replication: int) -> pd.DataFrame:
    return schedule_table([(schedule, cell, replication)])


def schedule_table(
    parts: Iterable[tuple[Sequence[ConcreteFault], int, int]],
) -> pd.DataFrame:
    """The schedules of many (cell, replication)s as one frame (built once: a sweep of many
    cells must not build a frame per cell)."""
    cols = [
        "cell",
        "replication",
        "fault",
        "kind",
        "target",
        "at",
        "duration",
        "restart_after",
        "probability",
        "extra",
        "on",
        "occurrence",
        "source",
    ]
    rows = []
    for schedule, cell, replication in parts:
        for f in schedule:
            d = {name: getattr(f, name) for name in _FIELDS}  # (asdict copies deeply: slow)
            extra = f.extra
            d["extra"] = None if extra is None else _dist_text(extra)
            rows.append({"cell": cell, "replication": replication, **d})
    frame = pd.DataFrame(rows, columns=cols)
    for c in ("at", "duration", "restart_after", "probability"):
        frame[c] = frame[c].astype(float)
    frame["occurrence"] = frame["occurrence"].astype("Int64")
    for c in ("target", "extra", "on", "source", "kind"):
        frame[c] = frame[c].astype("str")  # missing values are NaN, as after a CSV round trip
    return frame


def _dist_text(d: Any) -> str:
    fields = {k: v for k, v in d.model_dump().items() if k != "dist"}
    return d.dist + "(" + ", ".join(f"{k}={v:g}" for k, v in fields.items()) + ")"
