"""Regression tests of the behaviours the README's "What is modelled" claims (queue receives,
visibility heartbeats, max.poll.interval, delivery timeout and backoff, static membership,
max_in_flight, fetch limits, blocked requests, co-location, reorder holds). Each test names
the rule, runs a small scenario with the history (``trace: full``) and fails if the rule is
false.

No claim was skipped. One note on co-location: a fault cannot be aimed at a link inside one
service alone (the config names no such link, and a partition between coordinator and
producer-0 "cuts no link"), so "no fault" is checked with loss configured on the link.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from sim.model.consumer.queue import SQS_MAX_MESSAGES


def _events(run: Any, strategy: str, **overrides: Any) -> tuple[dict[str, Any], pd.DataFrame]:
    """One run of ``strategy`` with the full history: its summary row and its operations."""
    out = run([strategy], trace="full", **overrides)
    return out.rows[strategy], out.res.events


def _ops(ev: pd.DataFrame, op: str, node: str | None = None) -> pd.DataFrame:
    rows = ev[ev["op"] == op]
    return rows if node is None else rows[rows["node"] == node]


def _transit(ev: pd.DataFrame) -> pd.DataFrame:
    """Every message sent, one row each (``node`` sender, ``peer`` receiver), with the time it
    took to be delivered (NaN: never delivered)."""
    sent = _ops(ev, "send").drop_duplicates("num").set_index("num")
    delivered = _ops(ev, "deliver").drop_duplicates("num").set_index("num")["time"]
    return sent.assign(delay=delivered.reindex(sent.index) - sent["time"])


def _sizes(ev: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Per message of type ``kind`` sent: the events it carries, by partition (one column
    per partition, one row per message)."""
    part = _ops(ev, "create").set_index("event")["part"]
    sent = _ops(ev, "send")
    sent = sent[(sent["detail"] == kind) & sent["event"].notna()]
    return sent.assign(p=sent["event"].map(part)).groupby(["seq", "p"]).size().unstack(fill_value=0)


# --------------------------------------------------------------------------- queue mode


def test_a_queue_receive_returns_at_most_ten_messages(run) -> None:
    # SQS MaxNumberOfMessages. consumer-0, the only consumer, is paused 0.5-1.5 s at 100
    # events/s: about 100 wait when it resumes. Measured: 12 receive responses of exactly
    # 10 messages, none larger (max_poll_records is 100: the 10 is the queue's own limit).
    assert SQS_MAX_MESSAGES == 10
    _, ev = _events(
        run,
        "at-least-once",
        duration=3,
        drain=5,
        broker={"mode": "queue"},
        topology={"consumers": 1},
        faults=[{"kind": "pause", "node": "consumer-0", "at": 0.5, "duration": 1}],
    )
    per_receive = _sizes(ev, "receive-response").sum(axis=1)
    assert per_receive.max() == 10
    assert (per_receive == 10).sum() >= 5
    # each delivery is recorded by the consumer too: no receive op burst exceeds 10 either
    receives = _ops(ev, "receive").groupby(["node", "time"]).size()
    assert receives.max() == 10


def test_a_visibility_heartbeat_keeps_long_processing_from_being_redelivered(run) -> None:
    # 10 events/s for 4 s, 0.3 s each, two consumers (6.7/s): a backlog builds and a receive
    # of up to 10 takes up to 3 s, longer than the 1 s visibility timeout. Measured: without a
    # heartbeat 11 redeliveries and 11 duplicates; with a heartbeat every 0.4 s none.
    def row(heartbeat: float | None) -> dict[str, Any]:
        rows, _ = run(
            ["at-least-once"],
            duration=4,
            drain=15,
            workload={"rate": 10, "process_time": 0.3},
            broker={
                "mode": "queue",
                "visibility_timeout": 1,
                "visibility_heartbeat": heartbeat,
            },
        )
        r = rows["at-least-once"]
        assert r["processed"] == r["intended"] and r["pending"] == 0
        return r

    without, beating = row(None), row(0.4)
    assert without["redeliveries"] > 0 and without["duplicates"] > 0
    assert beating["redeliveries"] == 0 and beating["duplicates"] == 0


# --------------------------------------------------------------------------- consumer groups


def test_a_member_stalled_past_max_poll_interval_leaves_and_its_partitions_move(run) -> None:
    # KIP-62. One event at 1 s that takes 6 s to process; max_poll_interval 2 s. Measured:
    # consumer-1 leaves at 2.58 s ("max.poll.interval exceeded"), consumer-0 takes p1 and
    # receives the event again at 3.09 s: applied at 7.00 and 9.09 s, a duplicate (and so on,
    # as each new holder stalls in turn).
    # With max_poll_interval null: nobody leaves, one receive, no duplicate.
    def scenario(limit: float | None) -> tuple[dict[str, Any], pd.DataFrame]:
        return _events(
            run,
            "at-least-once",
            duration=2,
            drain=9,
            workload={"arrivals": [1.0], "process_time": 6},
            topology={"partitions": 2, "consumers": 2},
            consumer_group={
                "max_poll_interval": limit,
                "heartbeat_interval": 0.5,
                "session_timeout": 3,
            },
        )

    row, ev = scenario(None)
    assert row["duplicates"] == 0 and len(_ops(ev, "receive")) == 1
    assert _ops(ev, "member-dead").empty
    row, ev = scenario(2.0)
    first = _ops(ev, "receive").iloc[0]
    holder, p = first["node"], first["part"]
    left = _ops(ev, "member-dead")
    left = left[left["peer"] == holder]
    assert len(left), f"{holder} never left the group"
    left = left.iloc[0]
    assert "left the group (max.poll.interval exceeded)" in left["detail"]
    # it left about max_poll_interval after the poll that fetched the event (its heartbeat
    # thread notices within a heartbeat interval), not after its session timeout
    assert 2.0 - 0.5 < left["time"] - first["time"] <= 2.0 + 0.5
    taken = _ops(ev, "assign")
    taken = taken[(taken["node"] != holder) & (taken["time"] > left["time"])]
    assert taken["detail"].str.contains(str(p)).any()
    other = taken["node"].iloc[0]
    again = _ops(ev, "receive", other)
    assert (again["event"] == first["event"]).any() and row["duplicates"] > 0


def test_static_membership_restart_within_session_timeout_causes_no_rebalance(run) -> None:
    # KIP-345. consumer-0 crashes at 3 s and restarts at 4 s; session timeout 3 s. Measured:
    # dynamic members, 2 rebalances after the crash (consumer-0#2 joined at 4.0 s, consumer-0#1
    # timed out at 5.4 s); static members, none: the restarted instance takes its old place.
    def after_crash(static: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
        row, ev = _events(
            run,
            "at-least-once",
            duration=8,
            drain=5,
            workload={"rate": 20},
            topology={"partitions": 2, "consumers": 2},
            consumer_group={
                "static_membership": static,
                "session_timeout": 3,
                "heartbeat_interval": 1,
            },
            faults=[{"kind": "crash", "node": "consumer-0", "at": 3, "restart_after": 1}],
        )
        assert row["pending"] == 0 and row["processed"] == row["intended"]
        late = ev[ev["time"] > 3]
        return _ops(late, "rebalance"), late

    rebalances, _ = after_crash(False)
    assert len(rebalances) >= 2
    assert rebalances["detail"].str.contains("joined").any()
    assert rebalances["detail"].str.contains("timed out").any()
    rebalances, late = after_crash(True)
    assert rebalances.empty and _ops(late, "member-dead").empty
    assert len(_ops(late, "join")) == 1  # it rejoined ...
    assert _ops(late, "revoke", "consumer-1").empty  # ... and consumer-1 kept its partition
    assert len(_ops(late, "assign", "consumer-0")) == 1


# --------------------------------------------------------------------------- producers


def test_a_retrying_producer_backs_off_exponentially_and_gives_up_at_delivery_timeout(
    run,
) -> None:
    # KIP-91. One event at 1 s; every produce request dropped. request_timeout 0.2 s, backoff
    # 0.1 s x2 up to 1 s, delivery_timeout 6 s. Measured: sends at 1.0, 1.3, 1.7, 2.3, 3.3,
    # 4.5, 5.7, 6.9 s (gaps 0.2 s + 0.1, 0.2, 0.4, 0.8, 1, 1, 1) and it gives up at 7.0 s.
    backoff = {"initial": 0.1, "multiplier": 2, "max": 1}
    out = run(
        ["at-least-once"],
        trace="full",
        duration=2,
        drain=10,
        workload={"arrivals": [1.0]},
        topology={"partitions": 1, "consumers": 1},
        producer={"delivery_timeout": 6, "request_timeout": 0.2, "backoff": backoff},
        faults=[{"kind": "drop", "link": "producer-0->broker-0", "probability": 1.0}],
    )
    ev = out.res.events
    sends = _ops(ev, "send", "producer-0")
    sends = sends[sends["detail"] == "produce"]["time"].to_numpy()
    waits = [round(b - a - 0.2, 6) for a, b in zip(sends, sends[1:], strict=False)]
    assert waits == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]
    gave_up = _ops(ev, "release", "producer-0")
    gave_up = gave_up[gave_up["detail"] == "gave-up"]["time"]
    assert len(gave_up) == 1
    # it gives up when the next resend would pass the deadline: within a backoff of it
    assert 6 - 1 <= gave_up.iloc[0] - 1.0 <= 6 + 1e-9
    assert sends[-1] < gave_up.iloc[0]
    msg = out.messages.iloc[0]
    assert (msg["fate"], msg["loss_cause"]) == ("lost", "drop:producer-0->broker-0")
    assert msg["producer_outcome"] == "fail"
    told = _ops(ev, "outcome", "producer-0")
    assert list(told["detail"]) == ["fail"] and told["time"].iloc[0] == gave_up.iloc[0]


def test_an_idempotent_producer_has_at_most_max_in_flight_requests_per_partition(run) -> None:
    # max_in_flight 2, 100 events/s over 2 partitions, producer-0->broker-0 slow (0.05 s
    # mean): requests queue behind the window. Measured: at most 2 produce requests unanswered
    # per partition, and 2 is reached in both (every event still processed once).
    row, ev = _events(
        run,
        "exactly-once",
        duration=3,
        drain=5,
        workload={"rate": 100},
        producer={"max_in_flight": 2},
        topology={
            "partitions": 2,
            "consumers": 1,
            "network": {
                "links": {
                    "producer-0->broker-0": {"latency": {"dist": "exponential", "mean": 0.05}}
                }
            },
        },
    )
    assert row["processed"] == row["intended"] and row["duplicates"] == 0
    part = _ops(ev, "create").set_index("event")["part"]
    sends = _ops(ev, "send", "producer-0")
    acks = _ops(ev, "deliver", "producer-0")
    steps = pd.concat([sends[sends["detail"] == "produce"], acks[acks["detail"] == "produce-ack"]])
    open_requests: dict[int, set[frozenset[str]]] = {}
    peak: dict[int, int] = {}
    for (_, op), rows in steps.groupby(["seq", "op"]):  # in history order
        p = int(part[rows["event"].iloc[0]])
        batch, now = frozenset(rows["event"]), open_requests.setdefault(p, set())
        if op == "send":
            now.add(batch)  # (a resend of an open request is the same request)
            peak[p] = max(peak.get(p, 0), len(now))
        else:
            now.discard(batch)
    assert peak == {0: 2, 1: 2}


# --------------------------------------------------------------------------- brokers


def test_a_fetch_returns_at_most_max_partition_records_each_and_max_poll_records_in_all(
    run,
) -> None:
    # KIP-74. max_partition_records 3, max_poll_records 5; one consumer of 4 partitions paused
    # 1-2 s at 100 events/s (a backlog of about 100). Measured: 22 fetches of exactly 5
    # records, 27 with 3 of one partition, none over either limit.
    _, ev = _events(
        run,
        "at-least-once",
        duration=3,
        drain=5,
        broker={"max_partition_records": 3, "max_poll_records": 5},
        topology={"partitions": 4, "consumers": 1},
        faults=[{"kind": "pause", "node": "consumer-0", "at": 1, "duration": 1}],
    )
    sizes = _sizes(ev, "fetch-response")
    assert sizes.to_numpy().max() == 3
    assert sizes.sum(axis=1).max() == 5
    assert (sizes.sum(axis=1) == 5).sum() >= 10


def test_requests_held_by_a_full_partition_are_lost_when_the_broker_crashes(run) -> None:
    # overflow: block, capacity 5, one partition; its only consumer paused 1-4 s at 10
    # events/s, so requests are held from 1.35 s; broker-0 crashes at 2.5 s for 0.5 s.
    # Measured: the 18 at-most-once events held before the crash are lost with cause
    # crash:broker-0 (never appended); without the crash all 52 are processed.
    def scenario(crash: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
        faults = [{"kind": "pause", "node": "consumer-0", "at": 1, "duration": 3}]
        if crash:
            faults.append({"kind": "crash", "node": "broker-0", "at": 2.5, "restart_after": 0.5})
        out = run(
            ["at-most-once"],
            trace="full",
            duration=4,
            drain=6,
            workload={"rate": 10},
            broker={"capacity": 5, "overflow": "block"},
            topology={"partitions": 1, "consumers": 1},
            faults=faults,
        )
        return out.messages.set_index("id"), out.res.events

    msgs, ev = scenario(True)
    held = _ops(ev, "hold")
    held = set(held[held["time"] < 2.5]["event"])
    assert len(held) >= 5
    assert not held & set(_ops(ev, "append")["event"])
    assert set(msgs.loc[sorted(held), "fate"]) == {"lost"}
    assert set(msgs.loc[sorted(held), "loss_cause"]) == {"crash:broker-0"}
    msgs, ev = scenario(False)
    assert set(msgs.loc[sorted(held), "fate"]) == {"processed"}  # held, then let in


# --------------------------------------------------------------------------- network


def test_links_inside_one_service_have_no_latency_and_no_loss(run) -> None:
    # The 2PC coordinator runs in producer-0's service. Latency 0.05 s everywhere; links
    # named *->producer-0 and producer-0->* get latency 1 s, loss 1 and duplication 1, which
    # reaches coordinator<->producer-0 by name. Measured: those 414 messages all arrive at
    # once, none lost or copied; every other message takes 0.05 s; all 69 events processed.
    hostile = {"latency": 1.0, "loss": 1.0, "duplicate": 1.0}
    row, ev = _events(
        run,
        "two-phase-commit",
        duration=3,
        drain=5,
        workload={"rate": 20},
        topology={
            "partitions": 1,
            "consumers": 1,
            "network": {
                "latency": 0.05,
                "links": {"*->producer-0": hostile, "producer-0->*": hostile},
            },
        },
    )
    assert row["processed"] == row["intended"] > 0
    moved = _transit(ev)
    pair = moved["node"] + "->" + moved["peer"]
    local = pair.isin(["coordinator->producer-0", "producer-0->coordinator"])
    assert local.sum() > 100
    assert (moved.loc[local, "delay"] == 0).all()  # delivered at once, none lost
    assert (moved.loc[~local, "delay"].round(9) == 0.05).all()
    assert ev[ev["op"].isin(["drop", "dup"])].empty


def test_a_reordered_message_is_held_back_for_reorder_hold_or_the_faults_extra(run) -> None:
    # Latency 0.01 s; producer-0->broker-0 reorders 30% with reorder_hold 0.2 s, and a
    # reorder fault from 1 to 2 s (probability 0.3, extra 0.5 s). Measured: produce requests
    # take 0.01 s (90), or 0.21 s when reordered (35; 0.51 s during the fault, 14) and are
    # overtaken: 25 order violations at the consumer.
    fault = {"kind": "reorder", "link": "producer-0->broker-0", "probability": 0.3}
    row, ev = _events(
        run,
        "at-most-once",
        duration=3,
        drain=3,
        workload={"rate": 50},
        topology={
            "partitions": 1,
            "consumers": 1,
            "network": {
                "latency": 0.01,
                "reorder_hold": 0.2,
                "links": {"producer-0->broker-0": {"reorder": 0.3}},
            },
        },
        faults=[{**fault, "at": 1, "duration": 1, "extra": 0.5}],
    )
    moved = _transit(ev)
    produce = moved[moved["detail"] == "produce"]
    delay = produce["delay"].round(9)
    assert (moved.loc[moved["detail"] != "produce", "delay"].round(9) == 0.01).all()
    during = produce["time"].between(1, 2, inclusive="left")
    assert set(delay[~during]) == {0.01, 0.21}
    assert set(delay[during]) == {0.01, 0.51}
    assert (delay[~during] == 0.21).mean() > 0.15
    assert row["order_violations"] > 0
