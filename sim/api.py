"""The Python API: ``sim.run`` runs an experiment and returns its :class:`~sim.results.Results`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .config import ConfigError, ExperimentConfig
from .experiment import RunSpec, assemble, default_workers, execute, plan, resolve
from .results import Results, prepare_folder, write_frames, write_parquet, write_text
from .world import RunOutput


def run(
    config: str | Path | dict[str, Any] | ExperimentConfig,
    *,
    seed: int | None = None,
    replications: int | None = None,
    strategies: list[str] | str | None = None,
    workers: int | None = None,
    dask: str | None = None,
    progress: bool | None = None,
    out: str | Path | None = None,
    force: bool = False,
    charts: bool = True,
    resume: bool = False,
) -> Results:
    """Run every cell, strategy and replication of an experiment.

    Keyword overrides replace the config's values (validated like the file). With ``out``,
    each finished run is written under ``out/runs/`` at once and the whole folder at the end.
    A run that fails does not stop the others; its error is in ``Results.errors``. With
    ``resume``, runs already finished in ``out/runs/`` (by the same config) are not run again.
    """
    if isinstance(strategies, str):
        strategies = [s.strip() for s in strategies.split(",") if s.strip()]
    cfg = resolve(config, seed=seed, replications=replications, strategies=strategies)
    specs, faults = plan(cfg)
    folder = Path(out) if out is not None else None
    on_done = None
    finished: dict[str, RunOutput] = {}
    if folder is not None:
        config_text = yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False, default_flow_style=None)
        if resume and (folder / "config.yaml").exists():
            finished = _finished_runs(folder, config_text, specs, cfg.trace)
        else:
            prepare_folder(folder, force)
        write_text(folder / "config.yaml", config_text)

        def on_done(spec: RunSpec, output: RunOutput) -> None:
            if output.messages is not None:
                write_parquet(folder / "runs" / f"{spec.key}.messages.parquet", output.messages)
            if output.events is not None:
                write_parquet(folder / "runs" / f"{spec.key}.events.parquet", output.events)
            if output.lag is not None:
                write_parquet(folder / "runs" / f"{spec.key}.lag.parquet", output.lag)
            write_text(folder / "runs" / f"{spec.key}.json", json.dumps(output.row))  # last: marks the run done

    todo = [s for s in specs if s.key not in finished]
    outputs, errors = execute(todo, workers=workers or default_workers(), dask=dask, progress=progress, on_done=on_done)
    outputs.update(finished)
    summary, messages, events, lag = assemble(cfg, specs, outputs)
    res = Results(summary, messages, events, faults, cfg.model_dump(mode="json"),
                  [f"{e}\n{''.join(getattr(e, '__notes__', []))}" for e in errors], lag=lag)
    res.resumed = len(finished)
    if folder is not None:
        write_frames(folder, res, charts=charts)
    return res


def _finished_runs(folder: Path, config_text: str, specs: list[RunSpec], trace: str) -> dict[str, RunOutput]:
    """The runs an interrupted experiment already wrote, if it ran the same config."""
    stored = yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8"))
    if stored != yaml.safe_load(config_text):
        raise ConfigError(
            f"{folder}: cannot resume: its config.yaml differs from this config. Rerun with the same config "
            "and overrides, or use --force to start again."
        )
    out: dict[str, RunOutput] = {}
    for spec in specs:
        row_file = folder / "runs" / f"{spec.key}.json"
        if not row_file.exists():
            continue
        row = json.loads(row_file.read_text(encoding="utf-8"))
        msgs = evs = None
        if trace in ("messages", "full"):
            msgs = pd.read_parquet(folder / "runs" / f"{spec.key}.messages.parquet")
        if trace == "full":
            evs = pd.read_parquet(folder / "runs" / f"{spec.key}.events.parquet")
        lag_file = folder / "runs" / f"{spec.key}.lag.parquet"
        lag = pd.read_parquet(lag_file) if lag_file.exists() else None
        out[spec.key] = RunOutput(row, msgs, evs, lag)
    return out
