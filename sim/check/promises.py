"""Promises: whether each guarantee a strategy declares applies to a run, and whether it held.

A strategy declares promises with conditions (``sim/core/strategies.py``). The conditions are
decided from :class:`RunFacts` (what the config and the materialised fault schedule say about
the run); a promise whose conditions all hold *applies*, and then it was *kept* or *broken*
according to the checker's counts, which come from the recorded history.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Literal

from ..core.strategies import Strategy
from .state import Verdict, fate_of

Status = Literal["kept", "broken", "undecided", "not applicable"]


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
    horizon: float = float("inf")
    """duration + drain: how long anything in the run lasts."""
    dedupe_retention: float | None = None
    """The strategy's processed-id retention (None: for ever)."""


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
        "dedupe-retention-covers-run": facts.dedupe_retention is None
        or facts.dedupe_retention >= facts.horizon,
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
    """For ``not applicable``: the conditions that fail; for ``broken``: the count; for
    ``undecided`` (no-loss with nothing lost but events still pending when the run ended:
    the drain was too short to tell): the pending count."""


def judge(strategy: Strategy, facts: RunFacts, counts: dict[str, float]) -> list[PromiseVerdict]:
    """The verdict on each promise ``strategy`` declares, for one run."""
    truth = conditions(replace(facts, dedupe_retention=strategy.consumer.dedupe_retention))
    out = []
    for promise in strategy.promises:
        failing = [c for c in promise.conditions if not truth[c]]
        if failing:
            out.append(PromiseVerdict(promise.name, "not applicable", ", ".join(failing)))
            continue
        column = BREAKS[promise.name]
        n = counts.get(column, 0)
        pending = counts.get("pending", 0)
        if n:
            out.append(PromiseVerdict(promise.name, "broken", f"{column} = {n:g}"))
        elif promise.name == "no-loss" and pending:  # any of them may still be lost
            out.append(PromiseVerdict(promise.name, "undecided", f"pending = {pending:g}"))
        else:
            out.append(PromiseVerdict(promise.name, "kept", ""))
    return out


def promise_column(promise: str) -> str:
    """The summary column of a promise's verdict (``promise_no_loss``, ...)."""
    return "promise_" + promise.replace("-", "_")


def verdict_columns(verdicts: list[PromiseVerdict], v: Verdict) -> dict[str, str]:
    """The summary's verdict columns of one run: per promise kept / broken / not applicable /
    not promised; ``promises_broken``: each broken promise with its count and top causes,
    from the recorded history ("none"); ``promises_not_applicable``: each promise that did
    not apply (the conditions that failed in this run) or is undecided (the pending count),
    ("none")."""
    out = {promise_column(name): "not promised" for name in BREAKS}
    broken, excused = [], []
    for verdict in verdicts:
        out[promise_column(verdict.promise)] = verdict.status
        if verdict.status == "broken":
            broken.append(f"{verdict.promise}: {verdict.why} ({top_causes(verdict.promise, v)})")
        elif verdict.status in ("not applicable", "undecided"):
            excused.append(f"{verdict.promise}: {verdict.why}")
    out["promises_broken"] = "; ".join(broken) or "none"
    out["promises_not_applicable"] = "; ".join(excused) or "none"
    return out


def top_causes(promise: str, v: Verdict, n: int = 3) -> str:
    """The commonest causes behind a broken promise, with their counts."""
    found: Counter[str] = Counter()
    for e in v.events.values():
        fate, cause = fate_of(e)
        if promise == "no-loss" and fate == "lost":
            found[cause or "unknown"] += 1
        elif promise == "no-duplicates" and e.committed:
            found.update(e.duplicate_causes)
        elif promise == "no-phantoms" and not e.committed and e.effects:
            found[cause or "aborted"] += 1
        elif promise == "per-key-order":
            return "see order_violations in messages"
    return ", ".join(f"{k} x{c}" for k, c in found.most_common(n))
