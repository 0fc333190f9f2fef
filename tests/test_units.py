"""Small units: distributions, streams, config models, trace levels, the partitioner."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import TypeAdapter

import sim
from sim.config import ConfigError, link_matches, validate_dict
from sim.core.distributions import Distribution
from sim.core.rng import Streams, derive_seed, stable_index

DIST = TypeAdapter(Distribution)


@pytest.mark.parametrize(
    ("spec", "mean"),
    [
        (0.25, 0.25),
        ({"dist": "constant", "value": 2}, 2.0),
        ({"dist": "uniform", "low": 1, "high": 3}, 2.0),
        ({"dist": "exponential", "mean": 0.5}, 0.5),
        ({"dist": "normal", "mean": 5, "sd": 1}, 5.0),
        ({"dist": "lognormal", "mean": 2, "sigma": 0.5}, 2.0),
        ({"dist": "pareto", "scale": 1, "shape": 3}, 1.5),
    ],
)
def test_distribution_sample_means(spec, mean) -> None:
    d = DIST.validate_python(spec)
    rng = np.random.default_rng(5)
    xs = np.array([d.sample(rng) for _ in range(20_000)])
    assert (xs >= 0).all()
    sd = xs.std() or 1e-12
    assert abs(xs.mean() - mean) < 5 * sd / math.sqrt(len(xs)) + 1e-12
    assert d.mean_value == pytest.approx(mean)


def test_normal_is_truncated_at_zero() -> None:
    d = DIST.validate_python({"dist": "normal", "mean": 0, "sd": 1})
    rng = np.random.default_rng(1)
    assert min(d.sample(rng) for _ in range(1000)) == 0.0


def test_streams_are_named_and_independent() -> None:
    a, b = Streams(3), Streams(3)
    assert a("x").random() == b("x").random()
    assert Streams(3)("x").random() != Streams(3)("y").random()
    assert Streams(3)("x").random() != Streams(4)("x").random()
    assert (
        derive_seed(7, "replication-0")
        == derive_seed(7, "replication-0")
        != derive_seed(7, "replication-1")
    )
    assert [stable_index(f"key-{k}", 4) for k in range(8)] == [
        stable_index(f"key-{k}", 4) for k in range(8)
    ]


def test_link_patterns() -> None:
    assert link_matches("producer-*->broker-0", "producer-3", "broker-0")
    assert not link_matches("producer-*->broker-0", "broker-0", "producer-3")
    assert link_matches("consumer-*<->sink", "sink", "consumer-1")
    with pytest.raises(ValueError):
        link_matches("producer-0", "a", "b")


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"workload": {"rat": 1}}, "did you mean 'rate'"),
        ({"topology": {"network": {"loss": 1.5}}}, "topology.network.loss"),
        (
            {
                "strategies": ["outbox"],
                "topology": {"brokers": 2},
                "broker": {"replication_factor": 2},
            },
            "not supported yet",
        ),
        ({"strategies": ["exactly-once"], "broker": {"mode": "queue"}}, "needs broker.mode: log"),
        ({"strategies": ["at-least-once"], "broker": {"acks": 0}}, "acks must be 1 or all"),
        (
            {
                "strategies": ["at-most-once"],
                "faults": [{"kind": "crash", "node": "nobody-*", "at": 1}],
            },
            "matches no node",
        ),
        (
            {"strategies": ["at-most-once"], "faults": [{"kind": "crash", "node": "sink"}]},
            "exactly one of `at`",
        ),
        (
            {
                "strategies": ["at-most-once"],
                "faults": [{"kind": "crash", "node": "sink", "on": "after-lunch"}],
            },
            "unknown protocol step",
        ),
        (
            {
                "strategies": ["at-most-once"],
                "faults": [{"kind": "drop", "link": "a-b", "probability": 0.1}],
            },
            "must be written 'A->B'",
        ),
        ({"strategies": ["at-most-once"], "workload": {"arrivals": [2, 1]}}, "non-decreasing"),
    ],
)
def test_config_errors_name_the_problem(data, needle) -> None:
    with pytest.raises(ConfigError) as err:
        validate_dict({"strategies": ["at-most-once"], **data})
    assert needle in str(err.value)


def test_config_defaults_follow_the_contract() -> None:
    cfg = validate_dict({"strategies": ["at-most-once"]})
    assert cfg.seed == 7 and cfg.replications == 3 and cfg.duration == 60 and cfg.drain == 30
    assert cfg.workload.rate == 100 and cfg.workload.keys == 16
    assert cfg.topology.partitions == 4 and cfg.topology.consumers == 2
    assert (
        cfg.broker.acks == "all"
        and cfg.broker.durability == "fsync"
        and cfg.broker.max_receives == 5
    )
    assert cfg.consumer_group.auto_commit_interval == 5 and cfg.producer.request_timeout == 0.5
    assert cfg.node_names() == ["producer-0", "broker-0", "consumer-0", "consumer-1", "sink"]
    everything = validate_dict({})  # the default: every strategy of the contract
    assert everything.strategies == [
        "at-most-once",
        "at-least-once",
        "exactly-once",
        "outbox",
        "two-phase-commit",
    ]
    assert everything.node_names()[-2:] == ["relay-0", "coordinator"]


@pytest.mark.parametrize("trace", ["summary", "messages", "full"])
def test_trace_levels_keep_what_they_say(trace: str) -> None:
    res = sim.run(
        {
            "strategies": ["at-most-once"],
            "replications": 1,
            "duration": 2,
            "drain": 1,
            "trace": trace,
            "workload": {"rate": 50},
        },
        workers=1,
        progress=False,
    )
    assert len(res.summary) == 1
    assert (len(res.messages) > 0) == (trace != "summary")
    assert (len(res.events) > 0) == (trace == "full")
    if trace == "full":
        ops = set(res.events["op"])
        assert {"create", "send", "deliver", "append", "receive", "commit", "effect"} <= ops
        assert (
            res.summary.iloc[0]["network_messages"]
            == (res.events.drop_duplicates("seq")["op"] == "send").sum()
        )


def test_scripted_arrivals_and_skewed_keys() -> None:
    with pytest.warns(sim.ConfigWarning, match=r"workload\.arrivals\.4: 1 of the 5 arrivals"):
        res = sim.run(
            {
                "strategies": ["at-most-once"],
                "replications": 1,
                "duration": 5,
                "drain": 1,
                "workload": {"arrivals": [0.5, 1.0, 1.0, 4.0, 7.0], "key_skew": 1.2},
            },
            workers=1,
            progress=False,
        )
    assert list(res.messages["created_at"]) == [0.5, 1.0, 1.0, 4.0]  # 7.0 is after the duration


def test_sweep_expands_into_cells_with_a_column_each() -> None:
    res = sim.run(
        {
            "strategies": ["at-most-once"],
            "replications": 1,
            "duration": 10,
            "drain": 2,
            "faults": [{"kind": "drop", "link": "producer-0->broker-0", "probability": 0.0}],
            "sweep": {"faults.0.probability": [0.0, 0.5]},
        },
        workers=1,
        progress=False,
    )
    assert list(res.summary["cell"]) == [0, 1]
    assert list(res.summary["faults.0.probability"]) == [0.0, 0.5]
    assert res.summary.iloc[0]["lost"] == 0 < res.summary.iloc[1]["lost"]
    with pytest.raises(ConfigError, match="sweep.faults.3.probability"):
        sim.run(
            {
                "strategies": ["at-most-once"],
                "faults": [],
                "sweep": {"faults.3.probability": [0.1]},
            },
            workers=1,
        )
