"""Stored outputs: every ready experiment (and the scenarios in ``tests/scenarios/``),
shortened, must give the outputs stored in ``tests/reference/``, so a refactoring that moves
a number cannot pass unnoticed.

Each config is shortened the same way (one replication, at most 25 events/s per producer,
step-triggered crashes at the same fraction of the events; a config longer than 120 s, a
simulated day, is also compressed to 120 s with its fault schedule) and run in-process. The summary
(without ``wall_seconds``) is stored as a readable CSV, so a commit that moves numbers shows
which ones in its diff; the messages frame of each run and the fault schedule are stored as
SHA-256 digests of their canonical CSV.

To accept new outputs (in a commit that says which numbers moved and why)::

    MSGSIM_UPDATE_REFERENCE=1 .venv/bin/python -m pytest tests/test_stored_outputs.py
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import sim

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = Path(__file__).resolve().parent / "reference"
EXPERIMENTS = sorted((ROOT / "experiments").glob("*.yaml"))
# Scenarios beyond the ready experiments: every strategy, queue mode, backpressure, durabilities.
SCENARIOS = sorted((Path(__file__).resolve().parent / "scenarios").glob("*.yaml"))
CONFIGS = EXPERIMENTS + SCENARIOS
MAX_RATE = 25.0
MAX_DURATION = 120.0
UPDATE = os.environ.get("MSGSIM_UPDATE_REFERENCE") == "1"


def shortened(path: Path, max_rate: float = MAX_RATE) -> dict[str, Any]:
    """The experiment at ``path``, cut to one replication and a low event rate (at most
    ``max_rate`` events/s per producer)."""
    data = sim.load_config(path).model_dump(mode="json")
    data["replications"] = 1
    data["trace"] = "messages"
    rate = data["workload"]["rate"]
    factor = min(1.0, max_rate / rate) if rate > 0 else 1.0
    data["workload"]["rate"] = rate * factor
    for fault in data["faults"]:
        if fault.get("on") and fault.get("occurrence"):
            fault["occurrence"] = max(1, round(fault["occurrence"] * factor))
    if data["duration"] > MAX_DURATION:
        compress(data)
    return data


def compress(data: dict[str, Any]) -> None:
    """Squeeze a long run (a simulated day) into ``MAX_DURATION`` seconds: the fault windows
    shrink with it, random faults come as often per run (so as many fire), and last at least
    a second. Only configs longer than ``MAX_DURATION`` are touched: no other output moves."""
    factor = MAX_DURATION / data["duration"]
    data["duration"] = MAX_DURATION
    data["drain"] = min(data["drain"], 30.0)
    for fault in data["faults"]:
        for key in ("at", "duration"):
            if fault.get(key) is not None:
                fault[key] *= factor
        if fault["kind"] == "random":
            fault["rate"] /= factor
            fault["mean_duration"] = max(1.0, fault["mean_duration"] * factor)


def digest(frame: pd.DataFrame) -> str:
    buf = io.StringIO()
    frame.to_csv(buf, index=False, lineterminator="\n")
    return hashlib.sha256(buf.getvalue().encode("utf-8")).hexdigest()


def outputs(path: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    data = shortened(path)
    res = sim.run(data, workers=1, progress=False)
    assert not res.errors, res.errors  # no run failed, and every run has its summary row
    cfg = sim.load_config(path)
    runs = set(zip(res.summary["cell"], res.summary["strategy"], strict=True))
    assert len(runs) == max(1, len(sim.experiment.cells(cfg))) * len(cfg.strategies)
    summary = res.summary.drop(columns=["wall_seconds"])
    digests = {"faults": digest(res.faults)}
    for (cell, strategy, rep), rows in res.messages.groupby(
        ["cell", "strategy", "replication"], sort=False
    ):
        digests[f"messages c{cell}-{strategy}-r{rep}"] = digest(rows.reset_index(drop=True))
    return summary, digests


def _csv(frame: pd.DataFrame) -> str:
    buf = io.StringIO()
    frame.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_experiment_outputs_match_the_stored_reference(path: Path) -> None:
    summary, digests = outputs(path)
    summary_file = REFERENCE / f"{path.stem}.summary.csv"
    digest_file = REFERENCE / f"{path.stem}.digests.json"
    if UPDATE:
        REFERENCE.mkdir(exist_ok=True)
        summary_file.write_text(_csv(summary), encoding="utf-8")
        digest_file.write_text(
            json.dumps(digests, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
    assert summary_file.exists(), (
        f"no reference for {path.name}: run with MSGSIM_UPDATE_REFERENCE=1"
    )
    stored = pd.read_csv(summary_file)
    now = pd.read_csv(io.StringIO(_csv(summary)))
    assert list(now.columns) == list(stored.columns), "summary columns changed"
    moved = [
        f"row {i} ({now.at[i, 'strategy']}, cell {now.at[i, 'cell']}) {c}: "
        f"{stored.at[i, c]!r} -> {now.at[i, c]!r}"
        for c in now.columns
        for i in range(min(len(now), len(stored)))
        if not (pd.isna(now.at[i, c]) and pd.isna(stored.at[i, c]))
        and now.at[i, c] != stored.at[i, c]
    ]
    assert len(now) == len(stored) and not moved, "numbers moved:\n" + "\n".join(moved[:40])
    assert digests == json.loads(digest_file.read_text(encoding="utf-8"))
