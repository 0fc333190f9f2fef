"""The checker folds the history: online (fed while the run goes) and offline (over the stored
history, and over the history read back from its frame) it gives identical verdicts, on every
ready experiment and scenario."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from sim.check import messages_frame
from sim.check.groups import check_groups
from sim.config import ExperimentConfig
from sim.experiment import plan, simulate
from sim.history import frame_to_ops, history_frame

from .test_stored_outputs import CONFIGS, shortened


def same(a: dict[str, float], b: dict[str, float]) -> bool:
    """Equal counts, NaN equal to NaN."""
    return a.keys() == b.keys() and all(
        a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a
    )


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_online_and_offline_checking_give_identical_verdicts(path: Path) -> None:
    data = shortened(path)
    data["trace"] = "full"
    data["sweep"] = {k: v[-1:] for k, v in data["sweep"].items()}  # one cell is enough here
    specs, _ = plan(ExperimentConfig.model_validate(data))
    for spec in specs:
        cfg = ExperimentConfig.model_validate(spec.config)
        done = simulate(cfg, spec.strategy, spec.seed, list(spec.schedule))
        topology = cfg.node_topology([cfg.strategy(spec.strategy)])
        offline = check_groups(done.ops, cfg.duration, done.sim_time, topology)
        ops = frame_to_ops(history_frame(done.ops))
        again = check_groups(ops, cfg.duration, done.sim_time, topology)
        for verdicts in (offline, again):
            assert verdicts.keys() == done.verdicts.keys()
            for group, verdict in verdicts.items():
                online = done.verdicts[group]
                assert same(verdict.counts, online.counts), spec.key
                assert verdict.fates == online.fates and verdict.causes == online.causes
                assert messages_frame(verdict).equals(messages_frame(online))
