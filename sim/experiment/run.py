"""One run: build the world of a (config, strategy, replication), simulate it, check it.

The checker folds the history online, as the recorder receives it; the history itself is kept
only at trace ``full`` (it is then stored and can be checked again offline, with the same
verdict). Two cross-checks guard the model against the checker: the sink's own effects table
and the network's send counter must agree with the history.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd
import simpy

from ..check import Checker, Verdict, messages_frame
from ..check.promises import judge, verdict_columns
from ..config import ExperimentConfig
from ..history.recorder import Recorder, history_frame
from ..model.schedule import ConcreteFault
from ..model.world import World
from .facts import run_facts

RUN_KEYS = ("strategy", "cell", "replication")


class RunFailed(RuntimeError):
    """The simulation itself failed (a bug or a broken invariant), not the input."""


@dataclass
class RunOutput:
    row: dict[str, Any]
    messages: pd.DataFrame | None
    events: pd.DataFrame | None
    lag: pd.DataFrame | None = None


@dataclass
class Simulated:
    """A finished run before it is turned into frames."""

    world: World
    verdict: Verdict
    ops: list[Any]
    sim_time: float


def simulate(
    cfg: ExperimentConfig, strategy: str, seed: int, schedule: list[ConcreteFault]
) -> Simulated:
    """Run the world and fold its history online."""
    env = simpy.Environment()
    checker = Checker(cfg.duration)
    record = Recorder(env, keep=cfg.trace == "full", listener=checker.feed)
    # A run makes almost no cyclic garbage, but every collection walks what it keeps: pause
    # the collector meanwhile.
    collecting = gc.isenabled()
    gc.disable()
    try:
        world = World(cfg, cfg.strategy(strategy), seed, schedule, env, record)
        sim_time = world.run()
        verdict = checker.verdict(sim_time)
    finally:
        if collecting:
            gc.enable()
    if verdict.violations:
        shown = "; ".join(verdict.violations[:3])
        raise RunFailed(f"{len(verdict.violations)} protocol invariant(s) broken: {shown}")
    history_effects = {eid: e.effects for eid, e in verdict.events.items() if e.effects}
    if history_effects != dict(world.sink.effects):
        raise RunFailed("the sink's effects table disagrees with the effects in the history")
    if verdict.counts["network_messages"] != world.network.sent:
        raise RunFailed("the network's send counter disagrees with the sends in the history")
    return Simulated(world, verdict, record.ops, sim_time)


def _tag(frame: pd.DataFrame, ident: dict[str, Any]) -> pd.DataFrame:
    for i, k in enumerate(RUN_KEYS):
        frame.insert(i, k, ident[k])
    return frame


def run_one(
    cfg: ExperimentConfig,
    strategy: str,
    cell: int,
    replication: int,
    seed: int,
    schedule: list[ConcreteFault],
    extra: dict[str, Any] | None = None,
) -> RunOutput:
    """Simulate one (cell, strategy, replication) and check its history."""
    started = time.perf_counter()
    done = simulate(cfg, strategy, seed, schedule)
    ident = {
        "experiment": cfg.name,
        "cell": cell,
        **(extra or {}),
        "strategy": strategy,
        "replication": replication,
        "seed": seed,
    }
    verdicts = judge(cfg.strategy(strategy), run_facts(cfg, schedule), done.verdict.counts)
    row = {
        **ident,
        **done.verdict.counts,
        **verdict_columns(verdicts, done.verdict),
        "wall_seconds": time.perf_counter() - started,
    }
    messages = events = None
    if cfg.trace in ("messages", "full"):
        messages = _tag(messages_frame(done.verdict), ident)
    if cfg.trace == "full":
        events = _tag(history_frame(done.ops), ident)
    lag = _tag(pd.DataFrame(done.world.lag_samples, columns=["time", "partition", "lag"]), ident)
    return RunOutput(row, messages, events, lag)
