"""Queue mode (SQS-like), poison events and dead letters, TTL, and bounded partitions."""

from __future__ import annotations

import math


def test_queue_mode_dead_letters_poison_after_max_receives_and_holds_nothing_back(run) -> None:
    rows, msgs = run(
        ["at-least-once"],
        duration=60,
        broker={"mode": "queue", "max_receives": 4, "visibility_timeout": 5},
        workload={"rate": 100, "poison_probability": 0.02},
    )
    row = rows["at-least-once"]
    n = row["committed"]
    assert abs(row["dead_lettered"] / n - 0.02) < 4 * math.sqrt(0.02 * 0.98 / n)
    dl = msgs[msgs["fate"] == "dead_lettered"]
    assert (dl["deliveries"] == 4).all()  # each received exactly max_receives times
    assert row["lost"] == 0 and row["pending"] == 0 and row["duplicates"] == 0
    assert row["latency_p50"] < 0.1 * 5  # the others are not held back behind the poison
    assert set(dl["loss_cause"].str.split(" ").str[0]) == {"dead-letter:broker-0"}


def test_queue_mode_at_most_once_loses_poison_and_redelivers_nothing(run) -> None:
    rows, msgs = run(
        ["at-most-once"],
        broker={"mode": "queue"},
        workload={"rate": 100, "poison_probability": 0.05},
    )
    row = rows["at-most-once"]
    lost = msgs[msgs["fate"] == "lost"]
    assert len(lost) == row["lost"] > 0
    assert lost["loss_cause"].str.startswith("poison:consumer-").all()
    assert row["redeliveries"] == 0 and row["dead_lettered"] == 0


def test_queue_mode_redelivers_after_the_visibility_timeout_when_a_consumer_crashes(run) -> None:
    rows, msgs = run(
        ["at-least-once"],
        broker={"mode": "queue", "visibility_timeout": 1},
        workload={"rate": 100, "process_time": {"dist": "exponential", "mean": 0.005}},
        faults=[
            {
                "kind": "crash",
                "node": "consumer-0",
                "on": "after-process-before-commit",
                "occurrence": 100,
                "restart_after": 0.5,
            }
        ],
    )
    row = rows["at-least-once"]
    assert row["lost"] == 0 and row["pending"] == 0
    # the message it had processed but not deleted came back after the visibility timeout
    assert row["redeliveries"] >= 1 and row["duplicates"] >= 1
    dup = msgs[msgs["duplicate_cause"].notna()]
    assert set(dup["duplicate_cause"]) == {"redelivery after crash:consumer-0"}
    assert (dup["latency"] < 0.5).all() and (dup["deliveries"] == 2).all()


def test_log_mode_poison_goes_to_the_dead_letter_topic_or_blocks(run) -> None:
    rows, msgs = run(
        ["at-most-once", "at-least-once", "exactly-once"],
        broker={"max_receives": 4},
        workload={"rate": 100, "poison_probability": 0.02},
    )
    for s in ("at-least-once", "exactly-once"):
        assert rows[s]["dead_lettered"] > 0 and rows[s]["lost"] == 0 and rows[s]["pending"] == 0
    amo = msgs[(msgs["strategy"] == "at-most-once") & (msgs["fate"] == "lost")]
    assert len(amo) > 0 and amo["loss_cause"].str.startswith("poison:").all()
    # without max_receives a poison event blocks its partition: everything behind it waits
    blocked, bmsgs = run(  # (shorter: the consumer retries the poison event without end)
        ["at-least-once"],
        broker={"max_receives": None},
        workload={"rate": 100, "poison_probability": 0.02},
        duration=10,
        drain=2,
    )
    assert (
        blocked["at-least-once"]["pending"] > 100 and blocked["at-least-once"]["dead_lettered"] == 0
    )


def test_ttl_expires_what_waited_too_long_for_the_only_consumer(run) -> None:
    rows, msgs = run(
        ["at-least-once", "exactly-once"],
        broker={"ttl": 2},
        topology={"consumers": 1},
        faults=[{"kind": "crash", "node": "consumer-0", "at": 5, "restart_after": 6}],
    )
    for s, row in rows.items():
        m = msgs[msgs["strategy"] == s]
        expired = m[m["fate"] == "expired"]
        assert len(expired) == row["expired"] > 300
        assert (expired["effects"] == 0).all()
        # created while nobody consumed: the restarted consumer is a new member, and its
        # partitions are granted only once the old member's 10 s session has expired
        assert expired["created_at"].between(5 - 2.5, 11 + 10).all()
        processed = m[m["fate"] == "processed"]
        assert (
            processed["latency"].max() <= 2.0 + 0.5
        )  # nothing older than the TTL (+ processing) was applied
        assert (
            row["committed"]
            == row["processed"]
            + row["lost"]
            + row["pending"]
            + row["dead_lettered"]
            + row["expired"]
        )


SLOW = {
    "rate": 100,
    "process_time": {"dist": "exponential", "mean": 0.02},
}  # the consumer manages 50/s


def test_block_pushes_back_on_the_producer_and_loses_nothing_while_it_is_up(run) -> None:
    rows, _ = run(
        ["at-most-once", "at-least-once"],
        workload=SLOW,
        topology={"partitions": 1, "consumers": 1},
        broker={"capacity": 50, "overflow": "block"},
        drain=60,
    )
    for row in rows.values():
        assert row["lost"] == 0 and row["pending"] == 0
        assert row["latency_p99"] > 5  # events waited in the producer's memory


def test_block_holds_requests_at_the_broker_so_a_producer_crash_loses_nothing_it_sent(run) -> None:
    rows, msgs = run(
        ["at-most-once", "at-least-once"],
        workload=SLOW,
        topology={"partitions": 1, "consumers": 1},
        broker={"capacity": 50, "overflow": "block"},
        drain=60,
        faults=[{"kind": "crash", "node": "producer-0", "at": 15, "restart_after": 1}],
    )
    for row in rows.values():
        assert row["lost"] == 0 and row["pending"] == 0
        assert row["refused"] > 50  # arrivals while the service was down
    refused = msgs[msgs["fate"] == "refused"]
    assert set(refused["loss_cause"]) == {"crash:producer-0"}
    assert rows["at-most-once"]["duplicates"] == 0  # it never resends, blocked or not


def test_a_blocked_send_waits_in_order_and_at_most_once_never_resends(run) -> None:
    rows, _ = run(
        ["at-most-once", "at-least-once"],
        workload={"rate": 60, "keys": 1, "process_time": {"dist": "constant", "value": 0.01}},
        topology={"partitions": 1, "consumers": 1},
        broker={"capacity": 1, "overflow": "block"},
        drain=30,
    )
    for row in rows.values():
        assert row["order_violations"] == 0 and row["lost"] == 0 and row["pending"] == 0
    assert rows["at-most-once"]["duplicates"] == 0


def test_reject_loses_under_at_most_once_with_the_overflow_as_cause(run) -> None:
    rows, msgs = run(
        ["at-most-once", "at-least-once"],
        workload=SLOW,
        topology={"partitions": 1, "consumers": 1},
        broker={"capacity": 50, "overflow": "reject"},
        drain=60,
    )
    amo = msgs[(msgs["strategy"] == "at-most-once") & (msgs["fate"] == "lost")]
    assert len(amo) > 100 and set(amo["loss_cause"]) == {"overflow:broker-0/p0"}
    assert rows["at-least-once"]["lost"] == 0  # it retries until there is room


def test_drop_oldest_discards_the_head(run) -> None:
    rows, msgs = run(
        ["at-least-once"],
        workload=SLOW,
        topology={"partitions": 1, "consumers": 1},
        broker={"capacity": 50, "overflow": "drop-oldest"},
    )
    lost = msgs[msgs["fate"] == "lost"]
    assert len(lost) > 100 and set(lost["loss_cause"]) == {"overflow:broker-0/p0 (drop-oldest)"}
