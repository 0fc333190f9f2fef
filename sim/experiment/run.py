"""One run: build the world of a (config, strategy, replication), simulate it, check it.

The checker folds the history online, as the recorder receives it; the history itself is kept
only at trace ``full`` (it is then stored and can be checked again offline, with the same
verdict). Two cross-checks guard the model against the checker: the sink's own effects table
and the network's send counter must agree with the history.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import pandas as pd
import simpy

from ..check import Verdict, messages_frame
from ..check.groups import GroupedChecker
from ..check.promises import judge, verdict_columns
from ..config import ExperimentConfig
from ..core.eids import IdMap
from ..history.ops import Op, Row
from ..history.recorder import Recorder, history_frame
from ..model.clock import Clock
from ..model.schedule import ConcreteFault
from ..model.world import World
from .allocator import fix_mmap_threshold
from .facts import run_facts

RUN_KEYS = ("strategy", "cell", "replication")
LAG_COLUMNS = ["time", "group", "partition", "lag", "backlog"]
FIRED_COLUMNS = ["fault", "kind", "target", "start", "end"]
#: How often (in parts of the run) a run reports its simulated time to ``progress``.
PROGRESS_STEPS = 200
Progress = Callable[[float], None]


class RunFailed(RuntimeError):
    """The simulation itself failed (a bug or a broken invariant), not the input."""


@dataclass
class RunOutput:
    rows: list[dict[str, Any]]
    """The run's summary rows: one per consumer group."""
    messages: pd.DataFrame | None
    events: pd.DataFrame | None
    lag: pd.DataFrame | None = None
    fired: pd.DataFrame | None = None
    """When each fault started and ended in this run (from its ``fault-start`` and
    ``fault-end`` operations): a step-triggered crash fires at a different time per strategy."""


@dataclass
class Simulated:
    """A finished run before it is turned into frames."""

    world: World
    verdicts: dict[str, Verdict]
    """Per consumer group."""
    ops: list[Any]
    sim_time: float
    fired: list[Row]


def _report(env: simpy.Environment, until: float, progress: Progress) -> Generator[Any, Any, None]:
    """Tell ``progress`` the simulated time every 1/PROGRESS_STEPS of the run. It only reads
    the clock, so a run gives the same results with or without it."""
    step = until / PROGRESS_STEPS
    while True:
        yield env.timeout(step)
        progress(float(env.now))


def simulate(
    cfg: ExperimentConfig,
    strategy: str,
    seed: int,
    schedule: list[ConcreteFault],
    progress: Progress | None = None,
) -> Simulated:
    """Run the world and fold its history online (reporting progress, if asked)."""
    fix_mmap_threshold()  # a long run's memory, not its results (sim/experiment/allocator.py)
    env = Clock()
    checker = GroupedChecker(cfg.duration, cfg.node_topology([cfg.strategy(strategy)]))
    record = Recorder(env, keep=cfg.trace == "full", listener=checker.feed_many)
    if progress is not None:
        env.process(_report(env, cfg.duration + cfg.drain, progress))
    # A run makes almost no cyclic garbage, but every collection walks what it keeps: pause
    # the collector meanwhile.
    collecting = gc.isenabled()
    gc.disable()
    try:
        world = World(cfg, cfg.strategy(strategy), seed, schedule, env, record)
        sim_time = world.run()
        record.flush()
        verdicts = checker.verdicts(sim_time)
        for group, verdict in verdicts.items():
            _cross_check(world, group, verdict)
    finally:
        if collecting:
            gc.enable()
    return Simulated(world, verdicts, record.ops, sim_time, checker.fired)


def _cross_check(world: World, group: str, verdict: Verdict) -> None:
    """The verdict of ``group`` against the model's own state (a disagreement is a bug)."""
    if verdict.violations:
        shown = "; ".join(verdict.violations[:3])
        raise RunFailed(f"{len(verdict.violations)} protocol invariant(s) broken: {shown}")
    if not _same_effects(verdict, world.sinks[group].effects):
        raise RunFailed("the sink's effects table disagrees with the effects in the history")
    if verdict.counts["network_messages"] != world.network.sent:
        raise RunFailed("the network's send counter disagrees with the sends in the history")


def _same_effects(verdict: Verdict, table: IdMap) -> bool:
    """The sink's effects table says what the history says: the same events with effects,
    with the same counts (their checksums, :class:`~sim.core.eids.Checksum`: the verdict's made
    in its one pass over the events, the table's from its arrays; a long run would feel a
    second pass over every event)."""
    return verdict.effects == table.checksum()


def _tag(frame: pd.DataFrame, ident: dict[str, Any], group: str | None = None) -> pd.DataFrame:
    for i, k in enumerate(RUN_KEYS):
        frame.insert(i, k, ident[k])
    if group is not None:
        frame.insert(len(RUN_KEYS), "group", group)
    return frame


def run_one(
    cfg: ExperimentConfig,
    strategy: str,
    cell: int,
    replication: int,
    seed: int,
    schedule: list[ConcreteFault],
    extra: dict[str, Any] | None = None,
    *,
    progress: Progress | None = None,
) -> RunOutput:
    """Simulate one (cell, strategy, replication) and check its history."""
    started = time.perf_counter()
    done = simulate(cfg, strategy, seed, schedule, progress)
    ident = {
        "experiment": cfg.name,
        "cell": cell,
        **(extra or {}),
        "strategy": strategy,
        "replication": replication,
        "seed": seed,
    }
    facts = run_facts(cfg, schedule, done.fired)
    rows = []
    for group, verdict in done.verdicts.items():
        promises = judge(cfg.strategy(strategy), facts, verdict.counts)
        rows.append(
            {
                **ident,
                "group": group,
                **verdict.counts,
                **verdict_columns(promises, verdict),
            }
        )
    wall = time.perf_counter() - started
    for row in rows:
        row["wall_seconds"] = wall
    messages = events = None
    if cfg.trace in ("messages", "full"):
        frames = [_tag(messages_frame(v), ident, g) for g, v in done.verdicts.items()]
        messages = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    if cfg.trace == "full":
        events = _tag(history_frame(done.ops), ident)
    lag = _tag(pd.DataFrame(done.world.lag_samples, columns=LAG_COLUMNS), ident)
    fired = _tag(fired_frame(done.fired), ident)
    return RunOutput(rows, messages, events, lag, fired)


def fired_frame(ops: list[Row]) -> pd.DataFrame:
    """One row per fault that started in a run: (fault, kind, target, start, end); ``end`` is
    NaN for a crash without restart (it stays down) and for a fault that lasts to the end."""
    rows: dict[int, list[Any]] = {}
    for time_, op, node, _peer, _eids, _part, num, detail in ops:
        if op is Op.FAULT_START and num not in rows:
            rows[num] = [num, str(detail), node, float(time_), float("nan")]
        elif op is Op.FAULT_END and num in rows:
            rows[num][4] = float(time_)
    frame = pd.DataFrame(list(rows.values()), columns=FIRED_COLUMNS)
    return frame.astype({"fault": "int64", "start": "float64", "end": "float64"})
