"""The facts of a run that decide its promises' conditions, from its config and its faults.

A run's faults are the ones that fired (its ``fault-start`` operations): a crash armed on a
protocol step the strategy never reaches, or on a node it does not have, leaves that run's
conditions as they were. Without the fired operations (judging a run again from its config
alone), every fault of the schedule counts as fired.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..check.promises import RunFacts
from ..config import ExperimentConfig
from ..history.ops import Op, Row
from ..model.schedule import ConcreteFault


def run_facts(
    cfg: ExperimentConfig, schedule: list[ConcreteFault], fired: Iterable[Row] | None = None
) -> RunFacts:
    """The facts of a run of ``cfg`` under ``schedule``; ``fired``: the run's ``fault-start``
    (and ``fault-end``) operations, when it has run."""
    if fired is None:
        happened = schedule
        crashed = {f.target for f in schedule if f.kind == "crash"}
    else:
        starts = [row for row in fired if row[1] is Op.FAULT_START]
        ids = {row[6] for row in starts}
        happened = [f for f in schedule if f.fault in ids]
        crashed = {str(row[2]) for row in starts if row[7] == "crash"}
    b = cfg.broker
    net = cfg.topology.network
    duplication = (
        net.duplicate > 0
        or any((link.duplicate or 0) > 0 for link in net.links.values())
        or any(f.kind == "duplicate" and (f.probability or 0) > 0 for f in happened)
    )
    return RunFacts(
        durability=b.durability,
        dedupe_durable=b.dedupe_durable,
        dedupe_window=b.dedupe_window,
        retries=cfg.producer.retries,
        bounded_discards=b.capacity is not None and b.overflow != "block",
        network_duplication=duplication,
        crashed=frozenset(crashed),
        disk_loss=frozenset(f.target for f in happened if f.kind == "disk-loss"),
        horizon=cfg.duration + cfg.drain,
    )
