"""Same config and seed, same bytes: across processes, hash seeds, worker counts and calls.

Only ``wall_seconds`` may differ between two runs of one config. The fault schedule is drawn
once per (cell, replication), before any strategy runs, and every strategy replays it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from sim.core.rng import Streams, derive_seed, stable_index
from sim.experiment import replication_seed

RANDOM_FAULT = {
    "kind": "random",
    "nodes": "consumer-*",
    "kinds": ["crash", "pause", "drop"],
    "rate": 0.4,
    "mean_duration": 0.5,
}


@pytest.fixture(scope="module")
def faulty(small_config) -> dict:
    """Both strategies, 2 replications, a drop, a crash with restart and a random generator."""
    data = small_config(name="repro")
    data["faults"].append(dict(RANDOM_FAULT))
    assert [f["kind"] for f in data["faults"]] == ["drop", "crash", "random"]
    return data


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory, cli, write_config, faulty) -> dict[str, Path]:
    """The same config run three times by ``python -m sim run`` (concurrently):
    hash seed 0 / 1 worker, hash seed 12345 / 1 worker, hash seed 0 / 2 workers."""
    base = tmp_path_factory.mktemp("repro")
    path = write_config(base / "repro.yaml", faulty)
    variants = {"hash0-w1": ("0", "1"), "hash12345-w1": ("12345", "1"), "hash0-w2": ("0", "2")}

    def one(item: tuple[str, tuple[str, str]]) -> subprocess.CompletedProcess[str]:
        name, (hash_seed, workers) = item
        return cli(
            "run",
            path,
            "--out",
            base / name,
            "--no-progress",
            "--no-charts",  # the results compared here; the charts: test_charts, test_cli
            "--workers",
            workers,
            env={"PYTHONHASHSEED": hash_seed},
            cwd=base,
        )

    with ThreadPoolExecutor(max_workers=len(variants)) as pool:
        procs = dict(zip(variants, pool.map(one, variants.items()), strict=True))
    for name, proc in procs.items():
        assert proc.returncode == 0, f"{name}: exit {proc.returncode}\n{proc.stderr}"
    return {name: base / name for name in variants}


def summary_cells_without_wall(path: Path) -> tuple[list[str], list[list[str]]]:
    """The raw text fields of a summary.csv, with the ``wall_seconds`` column removed."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    i = header.index("wall_seconds")
    return header[:i] + header[i + 1 :], [r[:i] + r[i + 1 :] for r in body]


def assert_same_results(a: Path, b: Path) -> None:
    assert (a / "faults.csv").read_bytes() == (b / "faults.csv").read_bytes()
    header_a = (a / "summary.csv").read_text().splitlines()[0]
    assert header_a == (b / "summary.csv").read_text().splitlines()[0], "same columns, same order"
    assert summary_cells_without_wall(a / "summary.csv") == summary_cells_without_wall(
        b / "summary.csv"
    )
    sa, sb = pd.read_csv(a / "summary.csv"), pd.read_csv(b / "summary.csv")
    assert sa.drop(columns="wall_seconds").to_csv() == sb.drop(columns="wall_seconds").to_csv()
    pdt.assert_frame_equal(
        pd.read_parquet(a / "messages.parquet"), pd.read_parquet(b / "messages.parquet")
    )
    pdt.assert_frame_equal(
        pd.read_parquet(a / "summary.parquet").drop(columns="wall_seconds"),
        pd.read_parquet(b / "summary.parquet").drop(columns="wall_seconds"),
    )


def test_runs_are_complete(cli_runs):
    for folder in cli_runs.values():
        summary = pd.read_csv(folder / "summary.csv")
        assert len(summary) == 4  # 2 strategies x 2 replications
        assert summary["wall_seconds"].notna().all()


def test_same_bytes_under_different_hash_seeds(cli_runs):
    assert_same_results(cli_runs["hash0-w1"], cli_runs["hash12345-w1"])


def test_same_results_with_one_or_two_workers(cli_runs):
    assert_same_results(cli_runs["hash0-w1"], cli_runs["hash0-w2"])


def test_cli_matches_the_api(cli_runs, faulty):
    res = sim.run(faulty, workers=1, progress=False)
    summary = pd.read_csv(cli_runs["hash0-w1"] / "summary.csv")
    pdt.assert_frame_equal(
        summary.drop(columns="wall_seconds"),
        res.summary.drop(columns="wall_seconds"),
        check_dtype=False,
    )
    assert summary["seed"].tolist() == [replication_seed(11, r) for r in (0, 0, 1, 1)]


# --------------------------------------------------------------------------- in-process


def test_run_twice_in_process_gives_identical_frames(faulty):
    a = sim.run(faulty, workers=1, progress=False)
    b = sim.run(faulty, workers=1, progress=False)
    assert not a.errors and not b.errors
    pdt.assert_frame_equal(
        a.summary.drop(columns="wall_seconds"), b.summary.drop(columns="wall_seconds")
    )
    pdt.assert_frame_equal(a.messages, b.messages)
    pdt.assert_frame_equal(a.events, b.events)
    pdt.assert_frame_equal(a.faults, b.faults)
    assert a.config == b.config


def test_different_seeds_differ(faulty):
    a = sim.run(faulty, seed=1, workers=1, progress=False)
    b = sim.run(faulty, seed=2, workers=1, progress=False)
    assert not a.faults.equals(b.faults), "the random generator must draw from the seed"
    identity = ["seed", "wall_seconds"]
    assert not a.summary.drop(columns=identity).equals(b.summary.drop(columns=identity))
    assert set(a.summary["seed"]).isdisjoint(b.summary["seed"])
    assert not a.messages[["id", "created_at"]].equals(b.messages[["id", "created_at"]])


# --------------------------------------------------------------------------- the fault schedule


@pytest.fixture(scope="module")
def traced(faulty) -> sim.Results:
    data = dict(faulty, trace="full")
    return sim.run(data, workers=1, progress=False)


def test_random_generator_materialises_concrete_faults(traced):
    faults = traced.faults
    generated = faults[faults["source"].str.endswith("/random")]
    assert len(generated) >= 1
    assert set(generated["kind"]) <= {"crash", "pause", "drop"}
    assert generated["at"].notna().all()
    for (_cell, _rep), group in faults.groupby(["cell", "replication"]):
        assert sorted(group["source"].unique())[:2] == ["faults.0", "faults.1"]
        assert group["fault"].tolist() == list(range(len(group)))
    # drawn from each replication's seed: the replications differ
    reps = [
        g.drop(columns="replication").reset_index(drop=True)
        for _, g in generated.groupby("replication")
    ]
    assert len(reps) == 2 and not reps[0].equals(reps[1])


def test_fault_schedule_is_the_same_for_every_strategy(traced):
    events = traced.events
    starts = events[events["op"] == "fault-start"]
    assert len(starts)
    per_strategy = {}
    for (cell, rep, strategy), group in starts.groupby(["cell", "replication", "strategy"]):
        seen = sorted(
            zip(group["num"], group["node"], group["detail"], group["time"].round(9), strict=True)
        )
        per_strategy.setdefault((cell, rep), {})[strategy] = seen
    assert sorted(per_strategy) == [(0, 0), (0, 1)]
    for key, by_strategy in per_strategy.items():
        assert set(by_strategy) == {"at-most-once", "at-least-once"}
        first, second = by_strategy.values()
        assert first == second, f"{key}: strategies saw different faults"
        planned = traced.faults[
            (traced.faults["cell"] == key[0]) & (traced.faults["replication"] == key[1])
        ]
        expected = sorted(
            zip(
                planned["fault"],
                planned["target"],
                planned["kind"],
                planned["at"].round(9),
                strict=True,
            )
        )
        assert first == expected, f"{key}: the run did not replay faults.csv"


def test_validate_prints_the_schedule_of_faults_csv(cli, cli_runs, write_config, faulty, tmp_path):
    path = write_config(tmp_path / "repro.yaml", faulty)
    proc = cli("validate", path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    start = next(
        i for i, line in enumerate(lines) if line.split()[:3] == ["cell", "replication", "fault"]
    )
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("protocol steps"):
            break
        rows.append(line.split()[:9])  # cell .. probability: the columns before free text
    saved = pd.read_csv(cli_runs["hash0-w1"] / "faults.csv")
    assert len(rows) == len(saved)

    def num(text: str) -> float | None:
        return None if text in ("NaN", "None", "<NA>") else float(text)

    for printed, (_, row) in zip(rows, saved.iterrows(), strict=True):
        cell, rep, fault, kind, target, *times = printed
        assert (int(cell), int(rep), int(fault), kind, target) == (
            row["cell"],
            row["replication"],
            row["fault"],
            row["kind"],
            row["target"],
        )
        for text, column in zip(
            times, ["at", "duration", "restart_after", "probability"], strict=True
        ):
            value = row[column]
            if pd.isna(value):
                assert num(text) is None, (column, printed)
            else:
                assert num(text) == pytest.approx(value, abs=1e-5), (column, printed)


# --------------------------------------------------------------------------- named streams

_RNG_WORKER = r"""
import json, sys
from sim.core.rng import Streams, derive_seed, stable_index
print(json.dumps({"hash": hash("msgsim-hash-probe")}), flush=True)
for line in sys.stdin:
    out = []
    for seed, name, modulo in json.loads(line):
        s = Streams(seed)
        first = [x.hex() for x in s(name).random(3).tolist()]
        again = s(name).random()  # the same stream continues
        fresh = Streams(seed)(name).random()  # a new factory starts over
        row = [first, again.hex(), fresh.hex(), derive_seed(seed, name), stable_index(name, modulo)]
        out.append(row)
    print(json.dumps(out), flush=True)
"""


def _streams_locally(batch: list[tuple[int, str, int]]) -> list[list]:
    out = []
    for seed, name, modulo in batch:
        s = Streams(seed)
        first = [x.hex() for x in s(name).random(3).tolist()]
        again = s(name).random()
        fresh = Streams(seed)(name).random()
        out.append(
            [first, again.hex(), fresh.hex(), derive_seed(seed, name), stable_index(name, modulo)]
        )
    return out


class _Worker:
    """A fresh interpreter with its own PYTHONHASHSEED that answers batches over a pipe."""

    def __init__(self, hash_seed: str) -> None:
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _RNG_WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.hash = json.loads(self._readline())["hash"]

    def _readline(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, f"rng worker exited with {self.proc.poll()}"
        return line

    def ask(self, batch: list[tuple[int, str, int]]) -> list[list]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(batch) + "\n")
        self.proc.stdin.flush()
        return json.loads(self._readline())

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def rng_workers():
    workers = [_Worker("0"), _Worker("12345")]
    try:
        yield workers
    finally:
        for w in workers:
            w.close()


def test_rng_workers_really_use_different_hash_seeds(rng_workers):
    assert rng_workers[0].hash != rng_workers[1].hash


NAMES = st.one_of(
    st.sampled_from(
        ["net/loss/producer-0->broker-0", "workload/arrivals/producer-0", "faults/random/2", ""]
    ),
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=24),
)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batch=st.lists(
        st.tuples(st.integers(0, 2**63 - 1), NAMES, st.integers(1, 1024)), min_size=1, max_size=25
    )
)
def test_named_streams_do_not_depend_on_the_process(rng_workers, batch):
    local = _streams_locally(batch)
    for worker in rng_workers:
        assert worker.ask(batch) == local
    for (_seed, name, modulo), (first, again, fresh, child, index) in zip(
        batch, local, strict=True
    ):
        assert fresh == first[0], "a new Streams starts the stream over"
        assert again not in first, "asking for a name again continues its stream"
        assert 0 <= index < modulo
        # the documented partitioner: BLAKE2b of the key, never the salted hash()
        digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
        assert index == int.from_bytes(digest, "big") % modulo
        assert 0 <= child < 2**63
        assert stable_index(name, modulo) == index


def test_streams_are_independent_by_name_and_seed():
    s = Streams(42)
    assert s("a") is s("a")
    assert s("a").random() != Streams(42)("b").random()
    assert Streams(42)("a").random() != Streams(43)("a").random()
    assert replication_seed(7, 0) != replication_seed(7, 1)
