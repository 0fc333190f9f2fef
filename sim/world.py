"""One run: build the world for a (config, strategy, replication), simulate it, check it."""

from __future__ import annotations

import gc
import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import pandas as pd
import simpy

from .broker import Broker
from .checker import check, messages_frame
from .config import ExperimentConfig
from .consumer import Consumer
from .faults import ConcreteFault, FaultInjector
from .network import Network
from .node import Node
from .producer import Producer
from .recorder import Recorder, history_frame
from .relay import Relay
from .rng import Streams
from .sink import Sink
from .strategies import STRATEGIES
from .twophase import Coordinator
from .workload import Arrival, materialise_workload


class RunFailed(RuntimeError):
    """The simulation itself failed (a bug or a broken invariant), not the input."""


@dataclass
class RunOutput:
    row: dict[str, Any]
    messages: pd.DataFrame | None
    events: pd.DataFrame | None
    lag: pd.DataFrame | None = None


class World:
    """Everything one run needs: environment, streams, history, nodes, network, faults."""

    def __init__(self, cfg: ExperimentConfig, strategy: str, seed: int, schedule: list[ConcreteFault]) -> None:
        self.cfg = cfg
        self.strategy = STRATEGIES[strategy]
        self.seed = seed
        self.env = simpy.Environment()
        self.streams = Streams(seed)
        self.record = Recorder(self.env)
        t = cfg.topology
        self.nodes: dict[str, Node] = {}
        self.coordinator_name = "broker-0"  # hosts the consumer group (and the producer ids)
        self.producers = [Producer(f"producer-{i}", self) for i in range(cfg.workload.producers)]
        self.brokers = [
            Broker(f"broker-{b}", self, [p for p in range(t.partitions) if p % t.brokers == b])
            for b in range(t.brokers)
        ]
        for n in [*self.producers, *self.brokers]:
            self.nodes[n.name] = n
        self.consumers = [Consumer(f"consumer-{k}", self) for k in range(t.consumers)]
        self.sink = Sink("sink", self)
        for n in [*self.consumers, self.sink]:
            self.nodes[n.name] = n
        coupling = self.strategy.producer.coupling
        self.relays = [Relay(f"relay-{i}", self, p) for i, p in enumerate(self.producers)] if coupling == "outbox" else []
        self.coordinator = Coordinator("coordinator", self) if coupling == "two-phase-commit" else None
        for extra in [*self.relays, *([self.coordinator] if self.coordinator else [])]:
            self.nodes[extra.name] = extra
        edges: list[tuple[str, str]] = []
        for a in [*self.producers, *self.consumers, *self.relays]:
            for b in self.brokers:
                edges += [(a.name, b.name), (b.name, a.name)]
        for c in self.consumers:
            edges += [(c.name, "sink"), ("sink", c.name)]
        if self.coordinator is not None:
            for n in [*self.producers, *self.brokers]:
                edges += [(n.name, "coordinator"), ("coordinator", n.name)]
        self.network = Network(self, t.network, edges)
        self.faults = FaultInjector(self, schedule)

    def leader_of(self, partition: int) -> str:
        return f"broker-{partition % self.cfg.topology.brokers}"

    def _arrivals(self, producer: Producer, arrivals: list[Arrival]) -> Generator[Any, Any, None]:
        for a in arrivals:
            if a.time > self.env.now:
                yield self.env.timeout(a.time - self.env.now)
            producer.arrive(a)

    def run(self) -> float:
        for node in self.nodes.values():
            node.start()
        workload = materialise_workload(self.cfg, self.streams)
        for producer, arrivals in zip(self.producers, workload, strict=True):
            self.env.process(self._arrivals(producer, arrivals))
        until = self.cfg.duration + self.cfg.drain
        self.lag_samples: list[tuple[float, int, int]] = []
        self.env.process(self._sample_lag(max(0.05, until / 400)))
        self.env.run(until=until)
        return until

    def _sample_lag(self, every: float) -> Generator[Any, Any, None]:
        """Consumer lag per partition: records in the log not yet consumed and committed (the
        committed offset is the broker's, or the sink's for transactional consumers)."""
        in_sink = self.strategy.consumer.commit == "in-sink"
        while True:
            for broker in self.brokers:
                for p, log in broker.logs.items():
                    consumed = self.sink.offsets.get(p, 0) if in_sink else log.committed
                    self.lag_samples.append((float(self.env.now), p, max(0, log.end - consumed)))
            yield self.env.timeout(every)


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
    # A run makes almost no cyclic garbage (peak memory measured the same with the collector
    # on), but every collection walks the growing history: pause the collector meanwhile.
    collecting = gc.isenabled()
    gc.disable()
    try:
        world = World(cfg, strategy, seed, schedule)
        sim_time = world.run()
        ops = world.record.ops
        verdict = check(ops, cfg.duration, sim_time)
    finally:
        if collecting:
            gc.enable()
    history_effects = {eid: e.effects for eid, e in verdict.events.items() if e.effects}
    if history_effects != dict(world.sink.effects):
        raise RunFailed("the sink's effects table disagrees with the effects in the history")
    if verdict.counts["network_messages"] != world.network.sent:
        raise RunFailed("the network's send counter disagrees with the sends in the history")
    ident = {"experiment": cfg.name, "cell": cell, **(extra or {}), "strategy": strategy,
             "replication": replication, "seed": seed}
    row = {**ident, **verdict.counts, "wall_seconds": time.perf_counter() - started}
    messages = events = None
    if cfg.trace in ("messages", "full"):
        messages = messages_frame(verdict)
        for i, (k, v) in enumerate((k, ident[k]) for k in ("strategy", "cell", "replication")):
            messages.insert(i, k, v)
    if cfg.trace == "full":
        events = history_frame(ops)
        for i, k in enumerate(("strategy", "cell", "replication")):
            events.insert(i, k, ident[k])
    lag = pd.DataFrame(world.lag_samples, columns=["time", "partition", "lag"])
    for i, k in enumerate(("strategy", "cell", "replication")):
        lag.insert(i, k, ident[k])
    return RunOutput(row, messages, events, lag)
