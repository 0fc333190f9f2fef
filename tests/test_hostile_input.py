"""Hostile and careless input (issue 14): nothing outside results/ is touched, nothing hangs,
nothing is silently ignored.

Each case of the issue is one test: the value, the exit code and the sentence. Every call of
the command line runs in-process (``sim.cli.main``) inside a scratch working directory with
an unrelated file and a results folder of another experiment, under a time limit; after it,
every file outside the results folder the call may write is compared with its state before.
A few cases also run as a real process, for the exit code a shell sees.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import sim
from sim.cli import main
from sim.config import limits
from sim.experiment import dispatch
from sim.experiment.folder import MARKER

BASE: dict[str, Any] = {
    "name": "hostile",
    "seed": 3,
    "replications": 1,
    "duration": 2,
    "drain": 1,
    "trace": "messages",
    "strategies": ["at-most-once", "at-least-once"],
    "workload": {"rate": 20, "keys": 4},
    "topology": {"brokers": 1, "partitions": 2, "consumers": 2},
}
RUN = ("--no-progress", "--no-charts", "--workers", "1")


class Hang(BaseException):
    """A call ran past its time limit (a BaseException: no ``except Exception`` swallows it)."""


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    seconds: float


def config(**sections: Any) -> dict[str, Any]:
    """BASE with ``sections`` merged in (a mapping merges into BASE's mapping)."""
    data = yaml.safe_load(yaml.safe_dump(BASE, sort_keys=False))
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: Any) -> None:
        raise Hang(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def snapshot(root: Path, allowed: tuple[Path, ...]) -> dict[str, tuple[str, int]]:
    """Every file and folder under ``root`` (content hash, mode), except under ``allowed``."""
    out = {}
    for p in sorted(root.rglob("*")):
        if any(p == a or a in p.parents for a in allowed):
            continue
        digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        out[str(p.relative_to(root))] = (digest, p.lstat().st_mode)
    return out


class World:
    """A scratch working directory: an unrelated file, another experiment's results folder
    (written by msgsim, with its marker) and the configs of the test."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "notes.txt").write_text("an unrelated file\n")
        other = root / "results" / "other"
        other.mkdir(parents=True)
        (other / MARKER).write_text("msgsim\n")
        (other / "summary.csv").write_text("cell,strategy\n0,at-most-once\n")

    def write(self, name: str, data: Any) -> Path:
        """A config file (a dict as YAML, or the text as is), relative to the root."""
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        return Path(name)

    def msgsim(
        self, *args: Any, writes: tuple[str, ...] = (), seconds: float = 10, failing: bool = False
    ) -> Outcome:
        """``msgsim ARGS`` in-process, within ``seconds``; fails if a file outside ``writes``
        (folders relative to the root) changed, or if it printed a traceback (which only a
        ``failing`` run, exit 1, may show: the traceback of its own failure)."""
        allowed = tuple((self.root / w).resolve() for w in writes)
        before = snapshot(self.root, allowed)
        out, err = io.StringIO(), io.StringIO()
        start = time.monotonic()
        with time_limit(seconds), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as exc:  # argparse
                code = int(exc.code or 0)
        outcome = Outcome(code, out.getvalue(), err.getvalue(), time.monotonic() - start)
        if not (failing and outcome.code == 1):
            assert "Traceback" not in outcome.err + outcome.out, outcome.err
        assert snapshot(self.root, allowed) == before, "a file outside the results changed"
        return outcome


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    root = tmp_path / "work"
    root.mkdir()
    monkeypatch.chdir(root)
    return World(root)


def refused(outcome: Outcome, *needles: str) -> str:
    """Exit 2 and one paragraph (``msgsim: error: ...``) holding every needle."""
    err = outcome.err.strip()
    assert outcome.code == 2, f"exit {outcome.code}\n{outcome.out}\n{err}"
    assert err.startswith("msgsim: error:"), err
    assert "\n" not in err, "one paragraph:\n" + err
    for needle in needles:
        assert needle in err, f"{needle!r} not in: {err}"
    return err


# --------------------------------------------------------------------------- data loss


@pytest.mark.parametrize("name", ["..", "."])
def test_a_name_that_leaves_results_is_refused_and_force_deletes_nothing(world, name):
    cfg = world.write("dd.yaml", config(name=name))
    err = refused(world.msgsim("run", cfg, "--force", *RUN), "dd.yaml", "line 1", "key name")
    assert "never '.' or '..'" in err
    assert (world.root / "notes.txt").exists() and (world.root / "results" / "other").is_dir()


@pytest.mark.parametrize("out", [".", "..", "/"])
def test_force_never_takes_the_working_directory_or_a_parent(world, out):
    cfg = world.write("a.yaml", config())
    refused(world.msgsim("run", cfg, "--out", out, "--force", *RUN), out, "--out")


def test_force_leaves_a_folder_msgsim_did_not_write(world):
    cfg = world.write("a.yaml", config())
    mine = world.root / "results" / "hostile"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work\n")
    err = refused(world.msgsim("run", cfg, "--force", *RUN), "results/hostile", MARKER)
    assert "even with --force" in err
    assert (mine / "thesis.tex").read_text() == "years of work\n"


def test_a_results_folder_that_resolves_outside_results_is_refused(world):
    cfg = world.write("a.yaml", config())
    elsewhere = world.root / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "data.csv").write_text("1,2\n")
    (world.root / "results" / "hostile").symlink_to(elsewhere)
    refused(world.msgsim("run", cfg, "--force", *RUN), "does not resolve to a folder inside")
    assert (elsewhere / "data.csv").read_text() == "1,2\n"


def test_force_replaces_a_results_folder_msgsim_wrote(world):
    cfg = world.write("a.yaml", config())
    assert world.msgsim("run", cfg, *RUN, writes=("results/hostile",)).code == 0
    assert (world.root / "results" / "hostile" / MARKER).is_file()
    refused(world.msgsim("run", cfg, *RUN), "already exists", "--force")
    done = world.msgsim("run", cfg, "--force", *RUN, writes=("results/hostile",))
    assert done.code == 0, done.err


def test_a_real_process_refuses_dotdot_with_exit_2(world):
    cfg = world.write("dd.yaml", config(name=".."))
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "run", str(cfg), "--force", "--no-progress"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=world.root,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "key name" in proc.stderr
    assert (world.root / "dd.yaml").exists() and (world.root / "notes.txt").exists()


# --------------------------------------------------------------------------- links


def test_a_link_override_inherits_what_it_does_not_set(world):
    links = {"producer-0->broker-0": {"loss": 0.5}}
    data = config(strategies=["at-most-once"], duration=10)
    data["topology"]["network"] = {"latency": 0.002, "links": links}
    cfg = world.write("links.yaml", data)
    done = world.msgsim("run", cfg, *RUN, writes=("results/hostile",))
    assert done.code == 0, done.err
    summary = pd.read_csv(world.root / "results" / "hostile" / "summary.csv")
    assert 0.35 < summary["loss_rate"].iloc[0] < 0.65
    assert summary["latency_p50"].iloc[0] >= 0.004  # two hops of the inherited 2 ms at least
    # the workers' path: the config dumped (every key written, null where inherited) and read
    dumped = sim.ExperimentConfig.model_validate(
        sim.load_config(cfg).model_dump(mode="json")
    ).topology.network.links["producer-0->broker-0"]
    assert dumped.overrides() == {"loss": 0.5}


# --------------------------------------------------------------------------- hangs, memory

INTERVALS = [
    ("broker.flush_interval", {"broker": {"durability": "interval", "flush_interval": 1e-300}}),
    ("consumer_group.heartbeat_interval", {"consumer_group": {"heartbeat_interval": 1e-300}}),
    ("consumer_group.auto_commit_interval", {"consumer_group": {"auto_commit_interval": 1e-300}}),
    (
        "producer.request_timeout",
        {"producer": {"request_timeout": 1e-300, "backoff": {"initial": 0, "max": 0}}},
    ),
]


@pytest.mark.parametrize("key,sections", INTERVALS, ids=[k for k, _ in INTERVALS])
def test_an_interval_of_1e_300_is_refused_before_anything_runs(world, key, sections):
    cfg = world.write("tiny.yaml", config(**sections))
    for command in (("validate", cfg), ("run", cfg, *RUN)):
        outcome = world.msgsim(*command, seconds=5)
        refused(outcome, "tiny.yaml", f"key {key}", "1e-300 s", "shortest interval", "0.0001 s")
        assert not (world.root / "results" / "hostile").exists()


LIMITS = [
    ("duration 1e12, rate 0", {"duration": 1e12, "workload": {"rate": 0}}, "key duration",
     "timer"),
    ("random fault rate 1e9", {"faults": [{"kind": "random", "nodes": "*", "rate": 1e9}]},
     "key faults.0.rate", "100,000"),
    ("keys 1e21", {"workload": {"keys": 1e21}}, "key workload.keys", "at most 2^63 - 1"),
    ("keys 1e9", {"workload": {"keys": 1e9}}, "key workload.keys", "at most 10,000,000"),
    ("rate 1e12", {"workload": {"rate": 1e12}}, "key workload.rate", "2,000,000"),
    ("partitions 1e8", {"topology": {"partitions": 1e8}}, "key topology.partitions", "1,000"),
    ("producers 1e7", {"workload": {"producers": 1e7}}, "key workload.producers", "1,000"),
    ("resends per event", {"duration": 60, "producer": {"request_timeout": 0.0002, "backoff":
     {"initial": 0}}}, "key producer.request_timeout", "10,000 per event"),
    ("poison retried forever in no time", {"strategies": ["at-least-once"], "workload":
     {"poison_probability": 0.1, "process_time": 0}, "broker": {"max_receives": None}},
     "workload.process_time", "5,000,000"),
    ("transient failures forever in no time", {"strategies": ["at-least-once"], "workload":
     {"failure_probability": 1, "process_time": 0}, "broker": {"max_receives": None}},
     "workload.process_time", "5,000,000"),
    ("full trace of 1e6 events", {"trace": "full", "workload": {"rate": 5e5}},
     "key workload.rate", "100,000 with trace: full"),
    ("kept events", {"replications": 100, "duration": 60, "workload": {"rate": 1000}},
     "key trace", "trace: summary"),
    ("seed 1e400", {"seed": int("1" + "0" * 400)}, "key seed", "2^63"),
]  # fmt: skip


@pytest.mark.parametrize("case,sections,where,limit", LIMITS, ids=[c[0] for c in LIMITS])
def test_a_run_too_big_to_finish_is_refused_naming_the_limit(world, case, sections, where, limit):
    cfg = world.write("big.yaml", config(**sections))
    for command in (("validate", cfg), ("run", cfg, *RUN)):
        refused(world.msgsim(*command, seconds=5), "big.yaml", where, limit)
    assert not (world.root / "results" / "hostile").exists()


def test_a_sweep_of_ten_thousand_cells_is_refused_at_once(world):
    sweep = {"workload.rate": list(range(1, 101)), "workload.keys": list(range(1, 101))}
    cfg = world.write("sweep.yaml", config(sweep=sweep))
    outcome = world.msgsim("validate", cfg, seconds=5)
    refused(outcome, "sweep.yaml", "key sweep", "100 x 100", "at most 1,000")
    assert outcome.seconds < 2


def test_validate_reports_the_expected_size_and_the_limits(world):
    cfg = world.write("a.yaml", config())
    outcome = world.msgsim("validate", cfg)
    assert outcome.code == 0, outcome.err
    assert "expected size per run: 40 events (limit 2,000,000)" in outcome.out
    assert "timer wake-ups over 3 s (limit 5,000,000)" in outcome.out
    assert "1 cells (limit 1,000), 2 runs (limit 50,000)" in outcome.out
    assert "resends (limit 10,000 each)" in outcome.out


BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefg", "bcdefgh", strict=True)
)


@pytest.mark.parametrize(
    "text,needles",
    [
        (BOMB, ("line 7", "aliases", "1,000,000 values")),
        ("a: " + "[" * 5000 + "]" * 5000 + "\n", ("line 1", "deeper than 64 levels")),
        ("a: &a\n  b: *a\n", ("line 1", "refers to a value that contains it")),
        ("name: x\n" + "# padding\n" * 500_000, ("larger than 4 MB",)),
    ],
    ids=["alias-bomb", "deep-nesting", "recursive-alias", "huge-file"],
)
def test_yaml_loading_is_bounded(world, text, needles):
    cfg = world.write("bomb.yaml", text)
    outcome = world.msgsim("validate", cfg, seconds=5)
    refused(outcome, "bomb.yaml", *needles)
    assert outcome.seconds < 3


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_config_path_that_never_ends_is_refused(world):
    refused(world.msgsim("validate", "/dev/zero", seconds=5), "/dev/zero", "larger than 4 MB")


# --------------------------------------------------------------------------- sentences


def test_out_below_a_file_is_a_sentence(world):
    cfg = world.write("a.yaml", config())
    (world.root / "afile").write_text("not a folder\n")
    refused(world.msgsim("run", cfg, "--out", "afile/sub", *RUN), "afile/sub", "is a file")


def _unwritable(root: Path) -> Path:
    if os.geteuid() != 0:
        locked = root / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        return locked / "out"
    if not Path("/sys").is_dir():
        pytest.skip("root, and no /sys to be refused by")
    return Path("/sys/msgsim-hostile-input-test")


def test_an_unwritable_out_is_a_sentence(world):
    cfg = world.write("a.yaml", config())
    target = _unwritable(world.root)
    refused(world.msgsim("run", cfg, "--out", target, *RUN), str(target), "permission denied")
    assert not target.exists()


@pytest.fixture
def traced(world: World) -> tuple[World, str]:
    """A results folder with trace: full, and the id of one of its events."""
    cfg = world.write("t.yaml", config(trace="full", strategies=["at-least-once"]))
    done = world.msgsim("run", cfg, *RUN, writes=("results/hostile",))
    assert done.code == 0, done.err
    ids = pd.read_parquet(world.root / "results" / "hostile" / "messages.parquet")["id"]
    return world, str(ids.iloc[0])


def test_explain_into_a_bad_out_is_a_sentence(traced):
    world, eid = traced
    (world.root / "afile").write_text("not a folder\n")
    folder = "results/hostile"
    refused(
        world.msgsim("explain", folder, "--message", eid, "--out", "afile/sub"),
        "afile/sub",
        "is a file",
    )
    target = _unwritable(world.root)
    refused(world.msgsim("explain", folder, "--message", eid, "--out", target), "permission denied")
    refused(world.msgsim("explain", folder, "--message", eid, "--out", ""), "--out ''")


def test_plot_of_a_damaged_summary_is_a_sentence(world):
    cfg = world.write("a.yaml", config())
    assert world.msgsim("run", cfg, *RUN, writes=("results/hostile",)).code == 0
    (world.root / "results" / "hostile" / "summary.parquet").write_bytes(b"not parquet")
    refused(world.msgsim("plot", "results/hostile"), "summary.parquet", "cannot be read", "damaged")


def test_dask_where_nothing_listens_is_a_sentence_and_writes_nothing(world, monkeypatch):
    monkeypatch.setattr(limits, "DASK_CONNECT_SECONDS", 1.0)
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = world.write("a.yaml", config())
    outcome = world.msgsim("run", cfg, "--dask", f"tcp://127.0.0.1:{port}", *RUN, seconds=20)
    refused(outcome, f"--dask tcp://127.0.0.1:{port}", "no Dask scheduler answered within 1 s")
    assert outcome.seconds < 10
    assert not (world.root / "results" / "hostile").exists(), "nothing blocks the next run"


# --------------------------------------------------------------------------- silently ignored


@pytest.mark.parametrize(
    "sections,where,needle",
    [
        (
            {"topology": {"network": {"links": {"prodcer-0->broker-0": {"loss": 0.5}}}}},
            "key topology.network.links.prodcer-0->broker-0",
            "'prodcer-0' matches no node",
        ),
        (
            {"faults": [{"kind": "drop", "link": "consumer-0->consumer-1", "probability": 1}]},
            "key faults.0.link",
            "matches no link, so it does nothing",
        ),
        (
            {"faults": [{"kind": "drop", "link": "sink->producer-0", "probability": 1}]},
            "key faults.0.link",
            "matches no link, so it does nothing",
        ),
    ],
    ids=["links-typo", "fault-consumer-to-consumer", "fault-sink-to-producer"],
)
def test_a_link_that_matches_nothing_is_an_error(world, sections, where, needle):
    cfg = world.write("links.yaml", config(**sections))
    refused(world.msgsim("validate", cfg), "links.yaml", where, needle)


def test_a_fault_after_the_run_is_a_warning_naming_key_and_line(world):
    faults = [{"kind": "crash", "node": "consumer-0", "at": 1000}]
    cfg = world.write("late.yaml", config(duration=5, drain=30, faults=faults))
    outcome = world.msgsim("validate", cfg)
    assert outcome.code == 0, outcome.err
    warning = outcome.err.strip()
    assert warning.startswith("msgsim: warning: late.yaml, line ")
    assert "key faults.0.at" in warning and "t=1000 s" in warning and "never fires" in warning
    ran = world.msgsim("run", cfg, *RUN, writes=("results/hostile",))
    assert ran.code == 0 and ran.err.count("never fires") == 1, ran.err


def test_arrivals_after_the_duration_are_a_warning(world):
    cfg = world.write("arr.yaml", config(workload={"arrivals": [0.5, 1.0, 7.0, 8.0]}))
    outcome = world.msgsim("validate", cfg)
    assert outcome.code == 0, outcome.err
    assert "key workload.arrivals.2" in outcome.err and "2 of the 4 arrivals" in outcome.err
    with pytest.warns(sim.ConfigWarning, match="never created"):
        sim.load_config(world.root / cfg)


def test_a_partition_that_cuts_no_link_is_a_warning(world):
    faults = [{"kind": "partition", "between": ["producer-0", "sink"], "at": 0.5, "duration": 1}]
    cfg = world.write("cut.yaml", config(faults=faults))
    outcome = world.msgsim("validate", cfg)
    assert outcome.code == 0, outcome.err
    assert "key faults.0.between" in outcome.err and "cuts no link" in outcome.err


@pytest.mark.parametrize(
    "text,needles",
    [
        ("name: a\nseed: 1\nseed: 2\n", ("line 3", "'seed' is given twice", "first at line 2")),
        ("", ("the config is empty",)),
        ("# only a comment\n\n", ("the config is empty", "never runs the default")),
        ("replications: true\n", ("line 1", "key replications", "not a boolean")),
        ('duration: "5"\n', ("line 1", "key duration", "not a string")),
        ("workload: {process_time: true}\n", ("key workload.process_time", "not a boolean")),
        ("broker: {dedupe_durable: 1}\n", ("key broker.dedupe_durable", "true or false")),
        (
            "strategies: [{name: mine, like: at-least-once, consumer: {retry_sink: 1}}]\n",
            ("line 1", "key strategies.0.consumer.retry_sink", "true or false"),
        ),
    ],
    ids=["duplicate-key", "empty", "comments-only", "bool-count", "quoted-number",
         "bool-distribution", "int-boolean", "int-boolean-in-a-strategy"],
)  # fmt: skip
def test_careless_yaml_is_an_error(world, text, needles):
    cfg = world.write("c.yaml", text)
    refused(world.msgsim("validate", cfg), "c.yaml", *needles)
    refused(world.msgsim("run", cfg, *RUN), "c.yaml", *needles)


def test_an_empty_out_is_an_error(world):
    cfg = world.write("a.yaml", config())
    refused(world.msgsim("run", cfg, "--out", "", *RUN), "empty path", "--out ''")
    with pytest.raises(sim.ConfigError, match="empty path"):
        sim.run(config(), out="", workers=1, progress=False)


def test_numbers_are_numbers_in_the_api_too():
    with pytest.raises(sim.ConfigError, match="replications: must be a whole number"):
        sim.load_config(config(replications=True))
    with pytest.raises(sim.ConfigError, match="not a string"):
        sim.load_config(config(duration="5"))
    assert sim.load_config(config(workload={"keys": 1e3})).workload.keys == 1000


# --------------------------------------------------------------------------- failed runs


def test_a_failed_run_leaves_a_folder_marked_failed_that_resume_finishes(world, monkeypatch):
    cfg = world.write("a.yaml", config())
    real = dispatch.execute_spec

    def flaky(spec: Any, *args: Any, **kwargs: Any) -> Any:
        if spec.key == "c0-at-least-once-r0":
            raise RuntimeError("a bug in the model")
        return real(spec, *args, **kwargs)

    monkeypatch.setattr(dispatch, "execute_spec", flaky)
    failed = world.msgsim("run", cfg, *RUN, writes=("results/hostile",), failing=True)
    folder = world.root / "results" / "hostile"
    assert failed.code == 1
    assert "a bug in the model" in failed.err and "c0-at-least-once-r0" in failed.err
    assert "is not complete" in failed.out and "--resume" in failed.out
    assert (folder / "errors.json").is_file() and not (folder / "summary.csv").exists()
    refused(world.msgsim("plot", "results/hostile"), "runs failed", "--resume")

    monkeypatch.setattr(dispatch, "execute_spec", real)
    refused(world.msgsim("run", cfg, *RUN), "already exists", "--resume")
    resumed = world.msgsim("run", cfg, "--resume", *RUN, writes=("results/hostile",))
    assert resumed.code == 0, resumed.err
    assert "resumed: 1 of 2 runs" in resumed.out
    assert (folder / "summary.csv").is_file() and not (folder / "errors.json").exists()
    assert len(pd.read_csv(folder / "summary.csv")) == 2


# --------------------------------------------------------------------------- fuzz

FUZZ_BASE: dict[str, Any] = {
    **BASE,
    "name": "fuzz",
    "strategies": [
        "at-most-once",
        {"name": "mine", "like": "at-least-once", "consumer": {"dead_letter": True}},
    ],
    "workload": {"rate": 20, "keys": 4, "process_time": {"dist": "exponential", "mean": 0.001}},
    "topology": {
        "brokers": 1,
        "partitions": 2,
        "consumers": 2,
        "network": {"latency": 0.001, "links": {"producer-0->broker-0": {"loss": 0.1}}},
    },
    "broker": {"mode": "log", "durability": "fsync", "max_receives": 5},
    "consumer_group": {"heartbeat_interval": 1, "session_timeout": 3},
    "producer": {"request_timeout": 0.2, "backoff": {"initial": 0.05, "max": 1}},
    "faults": [
        {"kind": "crash", "node": "consumer-0", "at": 1, "restart_after": 0.5},
        {"kind": "drop", "link": "broker-0->producer-0", "probability": 0.2, "at": 0.5},
        {"kind": "random", "nodes": "consumer-*", "rate": 0.5, "at": 0, "duration": 2},
    ],
    "sweep": {"faults.1.probability": [0.1, 0.3]},
}

KEYS = sorted(
    {"name", "seed", "replications", "duration", "drain", "trace", "strategies", "workload",
     "rate", "keys", "arrivals", "producers", "process_time", "dist", "mean", "value", "topology",
     "brokers", "partitions", "consumers", "network", "latency", "loss", "links", "broker",
     "mode", "durability", "flush_interval", "max_receives", "capacity", "consumer_group",
     "heartbeat_interval", "session_timeout", "producer", "request_timeout", "backoff",
     "initial", "faults", "kind", "node", "link", "at", "probability", "on",
     "sweep", "rat", "dration", "fault", "like", "dead_letter", "retry_sink", "publisher",
     "failure_probability", "poison_probability", "visibility_heartbeat", "relay", "<<"}
)  # fmt: skip
NUMBERS = [0, -1, 1, 2, 3, 0.5, 1e-300, 1e-9, 1e-4, 1e3, 1e6, 1e9, 1e12, 1e21, 1e300, 10**20,
           10**400, float("inf"), float("-inf"), float("nan")]  # fmt: skip
TEXTS = ["", "5", "1e3", "..", ".", "*", "prodcer-0", "producer-0->broker-0", "consumer-*",
         "a/b", "true", "null", "x" * 300, "at-most-once", "exactly-once", "full"]  # fmt: skip
SCALARS = st.one_of(
    st.none(), st.booleans(), st.sampled_from(NUMBERS), st.sampled_from(TEXTS),
    st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True),
)  # fmt: skip
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS), inner,
                                                                max_size=4),
    max_leaves=8,
)  # fmt: skip


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


def _mutate(data: dict[str, Any], draw: Any) -> None:
    """One change of the config: a number nudged or scaled, a value replaced or removed, or a
    key added."""
    path = draw(st.sampled_from(_paths(data)))
    parent, last = _parent(data, path), path[-1]
    op = draw(st.sampled_from(["nudge", "nudge", "set", "scale", "delete", "add"]))
    number = isinstance(parent[last], int | float) and not isinstance(parent[last], bool)
    if op == "nudge" and number:  # a plausible value: most runs
        parent[last] = parent[last] * draw(st.sampled_from([0, 0.1, 0.5, 2, 3, 10]))
    elif op in ("set", "nudge"):
        parent[last] = draw(VALUES)
    elif op == "scale" and number:
        k = draw(st.integers(-320, 320))
        try:
            parent[last] = parent[last] * 10.0**k
        except OverflowError:
            parent[last] = math.inf
    elif op == "delete":
        del parent[last]
    elif isinstance(parent, dict):
        parent[draw(st.sampled_from(KEYS))] = draw(VALUES)
    else:
        parent.append(draw(VALUES))


def _mangle(text: str, draw: Any) -> str:
    """One change of the YAML text: a line repeated, removed or cut, an alias, a tab, ..."""
    lines = text.splitlines()
    i = draw(st.integers(0, len(lines) - 1))
    op = draw(st.sampled_from(["repeat", "remove", "cut", "alias", "tab", "indent", "junk"]))
    if op == "repeat":
        lines.insert(i, lines[i])
    elif op == "remove":
        del lines[i]
    elif op == "cut":
        lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
    elif op == "alias":
        lines = ["x: &x " + lines[i].split(":", 1)[-1].strip(), *lines, "y: *x", "z: *y"]
    elif op == "tab":
        lines[i] = "\t" + lines[i]
    elif op == "indent":
        lines[i] = "  " + lines[i]
    else:
        lines.insert(i, draw(st.sampled_from(["[", "]]", "{a: b", "? [x]", "&a", "*nope", "-"])))
    return "\n".join(lines) + "\n"


def _tiny(cfg: Any) -> bool:
    """Small enough to run in a test: a second or so."""
    if cfg.sweep or cfg.replications * len(cfg.strategies) > 4 or cfg.trace == "full":
        return False
    size = limits.measure(cfg)
    worst = max((n for _, _, n in size.attempts), default=0)
    return (
        not size.problems
        and size.events <= 300
        and size.wakeups <= 20_000
        and size.faults <= 50
        and worst <= 500
        and size.horizon <= 60
        and sum(size.nodes.values()) <= 12
    )


@given(data=st.data())
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fuzz_mutated_configs_exit_0_or_2_never_a_traceback(data: Any) -> None:
    config_data = yaml.safe_load(yaml.safe_dump(FUZZ_BASE, sort_keys=False))
    if data.draw(st.booleans()):
        del config_data["sweep"]  # (a config without a sweep may be small enough to run)
    for _ in range(data.draw(st.integers(1, 3))):
        _mutate(config_data, data.draw)
    try:
        text = yaml.safe_dump(config_data, sort_keys=False, allow_unicode=True)
    except yaml.YAMLError:
        text = repr(config_data)
    if data.draw(st.integers(0, 2)) == 0:
        text = _mangle(text, data.draw)
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):
        world = World(Path(tmp).resolve())
        cfg = world.write("fuzz.yaml", text)
        tracemalloc.start()
        try:
            # validate plans every run: a config at the limits (50,000 runs) takes about 4 s,
            # and tracemalloc makes that about 20 s; a hang is work that does not end
            checked = world.msgsim("validate", cfg, seconds=60)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 300 * 2**20, f"validate used {peak / 2**20:.0f} MB"
        assert checked.code in (0, 2), checked.err
        event(f"validate exit {checked.code}")
        if checked.code == 2:
            refused(checked)
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sim.ConfigWarning)
            loaded = sim.load_config(world.root / cfg)
        if _tiny(loaded):
            event("ran")
            ran = world.msgsim(
                "run", cfg, "--out", "results/fuzzed", *RUN, writes=("results/fuzzed",), seconds=60
            )
            assert ran.code == 0, ran.err
