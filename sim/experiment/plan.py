"""The plan of an experiment: cells x strategies x replications runs, as pure data.

Each run is (cell, strategy, replication, seed) plus the cell's config and the concrete fault
schedule of its (cell, replication), which every strategy shares. Workers receive configs,
never simulator objects, so a run gives the same result in-process, in a process pool or on
a Dask cluster.
"""

from __future__ import annotations

import copy
import itertools
import warnings
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..config import (
    ConfigError,
    ConfigWarning,
    ExperimentConfig,
    limits,
    validate_dict,
)
from ..config.models import sweep_path_problem
from ..core.rng import derive_seed
from ..model.schedule import ConcreteFault, materialise, schedule_table


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
    """Set the dotted ``path`` of ``data`` (checked by the config: ``sweep_path_problem``)."""
    why = sweep_path_problem(data, path)
    if why:
        raise ConfigError(f"sweep.{path}: {why}")
    parts = path.split(".")
    cur: Any = data
    for part in parts[:-1]:
        cur = cur[int(part)] if isinstance(cur, list) else cur[part]
    cur[int(parts[-1]) if isinstance(cur, list) else parts[-1]] = value


def cells(cfg: ExperimentConfig) -> list[Cell]:
    """Every combination of the sweep's values (one cell when there is no sweep)."""
    sweep = cfg.sweep_paths()
    if not sweep:
        return [Cell(0, {}, cfg)]
    base = cfg.model_dump(mode="json")
    base["sweep"] = {}
    paths = list(sweep)
    known = set(cfg.warnings())  # warned about when the config was loaded
    out = []
    for i, values in enumerate(itertools.product(*(sweep[p] for p in paths))):
        data = copy.deepcopy(base)
        params = dict(zip(paths, values, strict=True))
        for path, value in params.items():
            _set_path(data, path, value)
        cell = (
            cfg.where("sweep").removesuffix(", key sweep") + f", sweep cell {i} ({_params(params)})"
        )
        try:
            cell_cfg = validate_dict(data, origin=cell)
        except ConfigError as exc:
            raise ConfigError(f"{exc}. The sweep makes this cell: change its values") from None
        for key, message in sorted(set(cell_cfg.warnings()) - known):
            warnings.warn(ConfigWarning(f"{cell}, key {key}: {message}"), stacklevel=2)
        out.append(Cell(i, params, cell_cfg))
    return out


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}: {v!r}" for k, v in params.items())


def plan(
    cfg: ExperimentConfig, built: list[Cell] | None = None
) -> tuple[list[RunSpec], pd.DataFrame]:
    """The runs of an experiment and the materialised fault schedule of every
    (cell, replication). ``built``: the experiment's cells, when already built."""
    runs: list[RunSpec] = []
    parts: list[tuple[tuple[ConcreteFault, ...], int, int]] = []
    all_cells = cells(cfg) if built is None else built
    problems = limits.experiment_problems(cfg, [c.config for c in all_cells])
    if problems:
        text = " | ".join(f"{cfg.where(key)}: {message}" for key, message in problems)
        raise ConfigError(f"invalid config (1 problem): {text}")
    for cell in all_cells:
        data = cell.config.model_dump(mode="json")
        nodes = tuple(cell.config.node_names())
        for r in range(cfg.replications):
            seed = replication_seed(cfg.seed, r)
            schedule = tuple(materialise(cell.config, seed, nodes))
            parts.append((schedule, cell.index, r))
            for s in cfg.strategy_names:
                runs.append(RunSpec(cell.index, cell.params, s, r, seed, data, schedule))
    faults = schedule_table(parts)
    return runs, faults
