"""Database-coupled publishing: the dual writes fail the way they should; outbox and 2PC don't."""

from __future__ import annotations

import math

import pytest

DB = ["commit-then-publish", "publish-then-commit", "outbox", "two-phase-commit"]


def test_crash_after_commit_before_publish_loses_only_with_commit_then_publish(run) -> None:
    rows, msgs = run(
        DB,
        faults=[
            {
                "kind": "crash",
                "node": "producer-0",
                "on": "after-commit-before-publish",
                "occurrence": 100,
                "restart_after": 1,
            }
        ],
    )
    ctp = msgs[(msgs["strategy"] == "commit-then-publish") & (msgs["fate"] == "lost")]
    assert len(ctp) == 1 and ctp["loss_cause"].iloc[0] == "crash:producer-0"
    assert bool(ctp["committed"].iloc[0])  # the business transaction committed: its event is gone
    for s in ("outbox", "two-phase-commit"):
        assert rows[s]["lost"] == 0 and rows[s]["duplicates"] == 0 and rows[s]["pending"] == 0


def test_publish_then_commit_makes_phantoms_of_aborted_transactions(run) -> None:
    rows, msgs = run(DB, duration=40, workload={"rate": 100, "abort_probability": 0.1})
    ptc = rows["publish-then-commit"]
    n = ptc["intended"]
    assert abs(ptc["phantoms"] / n - 0.1) < 4 * math.sqrt(0.1 * 0.9 / n)
    phantoms = msgs[
        (msgs["strategy"] == "publish-then-commit") & (msgs["effects"] > 0) & ~msgs["committed"]
    ]
    assert len(phantoms) == ptc["phantoms"] and set(phantoms["fate"]) == {"aborted"}
    for s in ("outbox", "two-phase-commit", "commit-then-publish"):
        assert rows[s]["phantoms"] == 0
        assert rows[s]["aborted"] == ptc["aborted"]  # the same transactions abort in every strategy
        assert rows[s]["processed"] == rows[s]["committed"]


def test_crash_between_publish_and_commit_is_a_phantom_too(run) -> None:
    rows, msgs = run(
        ["publish-then-commit"],
        faults=[
            {
                "kind": "crash",
                "node": "producer-0",
                "on": "before-commit-after-publish",
                "occurrence": 100,
                "restart_after": 1,
            }
        ],
    )
    assert rows["publish-then-commit"]["phantoms"] == 1
    assert rows["publish-then-commit"]["lost"] == 0
    (phantom,) = msgs[(msgs["effects"] > 0) & ~msgs["committed"]].itertuples()
    # The crash rolled its open transaction back, and says so; the application, whose
    # process died before the commit, was told nothing (the acknowledgement is not the commit).
    assert phantom.loss_cause == "abort:open at the crash of producer-0"
    assert phantom.producer_outcome == "unknown"
    committed = msgs[msgs["committed"]]
    assert set(committed["producer_outcome"]) == {"ok"}


@pytest.mark.parametrize("down", [2.0, 8.0])
def test_coordinator_crash_after_prepare_blocks_participants_for_the_downtime(
    run, down: float
) -> None:
    rows, _ = run(
        ["two-phase-commit"],
        workload={"arrivals": [1.0]},
        faults=[
            {"kind": "crash", "node": "coordinator", "on": "after-prepare", "restart_after": down}
        ],
    )
    row = rows["two-phase-commit"]
    # both participants (the producer's database and the broker) voted yes and wait, in doubt,
    # until the coordinator is back and presumes abort: 2 participants x the downtime
    assert row["blocked_time"] == pytest.approx(2 * down, rel=0.15)
    assert row["in_doubt"] == 0 and row["lost"] == 0 and row["duplicates"] == 0
    assert row["aborted"] == 1


def test_blocked_time_grows_with_the_coordinator_downtime_under_load(run) -> None:
    blocked = {}
    for down in (2.0, 8.0):
        rows, _ = run(
            ["two-phase-commit"],
            faults=[
                {
                    "kind": "crash",
                    "node": "coordinator",
                    "on": "after-prepare",
                    "occurrence": 500,
                    "restart_after": down,
                }
            ],
        )
        row = rows["two-phase-commit"]
        assert (
            row["in_doubt"] == 0
            and row["lost"] == 0
            and row["duplicates"] == 0
            and row["pending"] == 0
        )
        blocked[down] = row["blocked_time"]
    baseline, _ = run(["two-phase-commit"])
    extra = {d: b - baseline["two-phase-commit"]["blocked_time"] for d, b in blocked.items()}
    assert extra[8.0] > extra[2.0] > 0


def test_a_participant_that_never_saw_prepare_aborts_after_the_timeout(run) -> None:
    rows, msgs = run(
        ["two-phase-commit"],
        workload={"arrivals": [1.0, 2.0, 3.0]},
        # the coordinator runs in producer-0's service, so no link fault separates them: it
        # is paused instead, past the second transaction's prepare timeout (2.0 + 1.0 s)
        faults=[{"kind": "pause", "node": "coordinator", "at": 1.5, "duration": 1.6}],
    )
    row = rows["two-phase-commit"]
    assert row["aborted"] == 1 and row["processed"] == 2 and row["in_doubt"] == 0
    assert row["aborted_by_faults"] == 1
    assert list(msgs.sort_values("created_at")["fate"]) == ["processed", "aborted", "processed"]


def test_relay_crash_after_publish_before_mark_republishes_but_applies_once(run) -> None:
    rows, msgs = run(
        ["outbox"],
        faults=[
            {
                "kind": "crash",
                "node": "relay-0",
                "on": "after-publish-before-mark",
                "occurrence": 50,
                "restart_after": 1,
            }
        ],
    )
    row = rows["outbox"]
    assert row["redeliveries"] > 0  # the same event id reached the broker twice
    assert row["duplicates"] == 0 and row["lost"] == 0 and row["pending"] == 0
    assert row["order_violations"] == 0  # per-key order is kept


def test_two_phase_commit_costs_messages_and_latency(run) -> None:
    rows, _ = run(["outbox", "two-phase-commit"], outbox={"relay": "cdc"})
    outbox, tpc = rows["outbox"], rows["two-phase-commit"]
    per_event = {s: r["network_messages"] / r["intended"] for s, r in rows.items()}
    assert (
        per_event["two-phase-commit"] >= per_event["outbox"] + 4
    )  # prepare, vote, decision, ack x 2 participants
    assert tpc["latency_p50"] > outbox["latency_p50"]
    assert tpc["forced_writes"] >= 5 * tpc["committed"]  # 2 per participant + the decision


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_guarantees_under_random_crashes_drops_and_duplication(run, seed: int) -> None:
    strategies = ["at-most-once", "at-least-once", "exactly-once", "outbox", "two-phase-commit"]
    rows, _ = run(
        strategies,
        seed=seed,
        drain=40,
        workload={"rate": 50, "abort_probability": 0.05},
        faults=[
            {
                "kind": "random",
                "nodes": ["consumer-*", "broker-*"],
                "kinds": ["crash"],
                "rate": 0.3,
                "mean_duration": 0.5,
                "at": 0,
                "duration": 20,
            },
            {"kind": "drop", "link": "*->*", "probability": 0.05, "at": 0, "duration": 20},
            {"kind": "duplicate", "link": "*->*", "probability": 0.05, "at": 0, "duration": 20},
        ],
    )
    for s in ("outbox", "two-phase-commit", "exactly-once"):
        assert rows[s]["lost"] == 0 and rows[s]["duplicates"] == 0 and rows[s]["phantoms"] == 0, s
    assert rows["at-least-once"]["lost"] == 0
    assert rows["at-most-once"]["lost"] > 0
    assert all(r["pending"] == 0 and r["in_doubt"] == 0 for r in rows.values())
