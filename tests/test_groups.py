"""Kafka-style consumer groups: assignors, heartbeats, session timeouts, rebalances, lag."""

from __future__ import annotations

import json

import pytest

import sim
from sim.model.broker.assignors import range_assign, round_robin_assign, sticky_assign

# ----------------------------------------------------------------------------- assignors
# One topic with 8 partitions stands for Kafka's javadoc examples with topics t0..t3 of two
# partitions each (t0p0=0, t0p1=1, t1p0=2, t1p1=3, t2p0=4, t2p1=5, t3p0=6, t3p1=7).


def test_range_assignor_gives_contiguous_ranges_extra_to_the_first() -> None:
    # RangeAssignor javadoc: C0 gets [t0p0, t0p1], C1 gets [t0p2] for one topic of 3 partitions
    assert range_assign(["C0", "C1"], range(3)) == {"C0": [0, 1], "C1": [2]}
    assert range_assign(["C1", "C0", "C2"], range(7)) == {
        "C0": [0, 1, 2],
        "C1": [3, 4],
        "C2": [5, 6],
    }


def test_round_robin_and_sticky_match_the_sticky_assignor_javadoc() -> None:
    initial = round_robin_assign(["C0", "C1", "C2"], range(8))
    # C0: [t0p0, t1p1, t3p0]  C1: [t0p1, t2p0, t3p1]  C2: [t1p0, t2p1]
    assert initial == {"C0": [0, 3, 6], "C1": [1, 4, 7], "C2": [2, 5]}
    assert sticky_assign(["C0", "C1", "C2"], range(8)) == initial
    # C1 leaves. Round robin reshuffles: C0: [t0p0, t1p0, t2p0, t3p0]  C2: [t0p1, t1p1, t2p1, t3p1]
    assert round_robin_assign(["C0", "C2"], range(8)) == {"C0": [0, 2, 4, 6], "C2": [1, 3, 5, 7]}
    # Sticky keeps what survivors had: C0: [t0p0, t1p1, t3p0, t2p0]  C2: [t1p0, t2p1, t0p1, t3p1]
    assert sticky_assign(["C0", "C2"], range(8), initial) == {
        "C0": [0, 3, 6, 4],
        "C2": [2, 5, 1, 7],
    }


def test_members_beyond_the_partition_count_sit_idle() -> None:
    for assign in (range_assign, round_robin_assign, sticky_assign):
        out = assign(["C0", "C1", "C2", "C3"], range(2))
        assert sorted(p for ps in out.values() for p in ps) == [0, 1]
        assert sum(1 for ps in out.values() if not ps) == 2


# ----------------------------------------------------------------------------- the textbook case

TEXTBOOK = {
    "replications": 1,
    "trace": "full",
    "duration": 40,
    "drain": 30,
    "workload": {"rate": 100},
    "topology": {"partitions": 3, "consumers": 3},
    "consumer_group": {"session_timeout": 10, "heartbeat_interval": 3, "auto_commit_interval": 5},
    "faults": [{"kind": "crash", "node": "consumer-1", "at": 20}],
    "strategies": ["at-least-once", "exactly-once"],
}


@pytest.fixture(scope="module", params=["range", "cooperative-sticky"])
def textbook(request):
    cfg = {**TEXTBOOK, "consumer_group": {**TEXTBOOK["consumer_group"], "assignor": request.param}}
    return request.param, sim.run(cfg, workers=1, progress=False)


def held_by(events, member: str, before: float) -> set[str]:
    """The partitions ``member`` was assigned in the last rebalance before ``before``."""
    reb = events[(events["op"] == "rebalance") & (events["time"] < before)]
    last = reb["detail"].iloc[-1].split("; ")[1].split()
    parts = dict(item.split(":") for item in last)  # keyed by member id: consumer#n
    held = [ps for mid, ps in parts.items() if mid.split("#")[0] == member]
    return set(held[0].split(",")) - {"-"}


def test_a_dead_consumers_partition_moves_after_the_session_timeout(textbook) -> None:
    _, res = textbook
    for strategy in ("at-least-once", "exactly-once"):
        ev = res.events[res.events["strategy"] == strategy]
        dead = ev[(ev["op"] == "member-dead") & (ev["peer"] == "consumer-1")]
        assert len(dead) == 1
        assert (
            7.0 <= dead["time"].iloc[0] - 20.0 <= 10.5
        )  # last heartbeat 0-3 s before the crash, + 10 s
        # a survivor takes its partition at its next heartbeat (at most one interval later)
        orphan = held_by(ev, "consumer-1", 20.0)
        assert len(orphan) == 1
        assigns = ev[(ev["op"] == "assign") & (ev["time"] > 20)]
        took = assigns[
            assigns["detail"].map(lambda d, o=orphan: bool(o & {str(p) for p in json.loads(d)}))
        ]
        assert len(took) >= 1 and took["node"].iloc[0] != "consumer-1"
        assert 7.0 <= took["time"].iloc[0] - 20.0 <= 13.5
        msgs = res.messages[res.messages["strategy"] == strategy]
        assert (
            6.0 <= msgs["latency"].max() <= 16.0
        )  # events on the orphaned partition waited that long


def test_textbook_case_duplicates_at_least_once_and_not_exactly_once(textbook) -> None:
    _, res = textbook
    rows = res.summary.set_index("strategy")
    alo, eos = rows.loc["at-least-once"], rows.loc["exactly-once"]
    assert alo["lost"] == 0 and alo["pending"] == 0
    # what consumer-1 processed since its last auto-commit: 1 to about rate-per-partition x 5 s
    assert 1 <= alo["duplicates"] <= 100 / 3 * 5 * 1.5
    dup = res.messages[
        (res.messages["strategy"] == "at-least-once") & res.messages["duplicate_cause"].notna()
    ]
    ev = res.events[res.events["strategy"] == "at-least-once"]
    assert {str(p) for p in dup["partition"]} == held_by(ev, "consumer-1", 20.0)
    assert set(dup["duplicate_cause"]) == {"redelivery after crash:consumer-1"}
    assert eos["duplicates"] == 0 and eos["lost"] == 0 and eos["pending"] == 0


def test_cooperative_rebalance_stops_only_the_moved_partition(textbook) -> None:
    assignor, res = textbook
    ev = res.events[(res.events["strategy"] == "at-least-once") & (res.events["time"] > 20)]
    revokes = ev[ev["op"] == "revoke"]
    if assignor == "cooperative-sticky":
        assert revokes.empty  # the survivors keep consuming their own partitions throughout
    else:
        assert set(revokes["node"]) == {
            "consumer-0",
            "consumer-2",
        }  # eager: everyone stops and rejoins


def test_a_paused_consumer_is_declared_dead_gives_its_partitions_up_and_rejoins() -> None:
    cfg = {
        **TEXTBOOK,
        "duration": 30,
        "strategies": ["at-least-once"],
        "faults": [{"kind": "pause", "node": "consumer-1", "at": 5, "duration": 15}],
    }
    res = sim.run(cfg, workers=1, progress=False)
    ev = res.events
    dead = ev[(ev["op"] == "member-dead") & (ev["peer"] == "consumer-1")]
    assert len(dead) == 1
    t_dead = dead["time"].iloc[0]
    # it learns it is no longer a member when it resumes, and gives its partitions up
    abandoned = ev[(ev["op"] == "abandon") & (ev["node"] == "consumer-1")]
    assert len(abandoned) >= 1 and abandoned["time"].min() >= 20
    rejoined = ev[(ev["op"] == "join") & (ev["peer"] == "consumer-1") & (ev["time"] > t_dead)]
    commits = ev[
        (ev["op"] == "commit")
        & (ev["peer"] == "consumer-1")
        & (ev["time"] > t_dead)
        & (ev["time"] < rejoined["time"].min())
    ]
    assert commits.empty  # nothing the zombie committed was accepted
    row = res.summary.iloc[0]
    assert row["lost"] == 0 and row["pending"] == 0


def test_extra_consumers_receive_nothing() -> None:
    res = sim.run(
        {
            "strategies": ["at-least-once"],
            "replications": 1,
            "duration": 5,
            "drain": 3,
            "trace": "full",
            "topology": {"partitions": 2, "consumers": 4},
        },
        workers=1,
        progress=False,
    )
    receivers = set(res.events[res.events["op"] == "receive"]["node"])
    assert len(receivers) == 2
    assert res.summary.iloc[0]["processed"] == res.summary.iloc[0]["committed"]


def test_consumer_lag_is_recorded_and_grows_while_consumers_are_paused() -> None:
    res = sim.run(
        {
            "strategies": ["exactly-once"],
            "replications": 1,
            "duration": 10,
            "drain": 10,
            "faults": [{"kind": "pause", "node": "consumer-*", "at": 3, "duration": 2}],
        },
        workers=1,
        progress=False,
    )
    assert list(res.lag.columns) == [
        "strategy",
        "cell",
        "replication",
        "time",
        "group",
        "partition",
        "lag",
        "backlog",
    ]
    for column in ("lag", "backlog"):  # paused consumers neither fetch nor commit
        total = res.lag.groupby("time")[column].sum()
        assert total[(total.index > 4.5) & (total.index < 5)].min() > 100  # ~2 s x 100 events/s
        assert total[total.index > 8].max() < 20
