"""Each fault kind does what the contract says, and the checker names the right cause.

Small runs (20 s of simulated time at 100 events/s); every assertion compares the two
strategies under the same fault schedule or checks a cause read from the history.
"""

from __future__ import annotations

import pandas as pd
import pytest

BASE = {
    "replications": 1,
    "trace": "messages",
    "duration": 20,
    "drain": 20,
    "workload": {"rate": 100},
    "strategies": ["at-most-once", "at-least-once"],
}


@pytest.fixture
def run(run):
    """The shared runner with this module's base; messages as a dict by strategy."""

    def go(faults, **extra):
        out = run(faults=faults, base=BASE, **extra)
        return out.rows, {s: out.of(s) for s in out.rows}

    return go


def causes(msgs: pd.DataFrame) -> dict[str, int]:
    return msgs["loss_cause"].dropna().value_counts().to_dict()


def test_no_faults_no_anomalies(run) -> None:
    rows, _ = run([])
    for row in rows.values():
        assert row["processed"] == row["committed"] == row["intended"] > 1500
        assert row["lost"] == row["duplicates"] == row["pending"] == row["order_violations"] == 0


def test_crash_on_step_after_ack_before_process_loses_under_at_most_once_only(run) -> None:
    rows, msgs = run(
        [
            {
                "kind": "crash",
                "node": "consumer-0",
                "on": "after-ack-before-process",
                "occurrence": 50,
                "restart_after": 1,
            }
        ]
    )
    amo = msgs["at-most-once"]
    assert rows["at-most-once"]["lost"] >= 1
    assert set(causes(amo)) == {"crash:consumer-0 after ack"}
    assert (
        rows["at-least-once"]["lost"] == 0
    )  # the step is never reached: it commits after processing


def test_crash_after_process_before_commit_duplicates_under_at_least_once(run) -> None:
    rows, _ = run(
        [
            {
                "kind": "crash",
                "node": "consumer-1",
                "on": "after-process-before-commit",
                "occurrence": 300,
                "restart_after": 1,
            }
        ]
    )
    alo = rows["at-least-once"]
    assert alo["lost"] == 0 and alo["pending"] == 0
    assert alo["duplicates"] > 0 and alo["redeliveries"] >= alo["duplicates"]
    assert rows["at-most-once"]["duplicates"] == 0


@pytest.mark.parametrize(
    ("node", "step", "strategy"),
    [
        # reached inside one of the node's tasks: the crash raises out of the step
        ("consumer-1", "after-process-before-commit", "at-least-once"),
        # reached in a callback: the crash returns
        ("producer-0", "after-send-before-ack", "exactly-once"),
    ],
)
def test_every_crash_armed_on_a_step_counts_every_arrival(run, monkeypatch, node, step, strategy):
    """Two crashes armed on one step fire on its 5th and 12th arrivals (counted while the node
    is up), whether the first one's crash raises out of the step or not."""
    from sim.model.faults import FaultInjector

    arrivals: list[int] = []
    crashed_at: list[int] = []
    reached = FaultInjector.reached

    def counted(self: FaultInjector, node_name: str, at: str) -> None:
        target = self.nodes[node_name]
        if node_name == node and at == step and target.state == "up":
            arrivals.append(len(arrivals) + 1)
            incarnation = target.incarnation
            try:
                reached(self, node_name, at)
            finally:
                if target.incarnation != incarnation:
                    crashed_at.append(arrivals[-1])
        else:
            reached(self, node_name, at)

    monkeypatch.setattr(FaultInjector, "reached", counted)
    crash = {"kind": "crash", "node": node, "on": step, "restart_after": 0.5}
    run([crash | {"occurrence": 5}, crash | {"occurrence": 12}], strategies=[strategy])
    assert len(arrivals) > 12
    assert crashed_at == [5, 12]


def test_consumer_crash_redelivers_since_last_auto_commit(run) -> None:
    rows, _ = run(
        [{"kind": "crash", "node": "consumer-*", "at": 10, "restart_after": 2}],
        consumer_group={"auto_commit_interval": 5},
    )
    alo = rows["at-least-once"]
    # up to 5 s of processed-but-uncommitted events (100/s) are processed again
    assert 0 < alo["duplicates"] <= 5 * 100 * 1.3
    assert alo["lost"] == 0


def test_consumers_down_for_good_leave_events_pending_not_lost(run) -> None:
    rows, msgs = run([{"kind": "crash", "node": "consumer-*", "at": 5}])
    for s, row in rows.items():
        assert row["lost"] == 0
        assert row["pending"] > 1000  # still in the log, waiting for a consumer
        pending = msgs[s][msgs[s]["fate"] == "pending"]
        assert pending["created_at"].min() >= 4.9


@pytest.mark.parametrize("durability", ["memory", "fsync"])
def test_broker_crash_loses_unconsumed_records_only_without_durability(
    run, durability: str
) -> None:
    faults = [
        {"kind": "pause", "node": "consumer-*", "at": 5, "duration": 10},
        {"kind": "crash", "node": "broker-0", "at": 10, "restart_after": 1},
    ]
    rows, msgs = run(faults, broker={"durability": durability})
    alo = rows["at-least-once"]
    if durability == "memory":
        # acknowledged records not consumed yet vanish with the broker: at-least-once loses too
        assert alo["lost"] > 300
        assert set(causes(msgs["at-least-once"])) == {"crash:broker-0"}
    else:
        assert alo["lost"] == 0
    # at-most-once also loses what it sent while the broker was down (~1 s of events)
    assert 50 < rows["at-most-once"]["lost"]


def test_disk_loss_loses_unflushed_acknowledged_writes(run) -> None:
    faults = [
        {"kind": "pause", "node": "consumer-*", "at": 5, "duration": 10},
        {"kind": "disk-loss", "node": "broker-0", "at": 0},
        {"kind": "crash", "node": "broker-0", "at": 10.5, "restart_after": 1},
    ]
    rows, msgs = run(faults, broker={"durability": "interval", "flush_interval": 1.0})
    alo = causes(msgs["at-least-once"])
    assert set(alo) == {"disk-loss:broker-0"}
    # about half a flush interval of events (100/s x 0.5 s) was acknowledged but not on disk
    assert 10 < alo["disk-loss:broker-0"] < 100
    rows_fsync, _ = run(faults)
    assert rows_fsync["at-least-once"]["lost"] == 0


def test_partition_drops_what_crosses_the_cut(run) -> None:
    rows, msgs = run(
        [{"kind": "partition", "between": ["producer-0", "broker-0"], "at": 5, "duration": 3}]
    )
    amo = rows["at-most-once"]
    assert 200 < amo["lost"] < 400  # ~3 s at 100/s
    assert set(causes(msgs["at-most-once"])) == {"partition:producer-0->broker-0"}
    assert rows["at-least-once"]["lost"] == 0 and rows["at-least-once"]["pending"] == 0


def test_pause_delays_without_loss(run) -> None:
    rows, _ = run([{"kind": "pause", "node": "consumer-0", "at": 5, "duration": 3}])
    for row in rows.values():
        assert row["lost"] == 0 and row["pending"] == 0
        assert row["latency_p99"] > 2.0  # events of the paused consumer waited up to 3 s


def test_pausing_the_broker_makes_at_least_once_retry_and_duplicate(run) -> None:
    rows, _ = run([{"kind": "pause", "node": "broker-0", "at": 5, "duration": 3}])
    assert rows["at-least-once"]["duplicates"] > 0
    assert rows["at-most-once"]["duplicates"] == 0
    assert rows["at-most-once"]["lost"] == 0  # held at the door, handled after the pause


def test_network_duplication_duplicates_even_at_most_once(run) -> None:
    rows, msgs = run([{"kind": "duplicate", "link": "producer-0->broker-0", "probability": 0.1}])
    for row in rows.values():
        n = row["committed"]
        assert abs(row["duplicates"] / n - 0.1) < 4 * (0.1 * 0.9 / n) ** 0.5
        assert row["lost"] == 0


def test_reordering_breaks_per_key_order(run) -> None:
    rows, _ = run([{"kind": "reorder", "link": "producer-0->broker-0", "probability": 0.1}])
    for row in rows.values():
        assert row["order_violations"] > 0 and row["lost"] == 0 and row["duplicates"] == 0
    rows_fifo, _ = run([])
    assert all(r["order_violations"] == 0 for r in rows_fifo.values())


def test_delay_adds_latency_for_its_window(run) -> None:
    rows, msgs = run(
        [{"kind": "delay", "link": "producer-0->broker-0", "extra": 0.5, "at": 5, "duration": 1}]
    )
    for s in rows:
        m = msgs[s]
        inside = m[(m["created_at"] >= 5.01) & (m["created_at"] < 5.99)]
        outside = m[m["created_at"] > 7]
        assert inside["latency"].min() >= 0.5
        assert outside["latency"].median() < 0.05


def test_producer_crash_loses_unacknowledged_events_with_unknown_outcome(run) -> None:
    rows, msgs = run(
        [
            {"kind": "crash", "node": "producer-0", "at": 10, "restart_after": 1},
            {
                "kind": "drop",
                "link": "producer-0->broker-0",
                "probability": 0.5,
                "at": 9,
                "duration": 1,
            },
        ]
    )
    alo = msgs["at-least-once"]
    lost = alo[alo["fate"] == "lost"]
    assert len(lost) > 0
    assert set(lost["loss_cause"]) == {"crash:producer-0"}
    assert set(lost["producer_outcome"]) == {"unknown"}
    # every arrival is intended in both strategies; those while the producer is down are
    # refused, with the crash as cause
    assert rows["at-most-once"]["intended"] == rows["at-least-once"]["intended"] == 1928
    refused = alo[alo["fate"] == "refused"]
    assert rows["at-least-once"]["refused"] == len(refused) > 0
    assert set(refused["loss_cause"]) == {"crash:producer-0"}
    assert not refused["committed"].any() and set(refused["producer_outcome"]) == {"fail"}


def test_sink_crash_loses_the_in_flight_effect_under_at_most_once(run) -> None:
    rows, msgs = run([{"kind": "crash", "node": "sink", "at": 10, "restart_after": 1}])
    assert set(causes(msgs["at-most-once"])) <= {"crash:sink"}
    assert rows["at-least-once"]["lost"] == 0 and rows["at-least-once"]["pending"] == 0


def test_random_faults_keep_at_least_once_lossless(run) -> None:
    faults = [
        {
            "kind": "random",
            "nodes": "*",
            "kinds": ["crash", "pause", "partition", "drop", "duplicate", "reorder", "delay"],
            "rate": 1,
            "mean_duration": 0.5,
            "at": 0,
            "duration": 20,
        }
    ]
    rows, msgs = run(faults)
    assert rows["at-least-once"]["lost"] == 0 and rows["at-least-once"]["pending"] == 0
    assert rows["at-most-once"]["lost"] > 0
    assert not any(c.startswith("unknown") for c in causes(msgs["at-most-once"]))


def _dup_causes(msgs: pd.DataFrame) -> dict[str, int]:
    return msgs["duplicate_cause"].dropna().str.split("; ").explode().value_counts().to_dict()


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (
            {"kind": "drop", "link": "broker-0->producer-0", "probability": 0.2},
            {"drop:broker-0->producer-0"},
        ),
        (
            {"kind": "duplicate", "link": "producer-0->broker-0", "probability": 0.1},
            {"duplicate:producer-0->broker-0"},
        ),
        (
            {"kind": "crash", "node": "consumer-*", "at": 10, "restart_after": 2},
            {"redelivery after crash:consumer-0", "redelivery after crash:consumer-1"},
        ),
        (
            {"kind": "drop", "link": "sink->consumer-*", "probability": 0.2},
            {"drop:sink->consumer-0", "drop:sink->consumer-1"},
        ),
        (
            {"kind": "pause", "node": "broker-0", "at": 5, "duration": 3},
            {"timeout:producer-0 (late ack)"},
        ),
    ],
)
def test_every_duplicate_effect_names_the_fault_behind_it(run, fault, expected) -> None:
    rows, msgs = run([fault])
    alo = msgs["at-least-once"]
    assert rows["at-least-once"]["duplicates"] > 0
    assert set(_dup_causes(alo)) == expected
    # one cause per extra effect
    assert sum(_dup_causes(alo).values()) == rows["at-least-once"]["duplicates"]
