"""Exactly-once as Kafka does it: where it holds, and where it honestly breaks."""

from __future__ import annotations

import pandas as pd
import pytest


def test_drops_and_network_duplication_duplicate_at_least_once_but_not_exactly_once(run) -> None:
    faults = [
        {"kind": "drop", "link": "producer-0->broker-0", "probability": 0.2},
        {"kind": "drop", "link": "broker-0->producer-0", "probability": 0.2},
        {"kind": "duplicate", "link": "*->*", "probability": 0.05},
    ]
    rows, _ = run(["at-least-once", "exactly-once"], faults)
    assert rows["at-least-once"]["duplicates"] > 100
    eos = rows["exactly-once"]
    assert eos["duplicates"] == 0 and eos["lost"] == 0 and eos["pending"] == 0
    assert eos["processed"] == eos["committed"] > 1500
    assert eos["deduplicated"] > 0  # the broker recognised resent batches
    assert eos["order_violations"] == 0  # sequences keep per-partition order through retries


def test_consumer_crash_redelivers_without_duplicate_effects(run) -> None:
    rows, _ = run(
        ["at-least-once", "exactly-once"],
        [{"kind": "crash", "node": "consumer-*", "at": 10, "restart_after": 2}],
    )
    assert rows["at-least-once"]["duplicates"] > 0
    eos = rows["exactly-once"]
    assert eos["duplicates"] == 0 and eos["lost"] == 0 and eos["pending"] == 0


def test_lost_sink_acks_do_not_apply_twice(run) -> None:
    rows, _ = run(
        ["at-least-once", "exactly-once"],
        [{"kind": "drop", "link": "sink->consumer-*", "probability": 0.05}],
    )
    assert rows["at-least-once"]["duplicates"] > 0
    assert rows["exactly-once"]["duplicates"] == 0 and rows["exactly-once"]["lost"] == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_broker_crashes_duplicate_only_when_dedupe_state_is_not_durable(run, seed: int) -> None:
    faults = [
        {"kind": "drop", "link": "broker-0->producer-0", "probability": 0.3},
        {
            "kind": "random",
            "nodes": "broker-*",
            "kinds": ["crash"],
            "rate": 0.3,
            "mean_duration": 0.5,
            "at": 0,
            "duration": 20,
        },
    ]
    durable, _ = run(["exactly-once"], faults, seed=seed, broker={"dedupe_durable": True})
    assert durable["exactly-once"]["duplicates"] == 0 and durable["exactly-once"]["lost"] == 0
    volatile, msgs = run(["exactly-once"], faults, seed=seed, broker={"dedupe_durable": False})
    assert volatile["exactly-once"]["duplicates"] > 0
    causes = msgs["duplicate_cause"].dropna().str.split("; ").explode()
    assert causes.str.startswith("crash:broker-0 lost the dedupe state").all()


def test_a_short_dedupe_window_forgets_and_duplicates_slow_resends(run) -> None:
    faults = [{"kind": "drop", "link": "broker-0->producer-0", "probability": 0.3}]
    rows, msgs = run(
        ["exactly-once"], faults, broker={"dedupe_window": 0.05}, producer={"request_timeout": 0.2}
    )
    assert rows["exactly-once"]["duplicates"] > 0
    assert msgs["duplicate_cause"].dropna().str.contains("dedupe-window").all()


def test_producer_crash_loses_what_never_reached_the_broker_and_fences_stale_requests(run) -> None:
    faults = [
        {"kind": "crash", "node": "producer-0", "at": 10, "restart_after": 1},
        # requests sent just before the crash are held in the network past the restart
        {"kind": "delay", "link": "producer-0->broker-0", "extra": 2, "at": 9.5, "duration": 0.5},
    ]
    rows, msgs = run(["at-least-once", "exactly-once"], faults)
    eos, alo = rows["exactly-once"], rows["at-least-once"]
    assert eos["fenced"] > 0 and alo["fenced"] == 0  # the stale epoch's writes are refused
    assert eos["duplicates"] == 0
    lost = msgs[(msgs["strategy"] == "exactly-once") & (msgs["fate"] == "lost")]
    assert len(lost) == eos["lost"] > 0
    assert lost["loss_cause"].str.startswith("crash:producer-0").all()
    assert (lost["loss_cause"] == "crash:producer-0 (its old request fenced by broker-0)").any()
    assert set(lost["producer_outcome"]) == {"unknown"}  # the application never learnt


def test_a_duplicate_that_reaches_the_log_is_applied_twice_as_in_kafka(run) -> None:
    # When the broker forgets a producer's sequences, a resend is appended a second time; the
    # transactional consumer keeps offsets, not event ids, so it applies both copies.
    faults = [
        {"kind": "drop", "link": "broker-0->producer-0", "probability": 0.3},
        {"kind": "crash", "node": "broker-0", "at": 5, "restart_after": 0.5},
        {"kind": "crash", "node": "broker-0", "at": 12, "restart_after": 0.5},
    ]
    rows, msgs = run(["exactly-once"], faults, broker={"dedupe_durable": False})
    dup = msgs[msgs["effects"] > 1]
    assert (dup["effects"] - 1).sum() == rows["exactly-once"]["duplicates"] > 0
    assert (dup["deliveries"] >= 2).all()  # two copies in the log, each delivered once


def test_idempotent_producer_batches_under_load(run) -> None:
    drops = [{"kind": "drop", "link": "producer-0->broker-0", "probability": 0.3}]
    # Behind a dropped request (5 s to time out) a partition's later batches wait; at 30% drops
    # a run of three or four drops in one partition happens, so the drain is long.
    res = run(["exactly-once"], drops, trace="full", duration=5, drain=90).res
    ev = res.events
    sends = ev[(ev["op"] == "send") & (ev["detail"] == "produce")]
    per_request = sends.groupby("num").size()
    assert per_request.max() > 1  # what queued behind a stalled request goes in one batch
    assert per_request.max() <= 100  # producer.max_batch
    assert res.summary.iloc[0]["lost"] == 0 and res.summary.iloc[0]["duplicates"] == 0
    pd.testing.assert_series_equal(
        res.messages["effects"].value_counts(),
        pd.Series({1: len(res.messages)}, name="count"),
        check_names=False,
        check_index_type=False,
    )
