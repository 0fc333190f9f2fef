"""Every ready-made experiment config says what it asks, validates, and plans all its runs with
their fault schedules. Each one also runs (shortened) without a failed run, and gives the
stored outputs: ``tests/test_stored_outputs.py``, which runs every experiment."""

from __future__ import annotations

from pathlib import Path

import pytest

import sim
from sim.experiment import plan

EXPERIMENTS = sorted((Path(__file__).resolve().parent.parent / "experiments").glob("*.yaml"))


@pytest.mark.parametrize("path", EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def test_experiment_config_validates_and_plans_every_run(path: Path) -> None:
    text = path.read_text()
    assert text.startswith("#"), "each experiment starts with a comment saying what it asks"
    cfg = sim.load_config(path)
    specs, schedule = plan(cfg)  # the whole experiment, as `msgsim run` would run it
    n_cells = max(1, len(sim.experiment.cells(cfg)))
    assert len(specs) == n_cells * len(cfg.strategies) * cfg.replications
    assert len({spec.key for spec in specs}) == len(specs)
    for spec in specs:  # every strategy of a (cell, replication) replays one fault schedule
        same = [s for s in specs if (s.cell, s.replication) == (spec.cell, spec.replication)]
        assert all(s.schedule == spec.schedule for s in same)
    if cfg.faults:
        assert len(schedule), "a config with faults materialises a schedule"
