"""The plan of an experiment: cells x strategies x replications runs, as pure data.

Each run is (cell, strategy, replication, seed) plus the cell's config and the concrete fault
schedule of its (cell, replication), which every strategy shares. Workers receive configs,
never simulator objects, so a run gives the same result in-process, in a process pool or on
a Dask cluster.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import ConfigError, ExperimentConfig, load_config, validate_dict
from ..core.rng import derive_seed
from ..model.schedule import ConcreteFault, materialise, schedule_frame

UNSWEEPABLE = ("sweep", "strategies", "replications", "name", "seed")


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
    """The seed of a replication: the same in every cell and for every strategy (common
    random numbers)."""
    return derive_seed(master, f"replication-{replication}")


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    cur: Any = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        where = ".".join(parts[:i])
        if isinstance(cur, list):
            if not part.isdigit() or int(part) >= len(cur):
                raise ConfigError(
                    f"sweep.{path}: {where or 'the config'} is a list of "
                    f"{len(cur)}; {part!r} is not an index in it"
                )
            key: Any = int(part)
        elif isinstance(cur, dict):
            if part not in cur:
                raise ConfigError(
                    f"sweep.{path}: no key {part!r} under {where or 'the top level'}"
                    f"; allowed: {', '.join(map(str, cur))}"
                )
            key = part
        else:
            raise ConfigError(f"sweep.{path}: {where} is a value, not a section")
        if last:
            cur[key] = value
        else:
            cur = cur[key]


def cells(cfg: ExperimentConfig) -> list[Cell]:
    """Every combination of the sweep's values (one cell when there is no sweep)."""
    sweep = cfg.sweep_paths()
    if not sweep:
        return [Cell(0, {}, cfg)]
    base = cfg.model_dump(mode="json")
    base["sweep"] = {}
    paths = list(sweep)
    out = []
    for i, values in enumerate(itertools.product(*(sweep[p] for p in paths))):
        data = copy.deepcopy(base)
        params = dict(zip(paths, values, strict=True))
        for path, value in params.items():
            if path.split(".")[0] in UNSWEEPABLE:
                raise ConfigError(f"sweep.{path}: {path.split('.')[0]!r} cannot be swept")
            _set_path(data, path, value)
        try:
            cell_cfg = validate_dict(data, origin=f"sweep cell {params}")
        except ConfigError as exc:
            raise ConfigError(f"sweep cell {i} ({params}) is not a valid config: {exc}") from None
        out.append(Cell(i, params, cell_cfg))
    return out


def plan(cfg: ExperimentConfig) -> tuple[list[RunSpec], pd.DataFrame]:
    """The runs of an experiment and the materialised fault schedule of every
    (cell, replication)."""
    runs: list[RunSpec] = []
    frames = []
    for cell in cells(cfg):
        data = cell.config.model_dump(mode="json")
        for r in range(cfg.replications):
            seed = replication_seed(cfg.seed, r)
            schedule = tuple(materialise(cell.config, seed))
            frames.append(schedule_frame(list(schedule), cell.index, r))
            for s in cfg.strategy_names:
                runs.append(RunSpec(cell.index, cell.params, s, r, seed, data, schedule))
    faults = pd.concat(frames, ignore_index=True) if frames else schedule_frame([], 0, 0)
    return runs, faults


def resolve(
    config: str | Path | dict[str, Any] | ExperimentConfig, **overrides: Any
) -> ExperimentConfig:
    """Load a config and apply the command-line / keyword overrides (validated like the file)."""
    cfg = load_config(config)
    changes = {k: v for k, v in overrides.items() if v is not None}
    if not changes:
        return cfg
    data = cfg.model_dump(mode="json")
    if "strategies" in changes:  # a name composed in the config keeps its composition
        mine = {e["name"]: e for e in data["strategies"] if isinstance(e, dict)}
        changes["strategies"] = [mine.get(s, s) for s in changes["strategies"]]
    data.update(changes)
    return validate_dict(data, origin="overrides")
