"""One run's world: the nodes of a (config, strategy, seed), wired explicitly, and its clock.

The world is the only place that knows every node. It builds each one with a small context
(``context.py``), its own config section and its strategy's behaviour for its role, and shares
the few objects two nodes legitimately share (a producer's database with its relay). Then it
starts them, feeds the workload's arrivals to the producers, and runs the clock to
``duration + drain``.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from typing import Any

from ..config.models import ExperimentConfig
from ..core.rng import Streams
from ..core.strategies import Strategy
from ..history.recorder import Recorder, RecordOp
from .broker.node import Broker
from .clock import Call, Clock, call_later, call_soon
from .consumer.node import Consumer
from .context import Context
from .faults import FaultInjector
from .network import Network
from .node import Node
from .producer.database import ProducerDatabase
from .producer.node import Producer
from .relay import Relay
from .schedule import ConcreteFault
from .sink import Sink
from .twophase import Coordinator
from .workload import Arrival, materialise_workload

LagSample = tuple[float, str, int, int, int]


class Feed:
    """Hands a producer its arrivals, each at its time, by timer callbacks (as a process
    looping over them would: it starts in the next urgent step, and the timer of the next
    arrival is started after the producer took the previous one)."""

    __slots__ = ("env", "producer", "arrivals", "pending")

    def __init__(
        self, env: Clock, producer: Producer, arrivals: Iterable[Arrival]
    ) -> None:
        self.env = env
        self.producer = producer
        self.arrivals = iter(arrivals)
        self.pending: Arrival | None = None
        call_soon(env, self._next)

    def _next(self, _call: Call | None) -> None:
        env = self.env
        for a in self.arrivals:
            if a.time > env._now:
                self.pending = a
                call_later(env, a.time - env._now, self._arrive)
                return
            self.producer.arrive(a)

    def _arrive(self, _call: Call) -> None:
        a = self.pending
        assert a is not None
        self.producer.arrive(a)
        self._next(None)


class World:
    """Everything one run needs: environment, streams, nodes, network, faults."""

    def __init__(
        self,
        cfg: ExperimentConfig,
        strategy: Strategy,
        seed: int,
        schedule: list[ConcreteFault],
        env: Clock,
        record: Recorder,
    ) -> None:
        self.cfg = cfg
        self.strategy = strategy
        self.env = env
        self.streams = Streams(seed)
        self.recorder = record
        self.record: RecordOp = record.op
        self.topology = cfg.node_topology([strategy])
        self.network = Network(
            self.env,
            self.record,
            self.streams,
            cfg.topology.network,
            list(self.topology.nodes),
            self.topology.edges,
            self.topology.host_of,
        )
        self.nodes: dict[str, Node] = {}
        self.faults = FaultInjector(self.env, self.record, self.nodes, self.network, schedule)
        ctx = Context(
            self.env,
            self.record,
            self.network,
            self.topology,
            self.streams,
            self.faults,
            cfg.producer.request_timeout,
        )
        self._build(ctx)
        self.network.attach(self.nodes)
        self.lag_samples: list[LagSample] = []

    def _build(self, ctx: Context) -> None:
        cfg, role, topo = self.cfg, self.strategy, self.topology
        groups = [(plan.name, plan.settings) for plan in cfg.groups]
        databases = [ProducerDatabase(name, self.record) for name in topo.producer_names]
        self.producers = [
            Producer(name, ctx, cfg.producer, role.producer, db, cfg.two_phase_commit)
            for name, db in zip(topo.producer_names, databases, strict=True)
        ]
        self.brokers = [
            Broker(
                name,
                ctx,
                cfg.broker,
                role.broker,
                cfg.two_phase_commit,
                groups if name == topo.group_coordinator else None,
            )
            for name in topo.broker_names
        ]
        self.consumers = [
            Consumer(
                name,
                ctx,
                role.consumer,
                plan.settings,
                cfg.broker,
                cfg.workload.failure_probability,
                plan.name,
            )
            for plan in cfg.groups
            for name in topo.consumers_of(plan.name)
        ]
        self.sinks = {g: Sink(topo.sink_of(g), ctx) for g in topo.group_names}
        relays = (
            [
                Relay(
                    topo.relay_of(db.owner),
                    ctx,
                    cfg.outbox,
                    cfg.producer.backoff,
                    db,
                    cfg.producer.delivery_timeout,
                )
                for db in databases
            ]
            if topo.relays
            else []
        )
        extra: list[Node] = (
            [Coordinator(topo.two_pc_coordinator, ctx, cfg.two_phase_commit)]
            if topo.coordinator
            else []
        )
        sinks = list(self.sinks.values())
        for node in [*self.producers, *self.brokers, *self.consumers, *sinks, *relays, *extra]:
            self.nodes[node.name] = node

    def run(self) -> float:
        """Simulate to ``duration + drain``; return that time."""
        for node in self.nodes.values():
            node.start()
        workload = materialise_workload(self.cfg, self.streams)
        for producer, arrivals in zip(self.producers, workload, strict=True):
            Feed(self.env, producer, arrivals)
        until = self.cfg.duration + self.cfg.drain
        self.env.process(self._sample_lag(max(0.05, until / 400)))
        self.env.run(until=until)
        return until

    def _sample_lag(self, every: float) -> Generator[Any, Any, None]:
        """Consumer lag per group and partition: records in the log beyond the group's
        committed offset (the broker's, or its sink's for transactional consumers), and the
        backlog: records not yet consumed (:meth:`Broker.levels`)."""
        host = self.brokers[0]
        while True:
            now = float(self.env.now)
            for group, sink in self.sinks.items():
                committed = host.committed_offsets(group)
                stored = sink.stored_offsets()
                for broker in self.brokers:
                    for p, end, backlog in broker.levels(group):
                        consumed = max(committed.get(p, 0), stored.get(p, 0))
                        lag = max(0, end - consumed)
                        self.lag_samples.append((now, group, p, lag, backlog))
            yield self.env.timeout(every)
