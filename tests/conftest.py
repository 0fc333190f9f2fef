"""Shared fixtures: the base config and run helper of the behaviour tests, a small fast config,
and a runner for the real command line."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, settings

# Property tests: a quick default;
# `HYPOTHESIS_PROFILE=deep pytest tests/test_properties.py` hunts longer.
settings.register_profile(
    "default", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "deep", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

#: The base of the behaviour tests: one replication of 20 s at 100 events/s, then a 30 s drain.
BASE_CONFIG: dict[str, Any] = {
    "replications": 1,
    "trace": "messages",
    "duration": 20,
    "drain": 30,
    "workload": {"rate": 100},
}


def merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides``; a section given as a mapping is merged key by key."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class Outcome:
    """An experiment's results, by strategy: ``rows[strategy]`` is its summary row (of the
    first run) and ``of(strategy)`` its messages. Unpacks as ``rows, messages``."""

    def __init__(self, res: Any) -> None:
        assert not res.errors, res.errors
        self.res = res
        self.summary = res.summary
        self.messages = res.messages
        self.rows = {r["strategy"]: r for _, r in res.summary.iterrows()}

    def of(self, strategy: str) -> Any:
        return self.messages[self.messages["strategy"] == strategy]

    def __iter__(self) -> Any:
        return iter((self.rows, self.messages))


@pytest.fixture(scope="session")
def run() -> Callable[..., Outcome]:
    """``run(strategies=None, faults=None, base=BASE_CONFIG, **overrides)``: run an experiment
    in-process and return its :class:`Outcome`."""
    import sim

    def go(
        strategies: list[str] | None = None,
        faults: list[dict[str, Any]] | None = None,
        base: dict[str, Any] = BASE_CONFIG,
        **overrides: Any,
    ) -> Outcome:
        if strategies is not None:
            overrides["strategies"] = strategies
        if faults is not None:
            overrides["faults"] = faults
        return Outcome(sim.run(merged(base, overrides), workers=1, progress=False))

    return go


# Small enough that a run of both strategies x 2 replications takes about a second.
_SMALL_CONFIG: dict[str, Any] = {
    "name": "small",
    "seed": 11,
    "replications": 2,
    "duration": 6,
    "drain": 4,
    "trace": "messages",
    "strategies": ["at-most-once", "at-least-once"],
    "workload": {"producers": 1, "rate": 40, "keys": 4},
    "topology": {"brokers": 1, "partitions": 2, "consumers": 2},
    "faults": [
        {
            "kind": "drop",
            "link": "producer-0->broker-0",
            "probability": 0.3,
            "at": 1,
            "duration": 2,
        },
        {"kind": "crash", "node": "consumer-0", "at": 2, "restart_after": 1},
    ],
}


@pytest.fixture(scope="session")
def small_config() -> Callable[..., dict[str, Any]]:
    """``small_config(**top_level_overrides)`` -> a fresh dict of a valid, fast config."""

    def make(**overrides: Any) -> dict[str, Any]:
        data = copy.deepcopy(_SMALL_CONFIG)
        data.update(copy.deepcopy(overrides))
        return data

    return make


@pytest.fixture(scope="session")
def write_config() -> Callable[[Path, Any], Path]:
    """``write_config(path, data)``: write ``data`` (a dict, or YAML text); return the path."""

    def write(path: Path, data: Any) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        return path

    return write


def _console_script() -> Path:
    """The ``msgsim`` console script installed next to the running interpreter."""
    return Path(sys.executable).parent / ("msgsim.exe" if os.name == "nt" else "msgsim")


@pytest.fixture(scope="session")
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``cli(*args, env=None, cwd=None, script=False)``: run ``python -m sim ARGS`` (or the
    ``msgsim`` console script) in a real subprocess; returns the completed process."""

    def run(
        *args: Any,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        script: bool = False,
        timeout: float = 180,
    ) -> subprocess.CompletedProcess[str]:
        if script:
            exe = _console_script()
            if not exe.exists():
                pytest.skip(f"no msgsim console script next to {sys.executable}")
            cmd = [str(exe)]
        else:
            cmd = [sys.executable, "-m", "sim"]
        full_env = {**os.environ, "MPLBACKEND": "Agg", **(env or {})}
        return subprocess.run(
            cmd + [str(a) for a in args],
            capture_output=True,
            text=True,
            env=full_env,
            cwd=cwd,
            timeout=timeout,
        )

    return run


#: Run by one interpreter: each invocation of ``sim.cli.main`` from the JSON list on stdin
#: ([args, cwd] pairs), in its folder, its output captured; prints [exit code, stdout, stderr]
#: per invocation. An exception that escapes ``main`` prints its traceback, as Python would.
_BATCH = r"""
import contextlib, io, json, os, sys, traceback
from sim.cli import main
results = []
for args, cwd in json.load(sys.stdin):
    os.chdir(cwd)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        except BaseException:
            traceback.print_exc()
            code = 1
    results.append([code, out.getvalue(), err.getvalue()])
json.dump(results, sys.__stdout__)
"""


@pytest.fixture(scope="session")
def cli_batch() -> Callable[[list[tuple[list[str], Path]]], list[subprocess.CompletedProcess[str]]]:
    """``cli_batch([(args, cwd), ...])``: run many quick ``msgsim`` invocations (bad input that
    stops before any simulation) in one real subprocess, one after another, instead of one
    interpreter each; returns a completed process per invocation."""

    def run(calls: list[tuple[list[str], Path]]) -> list[subprocess.CompletedProcess[str]]:
        payload = json.dumps([[[str(a) for a in args], str(cwd)] for args, cwd in calls])
        proc = subprocess.run(
            [sys.executable, "-c", _BATCH],
            input=payload,
            capture_output=True,
            text=True,
            env={**os.environ, "MPLBACKEND": "Agg"},
            timeout=180,
        )
        assert proc.returncode == 0, proc.stderr
        return [
            subprocess.CompletedProcess(["msgsim", *map(str, args)], code, out, err)
            for (args, _), (code, out, err) in zip(calls, json.loads(proc.stdout), strict=True)
        ]

    return run
