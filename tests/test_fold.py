"""The checker folds the history: online (fed while the run goes, settling the events whose
copies are all gone, as at trace summary and messages) and offline (over the stored history
with every event kept, and over the history read back from its frame) it gives identical
verdicts, on every ready experiment and scenario."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from sim.check import Checker, messages_frame
from sim.check.counts import Totals
from sim.check.groups import GroupedChecker, check_groups
from sim.check.state import EventState
from sim.config import ExperimentConfig
from sim.experiment import plan, simulate
from sim.history import frame_to_ops, history_frame

from .test_stored_outputs import CONFIGS, MAX_RATE, shortened


def same(a: dict[str, float], b: dict[str, float]) -> bool:
    """Equal counts, NaN equal to NaN."""
    return a.keys() == b.keys() and all(
        a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a
    )


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_online_and_offline_checking_give_identical_verdicts(path: Path) -> None:
    data = shortened(path, max_rate=MAX_RATE / 2)  # half the stored outputs' events
    data["trace"] = "full"
    data["sweep"] = {k: v[-1:] for k, v in data["sweep"].items()}  # one cell is enough here
    specs, _ = plan(ExperimentConfig.model_validate(data))
    for spec in specs:
        cfg = ExperimentConfig.model_validate(spec.config)
        done = simulate(cfg, spec.strategy, spec.seed, list(spec.schedule))
        topology = cfg.node_topology([cfg.strategy(spec.strategy)])
        # online: settling events as the run goes (as at summary and messages); offline:
        # every event kept
        offline = check_groups(done.ops, cfg.duration, done.sim_time, topology)
        ops = frame_to_ops(history_frame(done.ops))
        again = check_groups(ops, cfg.duration, done.sim_time, topology)
        # settled events are revived when named again: sweeping every few operations (far
        # more often than a run does) gives the same verdict
        stressed = GroupedChecker(cfg.duration, topology, settle=True, every=16)
        for row in done.ops:
            stressed.feed(row)
        settled = any(c.events.settled for c in stressed.checkers.values())
        assert settled or not done.ops, spec.key
        for verdicts in (offline, again, stressed.verdicts(done.sim_time)):
            assert verdicts.keys() == done.verdicts.keys()
            for group, verdict in verdicts.items():
                online = done.verdicts[group]
                assert same(verdict.counts, online.counts), spec.key
                assert verdict.fates == online.fates and verdict.causes == online.causes
                assert messages_frame(verdict).equals(messages_frame(online))


def test_a_settled_event_named_again_is_revived() -> None:
    """An operation that names an event whose copies were all gone revives it: the consumer
    groups scenario revives some (memory_broker's revivals were sweeps inside an instant,
    between a delivery and its handling, which settling no longer does)."""
    path = next(p for p in CONFIGS if p.stem == "consumer_groups")
    data = shortened(path, max_rate=MAX_RATE / 2)  # half the stored outputs' events
    data["trace"] = "full"
    specs, _ = plan(ExperimentConfig.model_validate(data))
    revived = 0
    for spec in specs:
        cfg = ExperimentConfig.model_validate(spec.config)
        done = simulate(cfg, spec.strategy, spec.seed, list(spec.schedule))
        settling = Checker(cfg.duration, settle=True, every=16)
        for row in done.ops:
            settling.feed(row)
        revived += settling.events.revived
    assert revived > 0


def test_settling_waits_for_the_end_of_an_instant() -> None:
    # Found by a deep property run (seed 9710): a duplicated sink transaction was delivered, a
    # sweep settled its event between that delivery and the effect the sink applied at the
    # same instant, and the revived event no longer knew the effect repeated a transaction it
    # had already applied: its duplicate's cause read "unknown" (settling never happens
    # inside an instant now). The cause is the network duplication.
    from sim.check import messages_frame
    from sim.config import ExperimentConfig
    from sim.experiment import plan
    from sim.experiment.run import simulate

    dup = {"kind": "duplicate", "probability": 0.6412382745119606, "at": 7.066111985769057}
    links = ["broker-0->producer-0"] * 3 + ["consumer-*<->sink*", "broker-0->producer-0"]
    cfg = ExperimentConfig.model_validate(
        {
            "seed": 9710,
            "replications": 1,
            "duration": 10,
            "drain": 40,
            "trace": "messages",
            "strategies": ["at-most-once"],
            "workload": {"rate": 50},
            "faults": [{**dup, "link": link, "duration": 3.0} for link in links],
        }
    )
    (spec,), _ = plan(cfg)
    done = simulate(cfg, spec.strategy, spec.seed, list(spec.schedule))
    msgs = messages_frame(done.verdicts["default"]).set_index("id")
    assert msgs.loc["p0-480", "duplicate_cause"] == "duplicate:consumer-1->sink"
    assert not msgs["duplicate_cause"].fillna("").str.contains("unknown").any()


def _event(kind: str, i: int) -> EventState:
    e = EventState(i, "producer-0", i % 7, 0, float(i))
    if kind in ("processed", "duplicated"):
        e.copies, e.effects, e.deliveries, e.appends = 0, 1 + (kind == "duplicated"), 2, 1
    elif kind == "lost":
        e.copies, e.appends, e.zero_cause = 0, 1, "crash:broker-0"
    elif kind == "aborted":
        e.copies, e.db, e.txn, e.abort = 0, True, "abort", "crash:producer-0"
    elif kind == "phantom":
        e.copies, e.db, e.effects, e.deliveries, e.appends = 0, True, 1, 1, 1
    elif kind == "refused":
        e.copies, e.refused = 0, "down:producer-0"
    return e  # "pending": a copy left


@pytest.mark.parametrize("drop", [0, 1, 2, 3])
def test_settled_totals_take_an_event_back_exactly(drop: int) -> None:
    """The summary's sums over the settled events (summed as they settle, an event revived
    taken back): adding events and removing some is adding the others only."""
    kinds = ["processed", "duplicated", "lost", "aborted", "phantom", "refused", "pending"]
    events = [(f"p{i % 2}-{i}" if i % 5 else f"other-{i}", _event(k, i))
              for i, k in enumerate(kinds * 3)]
    removed = events[drop::4]
    kept = [pair for pair in events if pair not in removed]
    every, only = Totals(), Totals()
    for eid, e in events:
        every.add(eid, e)
    for eid, e in removed:
        every.remove(eid, e)
    for eid, e in kept:
        only.add(eid, e)
    assert +every.counts() == +only.counts()  # (+: without the counts that came back to 0)
    assert every.effects() == only.effects()
    merged = Totals()
    merged.merge(only)
    assert merged.counts() == only.counts() and merged.effects() == only.effects()
