"""The facts of a run that decide its promises' conditions, from its config and schedule."""

from __future__ import annotations

from ..check.promises import RunFacts
from ..config import ExperimentConfig
from ..model.schedule import ConcreteFault


def run_facts(cfg: ExperimentConfig, schedule: list[ConcreteFault]) -> RunFacts:
    b = cfg.broker
    net = cfg.topology.network
    duplication = (
        net.duplicate > 0
        or any((link.duplicate or 0) > 0 for link in net.links.values())
        or any(f.kind == "duplicate" and (f.probability or 0) > 0 for f in schedule)
    )
    return RunFacts(
        durability=b.durability,
        dedupe_durable=b.dedupe_durable,
        dedupe_window=b.dedupe_window,
        retries=cfg.producer.retries,
        bounded_discards=b.capacity is not None and b.overflow != "block",
        network_duplication=duplication,
        crashed=frozenset(f.target for f in schedule if f.kind == "crash"),
        disk_loss=frozenset(f.target for f in schedule if f.kind == "disk-loss"),
        horizon=cfg.duration + cfg.drain,
    )
