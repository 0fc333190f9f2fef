"""The command line and the Python API, from the outside.

Bad input (invalid config, unknown option, existing results folder) must exit 2 with one
clear paragraph naming the problem, and never a traceback. Good input writes the results
folder of the contract. The CLI always runs in a real subprocess so exit codes and stderr are
the ones a user sees (the many bad-input cases, which stop before simulating, share one).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import pytest
import yaml

import sim
from sim.experiment import replication_seed

CONTRACT_FILES = ["config.yaml", "faults.csv", "summary.csv", "summary.parquet", "messages.parquet"]


def assert_bad_input(
    proc: subprocess.CompletedProcess[str], *needles: str, one_line: bool = True
) -> str:
    """Exit 2, no traceback, one paragraph on stderr that contains every needle."""
    detail = f"exit {proc.returncode}\n--- stdout:\n{proc.stdout}\n--- stderr:\n{proc.stderr}"
    assert proc.returncode == 2, detail
    err = proc.stderr.strip()
    assert err, "bad input must explain itself on stderr\n" + detail
    assert "Traceback" not in proc.stderr, detail
    assert "\n\n" not in err, "the message should be one paragraph\n" + detail
    if one_line:
        assert len(err.splitlines()) == 1, "a config error is one line\n" + detail
        assert err.startswith("msgsim: error:"), detail
    for needle in needles:
        assert needle in err, f"{needle!r} not in the message\n" + detail
    return err


def drop_wall(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["wall_seconds"]).reset_index(drop=True)


def missing_as_none(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as objects with None for every missing value.

    A parquet/CSV round trip turns text columns into pandas' string dtype and None into NaN,
    and the in-memory frames mix None and NaN in the same column (a frame of a run with no
    losses has loss_cause None, one with losses NaN), so compare missing values as one kind.
    """
    out = frame.copy()
    for col in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_bool_dtype(out[col])):
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out


# --------------------------------------------------------------------------- bad input

MIN = "name: t\nstrategies: [at-most-once, at-least-once]\n"
GOOD = MIN + "replications: 1\nduration: 5\ndrain: 2\nworkload: {rate: 20}\n"


@dataclass(frozen=True)
class Bad:
    """One bad invocation: ``args`` (``{cfg}`` is the config file holding ``text``, ``{dir}`` the
    case's folder) and the words its one-paragraph message must contain."""

    args: tuple[str, ...]
    needles: tuple[str, ...] = ()
    text: str | None = None
    one_line: bool = True
    script: bool = False


def validate(text: str, *needles: str) -> Bad:
    return Bad(("validate", "{cfg}"), ("{cfg}", *needles), text)


def run(text: str, *needles: str) -> Bad:
    return Bad(("run", "{cfg}", "--out", "{dir}/out", "--no-progress"), ("{cfg}", *needles), text)


def argv(*args: str) -> Bad:
    return Bad(args, ("msgsim: error:", "usage:"), GOOD, one_line=False)


UNKNOWN_KEY = MIN + "workload:\n  keys: 4\n  rat: 5\n"
MALFORMED = "name: t\nstrategies: [at-most-once\nduration: 5\n"
TOP_LEVEL_LIST = "- name: t\n- seed: 3\n"
UNKNOWN_STRATEGY = "name: t\nstrategies: [at-most-onse]\n"

BAD = {
    # config problems, through `validate`
    "unknown-nested-key": validate(
        UNKNOWN_KEY, "'rat'", "workload.rat", "did you mean 'rate'", "line 5"
    ),
    "unknown-top-level-key": validate(
        MIN + "replication: 2\n", "'replication'", "did you mean 'replications'", "line 3"
    ),
    "unknown-fault-key": validate(
        MIN + "faults:\n  - {kind: drop, link: producer-0->broker-0, probabilty: 0.5, at: 1}\n",
        "faults.0.probabilty",
        "did you mean 'probability'",
        "line 4",
    ),
    "unknown-distribution-key": validate(
        MIN + "workload:\n  process_time: {dist: exponential, mena: 0.001}\n",
        "workload.process_time.mena",
        "did you mean 'mean'",
        "line 4",
    ),
    "unknown-link-spec-key": validate(
        MIN + "topology:\n  network:\n    links: {'producer-0->broker-0': {los: 0.1}}\n",
        "topology.network.links.producer-0->broker-0.los",
        "did you mean 'loss'",
        "line 5",
    ),
    "loss-out-of-range": validate(
        MIN + "topology:\n  network:\n    loss: 1.5\n", "topology.network.loss", "1.5", "line 5"
    ),
    "fault-probability-out-of-range": validate(
        MIN + "faults:\n  - {kind: drop, link: producer-0->broker-0, probability: 1.5, "
        "at: 1, duration: 2}\n",
        "faults.0.probability",
        "1.5",
    ),
    "wrong-type": validate(
        MIN + "replications: many\n", "replications", "'many'", "integer", "line 3"
    ),
    "malformed-yaml": validate(MALFORMED, "malformed YAML", "line 3"),
    "top-level-list": validate(TOP_LEVEL_LIST, "top level must be a mapping", "list"),
    "unknown-strategy": validate(
        UNKNOWN_STRATEGY, "'at-most-onse'", "did you mean 'at-most-once'", "allowed"
    ),
    "unknown-fault-kind": validate(
        MIN + "faults:\n  - {kind: crsh, node: consumer-0, at: 1}\n",
        "'crsh'",
        "faults.0",
        "allowed",
        "'crash'",
        "'drop'",
    ),
    "unknown-distribution": validate(
        MIN + "workload:\n  process_time: {dist: expo, mean: 0.001}\n",
        "'expo'",
        "workload.process_time",
        "allowed",
        "'exponential'",
    ),
    "unknown-fault-node": validate(
        MIN + "faults:\n  - {kind: crash, node: consumr-0, at: 1}\n",
        "faults.0",
        "'consumr-0'",
        "consumer-0",
    ),
    "bad-link": validate(
        MIN + "faults:\n  - {kind: drop, link: producer-0-broker-0, at: 1}\n",
        "faults.0",
        "'producer-0-broker-0'",
        "A->B",
    ),
    "all-problems-at-once": validate(
        MIN + "replications: many\nworkload: {rat: 5}\n",
        "2 problems",
        "replications",
        "workload.rat",
        "did you mean 'rate'",
    ),
    # .inf used to pass validation, then `run` crashed (duration, rate) or never ended (drain)
    "infinite-duration": validate(MIN + "duration: .inf\n", "duration", "finite", "line 3"),
    "infinite-drain": validate(MIN + "drain: .inf\n", "drain", "finite", "line 3"),
    "infinite-rate": validate(MIN + "workload: {rate: .inf}\n", "workload.rate", "finite"),
    "nan-probability": validate(
        MIN + "topology: {network: {loss: .nan}}\n", "topology.network.loss"
    ),
    "missing-file": Bad(("validate", "{dir}/nope.yaml"), ("{dir}/nope.yaml", "no such file")),
    "config-is-a-folder": Bad(("validate", "{dir}"), ("{dir}", "cannot be read")),
    "console-script": Bad(
        ("validate", "{cfg}"), ("workload.rat", "did you mean 'rate'"), UNKNOWN_KEY, script=True
    ),
    # `run` reads the config like `validate`: a few of the same problems through `run`
    "run-unknown-nested-key": run(UNKNOWN_KEY, "workload.rat", "did you mean 'rate'"),
    "run-malformed-yaml": run(MALFORMED, "malformed YAML", "line 3"),
    "run-top-level-list": run(TOP_LEVEL_LIST, "top level must be a mapping"),
    "run-unknown-strategy": run(UNKNOWN_STRATEGY, "did you mean 'at-most-once'"),
    "run-missing-file": Bad(
        ("run", "{dir}/nope.yaml", "--out", "{dir}/out"), ("{dir}/nope.yaml", "no such file")
    ),
    "run-bad-strategy-override": Bad(
        (
            "run",
            "{cfg}",
            "--out",
            "{dir}/out",
            "--no-progress",
            "--strategies",
            "at-most-once,at-leest-once",
        ),
        ("'at-leest-once'", "did you mean 'at-least-once'"),
        GOOD,
    ),
    "run-out-is-a-file": Bad(
        ("run", "{cfg}", "--out", "{cfg}", "--no-progress", "--force"),
        ("{cfg}", "not a folder"),
        GOOD,
    ),
    # the command line itself (argparse): usage + one error line
    "unknown-option": argv("run", "{cfg}", "--bogus"),
    "zero-workers": argv("run", "{cfg}", "--workers", "0"),
    "bad-replications": argv("run", "{cfg}", "--replications", "none"),
    "negative-seed": argv("run", "{cfg}", "--seed", "-1"),
    "unknown-command": argv("frobnicate"),
    "no-command": argv(),
    # plot needs a complete results folder
    "plot-incomplete-folder": Bad(("plot", "{dir}"), ("{dir}", "summary.csv")),
    "plot-missing-folder": Bad(("plot", "{dir}/missing"), ("{dir}/missing", "summary.csv")),
}


@pytest.fixture(scope="module")
def bad_results(
    tmp_path_factory, cli, cli_batch
) -> dict[str, tuple[subprocess.CompletedProcess[str], Path, Bad]]:
    """Every bad invocation, run once: the console-script cases each by the script itself,
    the others one after another in one fresh interpreter (each stops before simulating)."""
    prepared: dict[str, tuple[list[str], Path, Bad]] = {}
    for name, case in BAD.items():
        folder = tmp_path_factory.mktemp(name)
        cfg = folder / "config.yaml"
        if case.text is not None:
            cfg.write_text(case.text, encoding="utf-8")
        if name == "plot-incomplete-folder":
            (folder / "faults.csv").write_text("cell\n")
        fill = {"cfg": str(cfg), "dir": str(folder)}
        resolved = Bad(
            case.args,
            tuple(n.format(**fill) for n in case.needles),
            case.text,
            case.one_line,
            case.script,
        )
        prepared[name] = ([a.format(**fill) for a in case.args], folder, resolved)
    batch = [name for name, (_, _, case) in prepared.items() if not case.script]
    done = dict(zip(batch, cli_batch([prepared[n][:2] for n in batch]), strict=True))
    for name, (args, folder, case) in prepared.items():
        if case.script:
            done[name] = cli(*args, cwd=folder, script=True)
    return {name: (done[name], folder, case) for name, (_, folder, case) in prepared.items()}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_exits_2_with_clear_message(bad_results, name):
    proc, folder, case = bad_results[name]
    assert_bad_input(proc, *case.needles, one_line=case.one_line)
    assert not (folder / "out").exists(), "bad input must not create the results folder"
    assert not (folder / "results").exists(), "bad input must not create the results folder"
    if name == "run-out-is-a-file":
        assert (folder / "config.yaml").read_text() == GOOD, (
            "--force must not touch a file given as --out"
        )


def test_unknown_fault_node_names_key_and_line(cli, write_config, tmp_path):
    path = write_config(
        tmp_path / "bad.yaml", MIN + "faults:\n  - {kind: crash, node: consumr-0, at: 1}\n"
    )
    err = assert_bad_input(cli("validate", path), "'consumr-0'")
    assert "(top level)" not in err
    assert "line 4, key faults.0.node" in err


# ----------------------------------------------------------------------- existing results folder


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else b"", p.stat().st_mtime_ns)
        for p in folder.rglob("*")
    }


def test_existing_results_folder_needs_force(cli, write_config, small_config, tmp_path):
    path = write_config(tmp_path / "ok.yaml", small_config(replications=1))
    out = tmp_path / "out"
    out.mkdir()
    sentinel = out / "keep.txt"
    sentinel.write_text("precious\n")
    os.utime(sentinel, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    before, folder_mtime = _snapshot(out), out.stat().st_mtime_ns

    # a folder msgsim did not write is never touched, not even with --force
    for extra in ((), ("--force",)):
        proc = cli("run", path, "--out", out, "--no-progress", *extra)
        assert_bad_input(proc, str(out), "already exists", "not a results folder msgsim wrote")
        assert _snapshot(out) == before, "the folder must be left untouched"
        assert out.stat().st_mtime_ns == folder_mtime
        assert sentinel.read_text() == "precious\n"

    # a results folder msgsim wrote (its marker) is replaced by --force
    (out / ".msgsim-results").write_text("msgsim\n")
    proc = cli(
        "run", path, "--out", out, "--no-progress", "--no-charts", "--force", "--workers", "1"
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not sentinel.exists(), "--force replaces the folder"
    assert (out / "summary.csv").is_file()
    assert len(pd.read_csv(out / "summary.csv")) == 2


# --------------------------------------------------------------------------- validate


@pytest.mark.parametrize("script", [False, True], ids=["python-m-sim", "console-script"])
def test_validate_good_config(cli, write_config, small_config, tmp_path, script):
    path = write_config(tmp_path / "ok.yaml", small_config())
    proc = cli("validate", path, script=script, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    out = proc.stdout
    assert "valid" in out
    assert "4 runs" in out  # 1 cell x 2 strategies x 2 replications
    # the materialised fault schedule, both faults in both replications
    assert out.count("producer-0->broker-0") == 2
    assert out.count("consumer-0") >= 2
    # the protocol steps `crash ... on:` accepts
    for step in (
        "after-ack-before-process",
        "after-process-before-commit",
        "after-commit-before-publish",
    ):
        assert step in out
    assert not list(tmp_path.glob("results*")), "validate runs nothing and writes nothing"


def test_validate_shows_the_head_of_a_long_fault_schedule(
    cli, write_config, small_config, tmp_path, monkeypatch
):
    from sim.config import models
    from sim.model import schedule

    cfg = small_config(replications=150)  # 2 faults a replication: 300 rows
    calls = []
    node_names = models.ExperimentConfig.node_names
    monkeypatch.setattr(
        models.ExperimentConfig,
        "node_names",
        lambda self: calls.append(1) or node_names(self),
    )
    specs, faults = sim.experiment.plan(sim.ExperimentConfig.model_validate(cfg))
    assert len(faults) == 300 and len(specs) == 300
    assert len(calls) == 1, "a cell's node names are built once, not once a replication"
    # the same schedule as materialising each replication on its own
    one = schedule.materialise(sim.ExperimentConfig.model_validate(cfg), specs[-1].seed)
    assert tuple(one) == specs[-1].schedule

    proc = cli("validate", write_config(tmp_path / "long.yaml", cfg))
    assert proc.returncode == 0, proc.stderr
    shown = [line for line in proc.stdout.splitlines() if "producer-0->broker-0" in line]
    assert len(shown) == 100  # 200 rows shown, every other one this fault
    assert "... and 100 more faults: 300 in all, over 150 (cell, replication)s" in proc.stdout


def test_validate_empty_fault_schedule(cli, write_config, small_config, tmp_path):
    path = write_config(tmp_path / "ok.yaml", small_config(faults=[]))
    proc = cli("validate", path)
    assert proc.returncode == 0, proc.stderr
    assert "fault schedule: empty" in proc.stdout


# --------------------------------------------------------------------------- run, plot


@pytest.fixture(scope="module")
def good_run(tmp_path_factory, cli, write_config, small_config):
    """One `msgsim run` (console script) of the small config: (config path, out folder, process)."""
    base = tmp_path_factory.mktemp("good-run")
    path = write_config(base / "good.yaml", small_config())
    out = base / "out"
    proc = cli("run", path, "--out", out, "--no-progress", script=True, cwd=base)
    return path, out, proc


def test_run_exits_0_and_prints_summary_table(good_run):
    _, out, proc = good_run
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    header = next(line for line in proc.stdout.splitlines() if "strategy" in line)
    for column in ("strategy", "intended", "processed", "lost", "duplicates", "loss", "p99 ms"):
        assert column in header
    assert "mean of 2 replications" in proc.stdout
    assert "at-most-once" in proc.stdout and "at-least-once" in proc.stdout
    assert str(out) in proc.stdout


def test_run_writes_results_folder_layout(good_run):
    _, out, proc = good_run
    assert proc.returncode == 0, proc.stderr
    for name in CONTRACT_FILES:
        assert (out / name).is_file(), name
        assert (out / name).stat().st_size > 0, name
    pngs = sorted(p.stem for p in (out / "charts").glob("*.png"))
    svgs = sorted(p.stem for p in (out / "charts").glob("*.svg"))
    assert pngs and pngs == svgs
    for png in (out / "charts").glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "runs").is_dir()
    assert len(list((out / "runs").glob("*.json"))) == 4  # one finished file per run
    assert not [p for p in out.rglob("*.tmp")], "no temporary file left behind"

    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 4
    assert sorted(summary["strategy"].unique()) == ["at-least-once", "at-most-once"]
    assert sorted(summary["replication"].unique()) == [0, 1]
    pdt.assert_frame_equal(summary, pd.read_parquet(out / "summary.parquet"), check_dtype=False)
    messages = pd.read_parquet(out / "messages.parquet")
    assert len(messages) == summary["intended"].sum()
    faults = pd.read_csv(out / "faults.csv")
    assert len(faults) == 4  # 2 faults x 2 replications


def test_run_config_yaml_reloads_to_the_same_config(good_run):
    path, out, proc = good_run
    assert proc.returncode == 0, proc.stderr
    saved = sim.load_config(out / "config.yaml")
    assert saved == sim.load_config(path)
    raw = yaml.safe_load((out / "config.yaml").read_text())
    assert raw["seed"] == 11 and isinstance(raw["seed"], int)  # seed resolved, written in full
    assert raw["broker"]["acks"] == "all"  # defaults written out, not left implicit


def test_plot_redraws_charts(good_run, cli, tmp_path):
    _, out, proc = good_run
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "copy"
    shutil.copytree(out, folder)
    shutil.rmtree(folder / "charts")
    proc = cli("plot", folder)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    redrawn = sorted(p.name for p in (folder / "charts").iterdir())
    assert redrawn == sorted(p.name for p in (out / "charts").iterdir())
    assert any(name.endswith(".png") for name in redrawn) and any(
        name.endswith(".svg") for name in redrawn
    )
    for name in redrawn:  # from the folder, in another process: the same bytes
        assert (folder / "charts" / name).read_bytes() == (out / "charts" / name).read_bytes(), name


def test_run_no_charts(cli, write_config, small_config, tmp_path):
    path = write_config(
        tmp_path / "ok.yaml", small_config(replications=1, strategies=["at-most-once"])
    )
    proc = cli(
        "run", path, "--out", tmp_path / "out", "--no-progress", "--no-charts", "--workers", "1"
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "summary.csv").is_file()
    assert not list((tmp_path / "out").glob("charts/*"))


def test_run_overrides(cli, write_config, small_config, tmp_path):
    path = write_config(tmp_path / "ok.yaml", small_config())
    out = tmp_path / "out"
    proc = cli(
        "run",
        path,
        "--out",
        out,
        "--no-progress",
        "--no-charts",
        "--workers",
        "1",
        "--strategies",
        "at-most-once",
        "--replications",
        "1",
        "--seed",
        "3",
    )
    assert proc.returncode == 0, proc.stderr
    summary = pd.read_csv(out / "summary.csv")
    assert summary["strategy"].tolist() == ["at-most-once"]
    assert summary["replication"].tolist() == [0]
    assert summary["seed"].tolist() == [replication_seed(3, 0)]
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert (saved["seed"], saved["replications"], saved["strategies"]) == (3, 1, ["at-most-once"])

    res = sim.run(
        path, seed=3, replications=1, strategies=["at-most-once"], workers=1, progress=False
    )
    pdt.assert_frame_equal(drop_wall(summary), drop_wall(res.summary), check_dtype=False)


# --------------------------------------------------------------------------- the Python API


def test_api_load_config_and_model_validate(write_config, small_config, tmp_path):
    data = small_config()
    path = write_config(tmp_path / "ok.yaml", data)
    from_file = sim.load_config(path)
    assert isinstance(from_file, sim.ExperimentConfig)
    assert (
        from_file
        == sim.load_config(str(path))
        == sim.ExperimentConfig.model_validate(data)
        == sim.load_config(data)
    )
    assert from_file.workload.rate == 40 and from_file.replications == 2
    assert sim.load_config(from_file) is from_file


def test_api_load_config_errors_are_config_errors(write_config, tmp_path):
    with pytest.raises(sim.ConfigError, match=r"workload\.rat.*did you mean 'rate'"):
        sim.load_config({"strategies": ["at-most-once"], "workload": {"rat": 5}})
    with pytest.raises(sim.ConfigError, match="no such file"):
        sim.load_config(tmp_path / "nope.yaml")
    with pytest.raises(sim.ConfigError, match="malformed YAML"):
        sim.load_config(write_config(tmp_path / "bad.yaml", "a: [1\n"))
    with pytest.raises(sim.ConfigError, match="unknown strategy"):
        sim.run({"strategies": ["at-most-once"]}, strategies="nope", workers=1, progress=False)


@pytest.fixture(scope="module")
def api_result(small_config):
    return sim.run(small_config(), workers=1, progress=False)


def test_api_run_accepts_dict_path_and_config(api_result, small_config, write_config, tmp_path):
    data = small_config()
    assert isinstance(api_result, sim.Results)
    assert len(api_result.summary) == 4 and not api_result.errors
    path = write_config(tmp_path / "ok.yaml", data)
    for source in (path, str(path), sim.load_config(path)):
        res = sim.run(source, workers=1, progress=False)
        pdt.assert_frame_equal(drop_wall(res.summary), drop_wall(api_result.summary))
        pdt.assert_frame_equal(res.messages, api_result.messages)
        pdt.assert_frame_equal(res.faults, api_result.faults)


def test_api_keyword_overrides(small_config):
    res = sim.run(
        small_config(),
        strategies="at-least-once",
        replications=1,
        seed=5,
        workers=1,
        progress=False,
    )
    assert res.summary["strategy"].tolist() == ["at-least-once"]
    assert res.summary["seed"].tolist() == [replication_seed(5, 0)]
    assert res.config["seed"] == 5


def test_api_save_and_load_round_trip(api_result, tmp_path):
    res = api_result
    folder = tmp_path / "saved"
    assert res.save(folder) == folder
    for name in CONTRACT_FILES:
        assert (folder / name).is_file(), name
    back = sim.load_results(folder)
    assert isinstance(back, sim.Results)
    pdt.assert_frame_equal(back.summary, res.summary, check_dtype=False)
    pdt.assert_frame_equal(
        missing_as_none(back.messages), missing_as_none(res.messages), check_dtype=False
    )
    pdt.assert_frame_equal(
        missing_as_none(back.faults), missing_as_none(res.faults), check_dtype=False
    )
    assert back.config == res.config
    assert sim.ExperimentConfig.model_validate(back.config) == sim.ExperimentConfig.model_validate(
        res.config
    )
    assert back.errors == []


def test_api_save_into_existing_folder(api_result, tmp_path):
    folder = tmp_path / "saved"
    folder.mkdir()
    (folder / "keep.txt").write_text("precious")
    for force in (False, True):  # not written by msgsim: never replaced
        with pytest.raises(sim.ConfigError, match="not a results folder msgsim wrote"):
            api_result.save(folder, force=force)
    assert sorted(p.name for p in folder.iterdir()) == ["keep.txt"]
    (folder / "keep.txt").unlink()
    api_result.save(folder, charts=False)
    (folder / "keep.txt").write_text("stale")
    with pytest.raises(sim.ConfigError, match="already exists"):
        api_result.save(folder)
    api_result.save(folder, force=True, charts=False)
    assert not (folder / "keep.txt").exists()
    assert (folder / "summary.csv").is_file()


def test_an_interruption_before_any_run_finished_says_so(tmp_path) -> None:
    from sim.cli import _finished

    assert _finished(tmp_path) == "No run had finished."  # not "0 finished runs are kept in"
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "c0-x-r0.json").write_text("[]")
    assert _finished(tmp_path) == f"1 finished run is kept in {tmp_path}/runs/."
