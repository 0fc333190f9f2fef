"""Strategies of your own: composed in the config, two more presets, transient failures, and
promise verdicts in the summary (``--check``)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

ALO = "at-least-once"
CONSUMER_CRASH = {
    "kind": "crash",
    "node": "consumer-0",
    "on": "after-process-before-commit",
    "occurrence": 100,
    "restart_after": 2,
}
ACK_LOSS = {"kind": "drop", "link": "broker-0->producer-0", "probability": 0.2}
SHORT: dict[str, Any] = {"duration": 10, "drain": 20}


def _comparable(rows: dict[str, Any], name: str) -> pd.Series:
    row = pd.Series(rows[name]).drop(["strategy", "wall_seconds"])
    return row


def test_a_mapping_like_a_preset_gives_the_presets_results(run) -> None:
    rows, _ = run([ALO, {"name": "mine", "like": ALO}], **SHORT, faults=[CONSUMER_CRASH, ACK_LOSS])
    pd.testing.assert_series_equal(
        _comparable(rows, ALO), _comparable(rows, "mine"), check_names=False
    )
    assert rows["mine"]["duplicates"] > 0


def test_an_idempotent_consumer_absorbs_redeliveries_within_its_retention(run) -> None:
    short = {"name": "short", "like": "at-least-once-idempotent"}
    short["consumer"] = {"dedupe_retention": 0.5}
    rows, msgs = run([ALO, "at-least-once-idempotent", short], **SHORT, faults=[CONSUMER_CRASH])
    assert rows[ALO]["duplicates"] > 50
    assert rows["at-least-once-idempotent"]["duplicates"] == 0  # 1 h retention, 2 s redelivery
    assert 0 < rows["short"]["duplicates"] <= rows[ALO]["duplicates"]
    causes = msgs[msgs["strategy"] == "short"]["duplicate_cause"].dropna()
    assert all(c.startswith("dedupe-retention:sink (0.5 s)") for c in causes)


def test_the_idempotent_producer_removes_producer_side_duplicates_only(run) -> None:
    rows, _ = run([ALO, "idempotent-producer"], **SHORT, faults=[{**ACK_LOSS}])
    assert rows[ALO]["duplicates"] > 50 and rows["idempotent-producer"]["duplicates"] == 0
    rows, _ = run([ALO, "idempotent-producer"], **SHORT, faults=[CONSUMER_CRASH])
    assert rows["idempotent-producer"]["duplicates"] == rows[ALO]["duplicates"] > 0


def test_transient_failures_dead_letter_f_to_the_m(run) -> None:
    f, m = 0.5, 3
    rows, msgs = run(
        [ALO],
        duration=20,
        workload={"rate": 100, "failure_probability": f},
        broker={"max_receives": m},
    )
    row = rows[ALO]
    n = row["committed"]
    p = f**m
    assert abs(row["dead_lettered"] / n - p) < 4 * math.sqrt(p * (1 - p) / n)
    assert row["lost"] == 0 and row["pending"] == 0
    failed = msgs[msgs["fate"] == "dead_lettered"]["loss_cause"]
    assert len(failed) and set(failed) == {"dead-letter:broker-0 (failed 3 times)"}


def test_the_summary_says_which_promise_held_and_check_exits_3(
    cli, write_config, small_config, tmp_path
) -> None:
    data = small_config()
    data["strategies"] = [
        ALO,
        "exactly-once",
        {"name": "liar", "like": ALO, "promises": ["no-loss", "no-duplicates"]},
    ]
    data["faults"] = [{**ACK_LOSS, "at": 0, "duration": 6}]
    path = write_config(tmp_path / "c.yaml", data)
    proc = cli(
        "run",
        path,
        "--out",
        tmp_path / "out",
        "--no-progress",
        "--no-charts",
        "--check",
        "--workers",
        "1",
    )
    assert proc.returncode == 3, proc.stderr
    assert "promise broken: liar" in proc.stderr and "drop:broker-0->producer-0" in proc.stderr
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    by = summary.groupby("strategy").first()
    assert by.loc["liar", "promise_no_duplicates"] == "broken"
    assert by.loc["exactly-once", "promise_no_duplicates"] == "kept"
    assert by.loc[ALO, "promise_no_loss"] == "kept"
    assert by.loc[ALO, "promise_no_duplicates"] == "not promised"
    data["strategies"] = [ALO, "exactly-once", "at-least-once-idempotent"]
    path = write_config(tmp_path / "ok.yaml", data)
    proc = cli(
        "run",
        path,
        "--out",
        tmp_path / "ok",
        "--no-progress",
        "--no-charts",
        "--check",
        "--workers",
        "1",
    )
    assert proc.returncode == 0, proc.stderr


def test_a_bad_composed_strategy_is_one_clear_sentence(cli, write_config, small_config, tmp_path):
    data = small_config()
    data["strategies"] = [{"name": "x", "like": "at-least-onse"}]
    proc = cli("validate", write_config(tmp_path / "bad.yaml", data))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "did you mean 'at-least-once'" in proc.stderr
    data["strategies"] = [{"name": "y", "consumer": {"commit": "after-process"}}]
    proc = cli("validate", write_config(tmp_path / "bad2.yaml", data))
    assert proc.returncode == 2 and "producer.publisher" in proc.stderr
    data["strategies"] = [{"name": "exactly-once", "like": "at-most-once"}]  # a preset's name
    proc = cli("validate", write_config(tmp_path / "bad3.yaml", data))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "strategies.0.name" in proc.stderr and "'my-exactly-once'" in proc.stderr


def test_a_promise_is_excused_only_by_a_fault_that_fired(run) -> None:
    """A producer crash armed on a step only the outbox's producer reaches, and another one
    timed after the run, leave at-least-once's producer up: its no-loss applies (and holds).
    A crash that fires excuses it, and the run says which condition failed."""
    unreached = {"kind": "crash", "node": "producer-0", "on": "after-commit-before-publish"}
    too_late = {"kind": "crash", "node": "producer-0", "at": 1000, "restart_after": 1}
    with pytest.warns(Warning, match="it never fires"):
        rows, _ = run([ALO, "outbox"], **SHORT, faults=[unreached, too_late, ACK_LOSS])
    assert rows[ALO]["promise_no_loss"] == "kept", rows[ALO]["promises_not_applicable"]
    assert rows[ALO]["promises_not_applicable"] == "none"
    assert rows["outbox"]["refused"] > 0  # the outbox's producer did crash on that step
    assert rows["outbox"]["promises_not_applicable"] == "none"  # outbox promises it anyway
    fired = {"kind": "crash", "node": "producer-0", "at": 5, "restart_after": 1}
    rows, _ = run([ALO], **SHORT, faults=[fired, ACK_LOSS])
    assert rows[ALO]["promise_no_loss"] == "not applicable"
    assert rows[ALO]["promises_not_applicable"] == "no-loss: producers-stay-up"


def test_no_loss_is_undecided_while_events_are_still_pending(run) -> None:
    # Every consumer crashes for good at 5 s: nothing is lost (the log keeps the records), but
    # what was not consumed is still pending when the run ends, so no-loss cannot be kept.
    down = [{"kind": "crash", "node": f"consumer-{i}", "at": 5} for i in range(2)]
    rows, _ = run([ALO], **SHORT, faults=down)
    row = rows[ALO]
    assert row["lost"] == 0 and row["pending"] > 0
    assert row["promise_no_loss"] == "undecided"
    assert row["promises_not_applicable"] == f"no-loss: pending = {row['pending']:g}"
    assert row["promises_broken"] == "none"
