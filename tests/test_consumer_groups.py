"""Several consumer groups (``consumer_groups``): every group reads every event with its own
members, committed offsets and sink, and has a fate per event; a fault in one group's
consumer changes only that group's figures."""

from __future__ import annotations

from typing import Any

import pytest

import sim
from sim.config import ConfigError, load_config

GROUPS: dict[str, Any] = {
    "seed": 5,
    "replications": 1,
    "duration": 10,
    "drain": 20,
    "trace": "messages",
    "strategies": ["at-least-once", "exactly-once"],
    "workload": {"rate": 40, "keys": 4},
    "topology": {"partitions": 3},
    "consumer_groups": [
        {"name": "billing", "consumers": 2},
        {"name": "search", "consumers": 1, "assignor": "round-robin"},
    ],
}
CRASH = {"kind": "crash", "node": "consumer-2", "at": 3, "restart_after": 1}
COUNTS = ["intended", "committed", "processed", "effects", "duplicates", "lost", "pending"]


def _run(**overrides: Any) -> Any:
    res = sim.run({**GROUPS, **overrides}, workers=1, progress=False)
    assert not res.errors, res.errors
    return res


def _rows(res: Any) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["strategy"], r["group"]): r for r in res.summary.to_dict("records")}


def test_every_group_processes_every_committed_event() -> None:
    res = _run()
    msgs = res.messages
    assert set(msgs["group"]) == {"billing", "search"}
    for (strategy, group), rows in msgs.groupby(["strategy", "group"]):
        committed = rows[rows["committed"]]
        assert (committed["fate"] == "processed").all(), (strategy, group)
    # the same events in each group: one row per (event, group)
    ids = msgs.groupby(["strategy", "group"])["id"].apply(frozenset)
    assert ids.groupby(level=0).nunique().eq(1).all()
    rows = _rows(res)
    assert (
        rows[("exactly-once", "billing")]["processed"]
        == rows[("exactly-once", "search")]["processed"]
        > 300
    )


def test_a_crash_in_one_groups_consumer_changes_only_that_groups_figures() -> None:
    calm, crashed = _rows(_run()), _rows(_run(faults=[CRASH]))
    for strategy in ("at-least-once", "exactly-once"):
        billing = [
            (calm[(strategy, "billing")][c], crashed[(strategy, "billing")][c]) for c in COUNTS
        ]
        assert all(a == b for a, b in billing), (strategy, billing)
    # consumer-2 is search's only consumer: its crash redelivers what it had not committed
    search = crashed[("at-least-once", "search")]
    assert search["duplicates"] > 0 and calm[("at-least-once", "search")]["duplicates"] == 0
    causes = _run(faults=[CRASH]).duplicates
    assert set(causes["group"]) == {"search"}
    assert causes["cause"].str.contains("consumer-2").all()
    assert crashed[("exactly-once", "search")]["duplicates"] == 0


def test_groups_have_their_own_sinks_and_consumers_numbered_across_groups() -> None:
    cfg = sim.ExperimentConfig.model_validate(GROUPS)
    topo = cfg.node_topology()
    assert topo.consumers_of("billing") == ("consumer-0", "consumer-1")
    assert topo.consumers_of("search") == ("consumer-2",)
    assert topo.sinks == ("sink-billing", "sink-search")
    assert ("consumer-2", "sink-search") in topo.edges
    assert ("consumer-2", "sink-billing") not in topo.edges
    search = cfg.groups[1]
    assert search.settings.assignor == "round-robin"
    assert search.settings.session_timeout == cfg.consumer_group.session_timeout


def test_a_group_setting_left_out_is_the_sections_even_after_a_round_trip() -> None:
    data = {**GROUPS, "consumer_group": {"session_timeout": 20}}
    cfg = sim.ExperimentConfig.model_validate(data)
    again = sim.ExperimentConfig.model_validate(cfg.model_dump(mode="json"))
    assert [g.settings.session_timeout for g in again.groups] == [20, 20]


def test_without_consumer_groups_there_is_one_group_named_default() -> None:
    res = sim.run(
        {k: v for k, v in GROUPS.items() if k != "consumer_groups"}, workers=1, progress=False
    )
    assert set(res.summary["group"]) == {"default"}
    assert set(res.messages["group"]) == {"default"}
    assert "sink" in sim.ExperimentConfig.model_validate({}).node_names()


@pytest.mark.parametrize(
    ("groups", "words"),
    [
        ([{"name": "a"}, {"name": "a"}], "listed twice"),
        ([{"name": "a b"}], "group name"),
        ([{"name": "a", "heartbeat_interval": 30}], "heartbeat_interval"),
        ([{"name": "a", "consumer": 2}], "consumer"),
    ],
)
def test_bad_groups_are_refused_with_the_key_path(tmp_path, groups, words) -> None:
    path = tmp_path / "bad.yaml"
    import yaml

    path.write_text(yaml.safe_dump({"consumer_groups": groups}), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = str(err.value)
    assert "consumer_groups" in text and words in text and str(path) in text


def test_in_queue_mode_each_group_has_a_queue_of_its_own() -> None:
    # SNS fanning out to one SQS queue per group: a message deleted from one group's queue is
    # still in the other's, and a crash of search's only consumer touches only search.
    queue = {
        "broker": {"mode": "queue", "visibility_timeout": 2},
        "strategies": ["at-least-once", "outbox"],
    }
    step = {"kind": "crash", "node": "consumer-2", "on": "after-process-before-commit"}
    step |= {"occurrence": 50, "restart_after": 1}
    calm, crashed = _rows(_run(**queue)), _rows(_run(**queue, faults=[step]))
    for strategy in ("at-least-once", "outbox"):
        for group in ("billing", "search"):
            row = calm[(strategy, group)]
            assert row["processed"] == row["committed"] > 300
        billing = [
            (calm[(strategy, "billing")][c], crashed[(strategy, "billing")][c]) for c in COUNTS
        ]
        assert all(a == b for a, b in billing), (strategy, billing)
    assert crashed[("at-least-once", "search")]["duplicates"] > 0  # processed, not deleted
    assert crashed[("outbox", "search")]["duplicates"] == 0  # its processed-id table
    assert crashed[("at-least-once", "search")]["pending"] == 0


def test_a_fault_may_name_a_groups_sink() -> None:
    fault = {"kind": "crash", "node": "sink-search", "at": 3, "restart_after": 1}
    rows = _rows(_run(faults=[fault]))
    assert (
        rows[("exactly-once", "search")]["processed"]
        == rows[("exactly-once", "billing")]["processed"]
    )


def test_a_full_queue_shared_by_three_groups_drains_slowly_but_completely() -> None:
    data = {
        "seed": 58137,
        "replications": 1,
        "duration": 6,
        "drain": 90,
        "strategies": ["at-least-once"],
        "workload": {"producers": 3, "rate": 15, "keys": 8},
        "topology": {
            "partitions": 1,
            "network": {"latency": {"dist": "exponential", "mean": 0.05}},
        },
        "broker": {"mode": "queue", "durability": "memory", "capacity": 1, "overflow": "block"},
        "consumer_groups": [
            {"name": "g0", "consumers": 1},
            {"name": "g1", "consumers": 1},
            {"name": "g2", "consumers": 2},
        ],
        "faults": [
            {"kind": "drop", "link": "consumer-*<->broker-0", "probability": 0.1288}
            | {"at": 3.9865, "duration": 0.6235},
            {"kind": "pause", "node": "broker-0", "at": 5.0372, "duration": 0.01},
        ],
    }
    # Each message waits for every group's receive, sink write and delete (about six network
    # hops of the slowest group) before the next held produce request is appended: about
    # three events a second for the 279 produced in 6 s. A 90 s drain ends with the last of
    # them still held for room, as the deep run found; a longer one settles every event.
    short = sim.run(data, workers=1, progress=False)
    assert (short.summary["pending"] > 0).all()
    res = sim.run(data | {"drain": 400}, workers=1, progress=False)
    assert (res.summary["pending"] == 0).all()
    assert (res.summary["processed"] == res.summary["intended"]).all()


@pytest.mark.parametrize("mode", ["log", "queue"])
def test_each_groups_backlog_is_its_own(mode: str) -> None:
    # search's only consumer is down from 3 s to 15 s: its backlog grows while billing's
    # stays near zero (every group's rows held the slowest group's backlog before).
    down = {"kind": "crash", "node": "consumer-2", "at": 3, "restart_after": 12}
    res = _run(strategies=["at-least-once"], broker={"mode": mode}, faults=[down])
    lag = res.lag[(res.lag["time"] > 8) & (res.lag["time"] < 14)]
    by_group = lag.groupby("group")["backlog"].max()
    assert by_group["search"] > 100
    assert by_group["billing"] < 20
