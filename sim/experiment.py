"""An experiment: cells x strategies x replications runs, executed anywhere, identically.

The plan is pure data: each run is (cell, strategy, replication, seed) plus the cell's
config and the concrete fault schedule of its (cell, replication), which every strategy
shares. Workers receive configs, never simulator objects, so a run gives the same result
in-process, in a process pool or on a Dask cluster.
"""

from __future__ import annotations

import copy
import itertools
import multiprocessing
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .config import ConfigError, ExperimentConfig, load_config, validate_dict
from .faults import ConcreteFault, materialise, schedule_frame
from .rng import derive_seed
from .world import RunOutput, run_one


@dataclass(frozen=True)
class Cell:
    index: int
    params: dict[str, Any]
    config: ExperimentConfig


@dataclass(frozen=True)
class RunSpec:
    cell: int
    params: dict[str, Any]
    strategy: str
    replication: int
    seed: int
    config: dict[str, Any]
    schedule: tuple[ConcreteFault, ...]

    @property
    def key(self) -> str:
        return f"c{self.cell}-{self.strategy}-r{self.replication}"


def replication_seed(master: int, replication: int) -> int:
    """The seed of a replication: the same in every cell and for every strategy (common random numbers)."""
    return derive_seed(master, f"replication-{replication}")


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    cur: Any = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(cur, list):
            if not part.isdigit() or int(part) >= len(cur):
                raise ConfigError(f"sweep.{path}: {'.'.join(parts[:i]) or 'the config'} is a list of {len(cur)}; {part!r} is not an index in it")
            if last:
                cur[int(part)] = value
            else:
                cur = cur[int(part)]
        elif isinstance(cur, dict):
            if part not in cur:
                raise ConfigError(f"sweep.{path}: no key {part!r} under {'.'.join(parts[:i]) or 'the top level'}; allowed: {', '.join(map(str, cur))}")
            if last:
                cur[part] = value
            else:
                cur = cur[part]
        else:
            raise ConfigError(f"sweep.{path}: {'.'.join(parts[:i])} is a value, not a section")


def cells(cfg: ExperimentConfig) -> list[Cell]:
    """Every combination of the sweep's values (one cell when there is no sweep)."""
    if not cfg.sweep:
        return [Cell(0, {}, cfg)]
    base = cfg.model_dump(mode="json")
    base["sweep"] = {}
    paths = list(cfg.sweep)
    out = []
    for i, values in enumerate(itertools.product(*(cfg.sweep[p] for p in paths))):
        data = copy.deepcopy(base)
        params = dict(zip(paths, values, strict=True))
        for path, value in params.items():
            if path.split(".")[0] in ("sweep", "strategies", "replications", "name", "seed"):
                raise ConfigError(f"sweep.{path}: {path.split('.')[0]!r} cannot be swept")
            _set_path(data, path, value)
        try:
            cell_cfg = validate_dict(data, origin=f"sweep cell {params}")
        except ConfigError as exc:
            raise ConfigError(f"sweep cell {i} ({params}) is not a valid config: {exc}") from None
        out.append(Cell(i, params, cell_cfg))
    return out


def plan(cfg: ExperimentConfig) -> tuple[list[RunSpec], pd.DataFrame]:
    """The runs of an experiment and the materialised fault schedule of every (cell, replication)."""
    runs: list[RunSpec] = []
    frames = []
    for cell in cells(cfg):
        data = cell.config.model_dump(mode="json")
        for r in range(cfg.replications):
            seed = replication_seed(cfg.seed, r)
            schedule = tuple(materialise(cell.config, seed))
            frames.append(schedule_frame(list(schedule), cell.index, r))
            for s in cfg.strategies:
                runs.append(RunSpec(cell.index, cell.params, s, r, seed, data, schedule))
    faults = pd.concat(frames, ignore_index=True) if frames else schedule_frame([], 0, 0)
    return runs, faults


def execute_spec(spec: RunSpec) -> RunOutput:
    """Run one planned run (in whatever process receives it)."""
    cfg = ExperimentConfig.model_validate(spec.config)
    return run_one(cfg, spec.strategy, spec.cell, spec.replication, spec.seed, list(spec.schedule), spec.params)


class RunError(RuntimeError):
    def __init__(self, spec: RunSpec, detail: str) -> None:
        super().__init__(f"run {spec.key} (seed {spec.seed}) failed: {detail}")
        self.spec = spec
        self.detail = detail


def _safe_execute(spec: RunSpec) -> RunOutput | str:
    try:
        return execute_spec(spec)
    except Exception:  # reported with its config and seed, not raised in the worker
        return traceback.format_exc()


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def _map(specs: list[RunSpec], workers: int, dask: str | None) -> Iterator[tuple[RunSpec, RunOutput | str]]:
    if dask:
        from distributed import Client, as_completed

        with Client(dask) as client:
            futures = {client.submit(_safe_execute, s, pure=False): s for s in specs}
            for fut in as_completed(futures):
                yield futures[fut], fut.result()
        return
    if workers <= 1 or len(specs) <= 1:
        for s in specs:
            yield s, _safe_execute(s)
        return
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures import as_completed as futures_completed

    method = "forkserver" if sys.platform != "win32" else "spawn"
    with ProcessPoolExecutor(max_workers=min(workers, len(specs)), mp_context=multiprocessing.get_context(method)) as pool:
        futs = {pool.submit(_safe_execute, s): s for s in specs}
        for fut in futures_completed(futs):
            yield futs[fut], fut.result()


def execute(
    specs: list[RunSpec],
    workers: int = 1,
    dask: str | None = None,
    progress: bool | None = None,
    on_done: Callable[[RunSpec, RunOutput], None] | None = None,
) -> tuple[dict[str, RunOutput], list[RunError]]:
    """Run every spec; return outputs by run key and the runs that failed (not raised)."""
    from tqdm.auto import tqdm

    if progress is None:
        progress = sys.stderr.isatty()
    done: dict[str, RunOutput] = {}
    errors: list[RunError] = []
    bar = tqdm(total=len(specs), unit="run", disable=not progress, desc="runs", dynamic_ncols=True)
    try:
        for spec, out in _map(specs, workers, dask):
            if isinstance(out, str):
                errors.append(RunError(spec, out.strip().splitlines()[-1]))
                errors[-1].__notes__ = [out]
            else:
                done[spec.key] = out
                if on_done is not None:
                    on_done(spec, out)
            bar.update(1)
    finally:
        bar.close()
    return done, errors


def assemble(cfg: ExperimentConfig, specs: Iterable[RunSpec], outputs: dict[str, RunOutput]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Summary, messages, events and lag frames in plan order (independent of completion order)."""
    rows, messages, events, lags = [], [], [], []
    for spec in specs:
        out = outputs.get(spec.key)
        if out is None:
            continue
        rows.append(out.row)
        if out.messages is not None:
            messages.append(out.messages)
        if out.events is not None:
            events.append(out.events)
        if out.lag is not None:
            lags.append(out.lag)
    summary = pd.DataFrame(rows)
    msgs = pd.concat(messages, ignore_index=True) if messages else pd.DataFrame()
    evs = pd.concat(events, ignore_index=True) if events else pd.DataFrame()
    lag = pd.concat(lags, ignore_index=True) if lags else pd.DataFrame()
    return summary, msgs, evs, lag


def resolve(config: str | Path | dict[str, Any] | ExperimentConfig, **overrides: Any) -> ExperimentConfig:
    """Load a config and apply the command-line / keyword overrides (validated like the file)."""
    cfg = load_config(config)
    changes = {k: v for k, v in overrides.items() if v is not None}
    if not changes:
        return cfg
    data = cfg.model_dump(mode="json")
    data.update(changes)
    return validate_dict(data, origin="overrides")
