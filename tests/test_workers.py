"""Worker processes are forked with the simulator imported (sim/core/workers.py)."""

from __future__ import annotations

import argparse
import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import forkserver

import pytest

from sim.cli import _uses_workers
from sim.config import ExperimentConfig
from sim.core import workers

needs_forkserver = pytest.mark.skipif(
    workers.start_method() != "forkserver", reason="no fork server on this platform"
)


@needs_forkserver
def test_a_pool_worker_starts_with_the_simulator_imported() -> None:
    workers.warm_up()
    context = multiprocessing.get_context(workers.start_method())
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        # a builtin, so unpickling the task imports nothing: what is loaded came with the fork
        loaded = pool.submit(eval, "sorted(__import__('sys').modules)").result()
    assert {"sim.experiment.run", "sim.model.world", "sim.check.fold"} <= set(loaded)


@needs_forkserver
def test_warming_up_keeps_what_else_the_program_asked_the_server_to_preload() -> None:
    server = forkserver._forkserver  # type: ignore[attr-defined]
    before = list(server._preload_modules)
    try:
        multiprocessing.get_context("forkserver").set_forkserver_preload(["json"])
        workers.warm_up()
        assert server._preload_modules == ["json", *workers.PRELOAD]
        workers.warm_up()  # twice: nothing added twice
        assert server._preload_modules == ["json", *workers.PRELOAD]
    finally:
        server._preload_modules = before


def _args(**kw: object) -> argparse.Namespace:
    return argparse.Namespace(**{"workers": 2, "dask": None, **kw})


@pytest.mark.parametrize(
    ("config", "args", "expected"),
    [
        ({"replications": 3}, _args(), True),
        ({"strategies": ["at-most-once", "at-least-once"]}, _args(), True),
        ({"sweep": {"topology.network.latency": [0.001, 0.002]}}, _args(), True),
        ({"replications": 1}, _args(), False),  # one run: no pool
        ({"replications": 3}, _args(workers=1), False),
        ({"replications": 3}, _args(dask="tcp://localhost:8786"), False),
    ],
)
def test_the_command_line_starts_the_server_only_for_a_pool(
    config: dict[str, object], args: argparse.Namespace, expected: bool
) -> None:
    cfg = ExperimentConfig.model_validate(
        {"strategies": ["at-least-once"], "replications": 1, **config}
    )
    assert _uses_workers(cfg, args) is expected


def test_the_default_is_a_worker_per_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers.os, "cpu_count", lambda: None)
    assert workers.default_workers() == 1
    monkeypatch.setattr(workers.os, "cpu_count", lambda: 6)
    assert workers.default_workers() == 6
    assert sys.platform == "win32" or workers.start_method() == "forkserver"
