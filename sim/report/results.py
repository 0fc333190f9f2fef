"""Results: the frames of an experiment, and the results folder they are written to.

A results folder is complete only when ``summary.csv`` exists: it is written last (through a
temporary name and a rename, as every file: ``sim/experiment/folder.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ..config import ConfigError
from ..experiment.folder import prepare_folder, write_csv, write_parquet, write_text


class Results:
    """The frames of an experiment (see the contract for their columns)."""

    def __init__(
        self,
        summary: pd.DataFrame,
        messages: pd.DataFrame,
        events: pd.DataFrame,
        faults: pd.DataFrame,
        config: dict[str, Any],
        errors: list[str] | None = None,
        lag: pd.DataFrame | None = None,
    ) -> None:
        self.summary = summary
        self.messages = messages
        self.events = events
        self.faults = faults
        self.config = config
        self.errors = errors or []
        self.lag = lag if lag is not None else pd.DataFrame()
        """Consumer lag per partition over time
        (``strategy, cell, replication, time, partition, lag``)."""
        self.resumed = 0
        """Runs read back from an interrupted experiment's folder instead of being run again."""

    def aggregate(self) -> pd.DataFrame:
        """Mean and 95% CI half-width per (cell, strategy) across replications
        (see :func:`sim.aggregate`)."""
        from .stats import aggregate

        return aggregate(self.summary)

    def __repr__(self) -> str:
        return (
            f"<Results {self.config.get('name')!r}: {len(self.summary)} runs, "
            f"{len(self.messages)} message rows, {len(self.faults)} faults>"
        )

    def save(self, path: str | Path, force: bool = False, charts: bool = True) -> Path:
        out = Path(path)
        prepare_folder(out, force)
        write_frames(out, self, charts=charts)
        return out


def write_frames(out: Path, res: Results, charts: bool = True) -> None:
    text = yaml.safe_dump(res.config, sort_keys=False, default_flow_style=None)
    write_text(out / "config.yaml", text)
    write_csv(out / "faults.csv", res.faults)
    if len(res.messages):
        write_parquet(out / "messages.parquet", res.messages)
    if len(res.events):
        write_parquet(out / "events.parquet", res.events)
    if len(res.lag):
        write_parquet(out / "lag.parquet", res.lag)
    if res.errors:
        write_text(out / "errors.json", json.dumps(res.errors, indent=2))
    if len(res.summary):
        from .stats import aggregate

        write_csv(out / "aggregate.csv", aggregate(res.summary))
    if charts and len(res.summary):
        from .charts import draw_all

        draw_all(res.summary, res.messages, res.faults, out / "charts", lag=res.lag)
    write_parquet(out / "summary.parquet", res.summary)
    write_csv(out / "summary.csv", res.summary)  # last: marks the folder complete


def _read(path: Path, read: Callable[[Path], Any], default: Any) -> Any:
    return read(path) if path.exists() else default


FAULT_TEXT_COLUMNS = {"extra": "object", "on": "object", "target": "object", "source": "object"}


def load_results(path: str | Path) -> Results:
    """Read a results folder written by ``msgsim run`` or ``Results.save``."""
    out = Path(path)
    if not (out / "summary.csv").exists():
        raise ConfigError(
            f"{out}: not a complete results folder (no summary.csv). Run an experiment first, "
            "e.g. `msgsim run experiments/compare_semantics.yaml`."
        )
    summary = _read(out / "summary.parquet", pd.read_parquet, None)
    if summary is None:
        summary = pd.read_csv(out / "summary.csv")
    empty = pd.DataFrame()
    messages = _read(out / "messages.parquet", pd.read_parquet, empty)
    events = _read(out / "events.parquet", pd.read_parquet, empty)
    faults = _read(out / "faults.csv", lambda p: pd.read_csv(p, dtype=FAULT_TEXT_COLUMNS), empty)
    config = _read(out / "config.yaml", lambda p: yaml.safe_load(p.read_text(encoding="utf-8")), {})
    errors = _read(out / "errors.json", lambda p: json.loads(p.read_text()), [])
    lag = _read(out / "lag.parquet", pd.read_parquet, None)
    return Results(summary, messages, events, faults, config, errors, lag=lag)
