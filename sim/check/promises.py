"""Promises: whether each guarantee a strategy declares applies to a run, and whether it held.

A strategy declares promises with conditions (``sim/core/strategies.py``). The conditions are
decided from :class:`RunFacts` (what the config and the materialised fault schedule say about
the run); a promise whose conditions all hold *applies*, and then it was *kept* or *broken*
according to the checker's counts, which come from the recorded history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..core.strategies import Strategy

Status = Literal["kept", "broken", "not applicable"]


@dataclass(frozen=True)
class RunFacts:
    """What decides a run's conditions (see :data:`sim.core.strategies.CONDITIONS`)."""

    durability: str
    dedupe_durable: bool
    dedupe_window: float | None
    retries: int | None
    bounded_discards: bool
    """A bounded partition may reject or displace records (capacity with reject/drop-oldest)."""
    network_duplication: bool
    crashed: frozenset[str]
    """Nodes that crash at some point of the schedule."""
    disk_loss: frozenset[str]
    """Nodes with a disk-loss fault armed."""


def conditions(facts: RunFacts) -> dict[str, bool]:
    """Each condition's truth in a run with these facts."""
    brokers_crash = {n for n in facts.crashed if n.startswith("broker")}
    loses_writes = bool(brokers_crash) and (
        facts.durability == "memory"
        or (facts.durability == "interval" and bool(brokers_crash & facts.disk_loss))
    )
    loses_state = bool(brokers_crash) and (not facts.dedupe_durable or facts.durability == "memory")
    return {
        "brokers-keep-acked-writes": not loses_writes,
        "producers-stay-up": not any(n.startswith("producer") for n in facts.crashed),
        "dedupe-state-kept": not loses_state and facts.dedupe_window is None,
        "no-network-duplication": not facts.network_duplication,
        "unlimited-retries": facts.retries is None,
        "no-overflow-discard": not facts.bounded_discards,
    }


#: The summary count that must be zero for each promise to be kept.
BREAKS: dict[str, str] = {
    "no-loss": "lost",
    "no-duplicates": "duplicates",
    "no-phantoms": "phantoms",
    "per-key-order": "order_violations",
}


@dataclass(frozen=True)
class PromiseVerdict:
    promise: str
    status: Status
    why: str
    """For ``not applicable``: the conditions that fail; for ``broken``: the count."""


def judge(strategy: Strategy, facts: RunFacts, counts: dict[str, float]) -> list[PromiseVerdict]:
    """The verdict on each promise ``strategy`` declares, for one run."""
    truth = conditions(facts)
    out = []
    for promise in strategy.promises:
        failing = [c for c in promise.conditions if not truth[c]]
        if failing:
            out.append(PromiseVerdict(promise.name, "not applicable", ", ".join(failing)))
            continue
        column = BREAKS[promise.name]
        n = counts.get(column, 0)
        if n:
            out.append(PromiseVerdict(promise.name, "broken", f"{column} = {n:g}"))
        else:
            out.append(PromiseVerdict(promise.name, "kept", ""))
    return out
