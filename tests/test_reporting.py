"""How results reach a person (issue 12): the printed table, the sweep's cells and metrics,
faults.csv's firing times, the duplicates frame, progress, Ctrl-C, scripts without the
``__main__`` guard, and errors in the API's own words."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

import sim

ROOT = Path(__file__).resolve().parent.parent
TINY = {
    "name": "tiny",
    "replications": 2,
    "duration": 3,
    "drain": 2,
    "strategies": ["at-most-once", "at-least-once"],
    "workload": {"rate": 40},
    "faults": [{"kind": "drop", "link": "broker-0->producer-0", "probability": 0.3}],
}
SWEEP = {
    **TINY,
    "faults": [
        {"kind": "drop", "link": "producer-0->broker-0", "probability": 0.0},
        {"kind": "drop", "link": "broker-0->producer-0", "probability": 0.2},
    ],
    "sweep": {"faults.0.probability": [0.0, 0.2], "metrics": ["loss_rate", "throughput"]},
}


def _drop_wall(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["wall_seconds"])


# --------------------------------------------------------------------------- the table


def test_printed_table_of_a_sweep_shows_the_swept_value_and_what_is_averaged(
    cli, write_config, tmp_path
) -> None:
    path = write_config(tmp_path / "sweep.yaml", SWEEP)
    proc = cli("run", path, "--out", tmp_path / "out", "--no-progress", "--no-charts")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    header = lines[0].split()
    assert header[:2] == ["p", "strategy"]
    assert {"loss", "dup", "p50", "ms", "events/s"} <= set(header)
    assert "each row is the mean of 2 replications" in proc.stdout
    assert "e+0" not in proc.stdout  # no scientific notation
    rows = [line.split() for line in lines[1:5]]
    assert [r[0] for r in rows] == ["0", "0", "0.2", "0.2"]
    assert all(r[2].replace(",", "").isdigit() for r in rows)  # counts as whole numbers
    assert any(cell.endswith("%") for r in rows for cell in r)
    assert "charts/" not in proc.stdout.splitlines()[-1]  # --no-charts: none are listed


def test_table_shows_aborted_phantoms_and_committed_when_they_matter() -> None:
    from sim.report.table import summary_table

    summary = pd.DataFrame(
        {
            "cell": 0,
            "strategy": ["publish-then-commit", "outbox"],
            "intended": [100, 100],
            "committed": [90, 90],
            "aborted": [10, 10],
            "processed": [90, 90],
            "lost": [0, 0],
            "pending": [0, 0],
            "duplicates": [0, 0],
            "phantoms": [7, 0],
            "dead_lettered": [0, 0],
            "loss_rate": [0.0, 0.0],
        }
    )
    table = summary_table(summary)
    assert {"aborted", "committed", "phantoms"} <= set(table.columns)
    assert "dead-lettered" not in table.columns


# --------------------------------------------------------------------------- sweep.metrics


def test_sweep_metrics_are_validated_like_every_other_key(write_config, tmp_path) -> None:
    bad = {**SWEEP, "sweep": {"faults.0.probability": [0.0], "metrics": ["los_rate"]}}
    path = write_config(tmp_path / "bad.yaml", bad)
    with pytest.raises(
        sim.ConfigError,
        match=r"key sweep\.metrics\.0: unknown metric 'los_rate' "
        r"\(did you mean 'loss_rate'\?\)",
    ):
        sim.load_config(path)
    with pytest.raises(sim.ConfigError, match="add a swept path"):
        sim.load_config({**TINY, "sweep": {"metrics": ["loss_rate"]}})
    cfg = sim.load_config(SWEEP)
    assert cfg.sweep_paths() == {"faults.0.probability": [0.0, 0.2]}
    assert len(sim.experiment.cells(cfg)) == 2


def test_sweep_charts_are_per_cell_and_plot_the_chosen_metrics(tmp_path, capsys) -> None:
    res = sim.run(SWEEP, workers=1, progress=False, out=tmp_path / "out", charts=False)
    assert "metrics" not in res.summary.columns
    charts = res.plot("sweep", "loss_duplicates")
    assert list(charts) == ["loss_duplicates", "sweep"]
    assert [ax.get_ylabel() for ax in charts["sweep"].axes] == [
        "loss rate (% of committed)",
        "throughput (events/s)",
    ]
    titles = [ax.get_title() for ax in charts["loss_duplicates"].axes if ax.get_visible()]
    assert titles == ["p=0", "p=0.2"]
    from sim.cli import main

    assert main(["plot", str(tmp_path / "out"), "--metrics", "duplicate_rate"]) == 0
    assert (tmp_path / "out" / "charts" / "sweep.png").exists()
    assert main(["plot", str(tmp_path / "out"), "--metrics", "nope"]) == 2
    assert "unknown metric 'nope'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown chart 'nope'; allowed: loss_duplicates"):
        res.plot("nope")  # as the command line refuses it, not an empty answer
    with pytest.raises(ValueError, match="unknown metric 'foo'"):
        res.plot("sweep", metrics=["foo"])


# --------------------------------------------------------------------------- frames


STEP = {
    **TINY,
    "replications": 1,
    "strategies": ["commit-then-publish", "outbox"],
    "faults": [
        {
            "kind": "crash",
            "node": "producer-0",
            "on": "after-commit-before-publish",
            "occurrence": 20,
            "restart_after": 0.5,
        },
        {"kind": "drop", "link": "broker-0->producer-0", "probability": 0.3, "at": 1},
    ],
}


def test_faults_csv_says_when_a_step_triggered_crash_fired_in_each_strategy(tmp_path) -> None:
    res = sim.run(STEP, workers=1, progress=False, out=tmp_path / "out", charts=False)
    log = pd.read_csv(tmp_path / "out" / "faults.csv")
    crash = log[log["kind"] == "crash"]
    assert sorted(crash["strategy"]) == ["commit-then-publish", "outbox"]
    assert crash["fired_at"].notna().all() and (crash["fired_at"] > 0).all()
    drop = log[log["kind"] == "drop"]
    assert drop["strategy"].isna().all() and (drop["fired_at"] == drop["at"]).all()
    back = sim.load_results(tmp_path / "out")
    assert len(back.faults) == len(res.faults) == 2  # the schedule, once per fault
    assert list(back.fault_log["fired_at"]) == pytest.approx(list(log["fired_at"]), nan_ok=True)


def test_duplicates_has_one_row_per_duplicate_effect() -> None:
    res = sim.run(TINY, workers=1, progress=False)
    dups = res.duplicates
    assert list(dups.columns) == [
        "strategy",
        "cell",
        "replication",
        "group",
        "id",
        "effect",
        "cause",
    ]
    assert len(dups) == int(res.summary["duplicates"].sum()) > 0
    assert dups["effect"].min() == 2
    assert "duplicate_cause" in res.messages.columns  # kept for compatibility
    assert isinstance(res.config, sim.ExperimentConfig) and res.config["seed"] == res.config.seed


# --------------------------------------------------------------------------- progress


def test_results_are_identical_with_and_without_progress(capsys) -> None:
    quiet = sim.run(TINY, workers=1, progress=False)
    shown = sim.run(TINY, workers=1, progress=True)
    pooled = sim.run(TINY, workers=2, progress=True)
    err = capsys.readouterr().err
    assert "sim s" in err and "runs 4/4" in err
    for other in (shown, pooled):
        pd.testing.assert_frame_equal(_drop_wall(quiet.summary), _drop_wall(other.summary))
        pd.testing.assert_frame_equal(quiet.messages, other.messages)


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_prints_the_resume_command(write_config, tmp_path) -> None:
    slow = {**TINY, "replications": 8, "duration": 60, "workload": {"rate": 200}}
    path = write_config(tmp_path / "slow.yaml", slow)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim",
            "run",
            str(path),
            "--out",
            str(out),
            "--workers",
            "1",
            "--no-progress",
            "--seed",
            "3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},
        # as a terminal would start it: a test runner started in the background by a shell
        # without job control ignores SIGINT, and its children would inherit that
        preexec_fn=_sigint_default,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list((out / "runs").glob("*.json")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # dump where it is (faulthandler), for the next time
        proc.send_signal(signal.SIGABRT)
        _, err = proc.communicate()
        pytest.fail(
            f"still running 60 s after Ctrl-C; its stderr begins with: {err[:1500]} ... and "
            f"ends with: {err[-3000:]}"
        )
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert f"msgsim run {path} --out {out} --resume --seed 3" in err


# --------------------------------------------------------------------------- scripts


def _script(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(body), encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )


def test_a_script_without_the_main_guard_runs_in_process_with_a_one_line_warning(
    tmp_path, write_config
) -> None:
    path = write_config(tmp_path / "tiny.yaml", TINY)
    proc = _script(
        tmp_path,
        f"""
        import sim
        res = sim.run({str(path)!r}, workers=2, out={str(tmp_path / "out")!r})
        print("runs", len(res.summary))
    """,
    )
    assert proc.returncode == 0, proc.stderr
    assert "runs 4" in proc.stdout
    warning = [line for line in proc.stderr.splitlines() if "warning" in line]
    assert len(warning) == 1 and "__main__" in warning[0]
    assert "Traceback" not in proc.stderr and "BrokenProcessPool" not in proc.stderr
    assert (tmp_path / "out" / "summary.csv").exists()


def test_a_guarded_script_uses_worker_processes(tmp_path, write_config) -> None:
    path = write_config(tmp_path / "tiny.yaml", TINY)
    proc = _script(
        tmp_path,
        f"""
        import sim
        if __name__ == "__main__":
            print("runs", len(sim.run({str(path)!r}, workers=2, progress=False).summary))
    """,
    )
    assert proc.returncode == 0, proc.stderr
    assert "runs 4" in proc.stdout and "warning" not in proc.stderr


@pytest.mark.slow
def test_the_default_experiment_from_a_script_without_the_guard(tmp_path) -> None:
    proc = _script(
        tmp_path,
        """
        import sim
        res = sim.run("experiments/compare_semantics.yaml", progress=False)
        print("runs", len(res.summary), len(res.config.strategies) * res.config.replications)
    """,
    )
    assert proc.returncode == 0, proc.stderr
    runs, planned = proc.stdout.split()[-2:]
    assert runs == planned and int(runs) >= 6


def test_api_errors_speak_the_api_words(tmp_path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(sim.ConfigError) as err:
        sim.run(TINY, workers=1, progress=False, out=out)
    assert "force=True" in str(err.value) and "--force" not in str(err.value)
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_a_failed_start_leaves_no_half_made_folder(tmp_path, monkeypatch) -> None:
    import sim.api

    def boom(*args, **kwargs):
        raise RuntimeError("cannot start workers")

    monkeypatch.setattr(sim.api, "execute", boom)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        sim.run(TINY, workers=1, progress=False, out=out)
    assert not out.exists()


def test_ctrl_c_in_python_names_resume_true(tmp_path, monkeypatch) -> None:
    import sim.api

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sim.api, "execute", interrupted)
    with pytest.raises(KeyboardInterrupt) as err:
        sim.run(TINY, workers=1, progress=False, out=tmp_path / "out")
    note = "".join(getattr(err.value, "__notes__", []))
    assert "resume=True" in note and "--resume" not in note


# --------------------------------------------------------------------------- the ready sweeps


def test_drop_sweep_loss_chart_has_a_panel_per_p_and_its_table_shows_p() -> None:
    """From the stored (shortened) outputs of experiments/drop_sweep.yaml."""
    from sim.report.charts import loss_duplicate_bars
    from sim.report.table import summary_table

    summary = pd.read_csv(ROOT / "tests" / "reference" / "drop_sweep.summary.csv")
    fig = loss_duplicate_bars(summary)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["p=0", "p=0.05", "p=0.1", "p=0.2", "p=0.4"]
    for ax, p in zip(panels, (0.0, 0.05, 0.1, 0.2, 0.4), strict=True):
        at_most_once_loss = ax.patches[0].get_height()  # loss bars first, strategies in order
        assert abs(at_most_once_loss - 100 * p) < 5
    table = summary_table(summary)
    assert list(table.columns[:2]) == ["p", "strategy"]
    assert list(table["p"].drop_duplicates()) == ["0", "0.05", "0.1", "0.2", "0.4"]


def test_two_phase_blocking_sweep_shows_throughput_aborted_and_blocked_time() -> None:
    from sim.report.charts import sweep_lines

    cfg = sim.load_config(ROOT / "experiments" / "two_phase_blocking.yaml")
    summary = pd.read_csv(ROOT / "tests" / "reference" / "two_phase_blocking.summary.csv")
    fig = sweep_lines(summary, config=cfg)
    assert [ax.get_ylabel() for ax in fig.axes] == [
        "throughput (events/s)",
        "aborted (events)",
        "blocked time (participant-s)",
    ]
    assert "down time (faults.0.restart_after), s" in fig.axes[-1].get_xlabel()
    (line,) = fig.axes[1].get_lines()
    assert list(line.get_xdata()) == [0.5, 1, 2, 4, 8]
    assert line.get_ydata()[-1] > line.get_ydata()[0]  # more aborted the longer it is down


def test_duplicates_count_committed_events_only_as_the_summary_does() -> None:
    """Publish-then-commit applies rolled-back events (phantoms), some of them twice: those
    repeated effects are phantoms, not duplicates, in the frame as in the summary."""
    cfg = {
        **TINY,
        "replications": 1,
        "duration": 5,
        "strategies": ["publish-then-commit"],
        "workload": {"rate": 100, "abort_probability": 0.3},
        "faults": [{"kind": "drop", "link": "broker-0->producer-0", "probability": 0.3}],
    }
    res = sim.run(cfg, workers=1, progress=False)
    msgs = res.messages
    repeated_phantoms = msgs[~msgs["committed"] & msgs["duplicate_cause"].notna()]
    assert len(repeated_phantoms) > 0  # the case this is about
    assert len(res.duplicates) == int(res.summary["duplicates"].sum()) > 0
    assert set(res.duplicates["id"]) <= set(msgs.loc[msgs["committed"], "id"])


def test_a_run_with_no_event_still_writes_its_messages_frame(tmp_path) -> None:
    """``workload.rate: 0`` at trace ``messages``: no rows, but the frame and its columns, so
    the README's queries work on it (an empty answer, not a KeyError)."""
    cfg = {**TINY, "replications": 1, "trace": "messages", "workload": {"rate": 0}, "faults": []}
    res = sim.run(cfg, workers=1, progress=False, out=tmp_path / "out", charts=False)
    back = sim.load_results(tmp_path / "out")
    assert list(back.messages.columns) == list(res.messages.columns) and len(back.messages) == 0
    assert back.messages.query("fate == 'lost'").empty


def test_per_day_uses_each_cells_rate_and_keeps_groups_apart() -> None:
    from sim.report.findings import per_day

    cfg = sim.ExperimentConfig.model_validate(
        {"name": "d", "workload": {"rate": 40}, "sweep": {"workload.rate": [20, 40]}}
    )
    rows = []
    for cell, rate in ((0, 20.0), (1, 40.0)):
        for group, dups in (("billing", 10), ("search", 30)):
            rows.append(
                {"cell": cell, "workload.rate": rate, "strategy": "at-least-once",
                 "group": group, "intended": 100, "lost": 0, "duplicates": dups}
            )
    frame, note = per_day(pd.DataFrame(rows), cfg)
    by = frame.set_index(["cell", "group"])["duplicates a day"]
    assert by[(0, "billing")] == pytest.approx(20 * 86_400 * 0.10)  # cell 0 runs at 20/s
    assert by[(1, "search")] == pytest.approx(40 * 86_400 * 0.30)
    assert note.startswith("At each cell's configured rate")
    one, note = per_day(pd.DataFrame(rows[:2]).drop(columns="workload.rate"), cfg)
    assert note.startswith("At the configured 40 events/s per producer x 1 producer(s)")
