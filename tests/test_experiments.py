"""Every ready-made experiment config validates, and runs (shortened) without a failed run."""

from __future__ import annotations

from pathlib import Path

import pytest

import sim

EXPERIMENTS = sorted((Path(__file__).resolve().parent.parent / "experiments").glob("*.yaml"))


@pytest.mark.parametrize("path", EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def test_experiment_config_runs(path: Path) -> None:
    text = path.read_text()
    assert text.startswith("#"), "each experiment starts with a comment saying what it asks"
    cfg = sim.load_config(path)
    short = cfg.model_dump(mode="json")
    short.update(
        replications=1,
        duration=min(cfg.duration, 12.0),
        drain=min(cfg.drain, 10.0),
        trace="summary",
    )
    for f in short["faults"]:  # keep faults inside the shortened run
        if f.get("at") is not None and f["at"] > short["duration"]:
            f["at"] = short["duration"] / 2
    res = sim.run(short, workers=1, progress=False)
    assert not res.errors
    assert len(res.summary) == max(1, len(sim.experiment.cells(cfg))) * len(cfg.strategies)
