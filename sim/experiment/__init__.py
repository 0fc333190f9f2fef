"""The experiment layer: plan the runs, execute them anywhere, write the results folder.

May import: ``sim.model``, ``sim.check``, ``sim.history``, ``sim.config``, ``sim.core``.
"""

from ..config import resolve
from ..core.workers import default_workers
from .dispatch import (
    RunError,
    assemble,
    assemble_fired,
    execute,
    execute_spec,
)
from .plan import Cell, RunSpec, cells, plan, replication_seed
from .run import RunFailed, RunOutput, run_one, simulate

__all__ = [
    "Cell",
    "RunError",
    "RunFailed",
    "RunOutput",
    "RunSpec",
    "assemble",
    "assemble_fired",
    "cells",
    "default_workers",
    "execute",
    "execute_spec",
    "plan",
    "replication_seed",
    "resolve",
    "run_one",
    "simulate",
]
