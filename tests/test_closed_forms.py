"""The simulator against theory: measured rates and latencies vs closed forms.

Tolerances are derived from the sample size (a number of standard errors), except where the
issue fixes a relative tolerance (the M/M/1 latencies, checked on ~50,000 events).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

BASE = {
    "replications": 1,
    "trace": "messages",
    "drain": 30,
    "topology": {"brokers": 1, "partitions": 4, "consumers": 2},
}


@pytest.mark.parametrize("p", [0.1, 0.3])
def test_at_most_once_loss_equals_drop_probability_of_the_one_hop(run, p: float) -> None:
    res = run(
        base=BASE,
        strategies=["at-most-once"],
        duration=100,
        workload={"rate": 100},
        faults=[{"kind": "drop", "link": "producer-0->broker-0", "probability": p}],
    )
    row = res.summary.iloc[0]
    n = row["committed"]
    assert n >= 10_000
    se = math.sqrt(p * (1 - p) / n)
    assert abs(row["loss_rate"] - p) < 4 * se, (row["loss_rate"], p, se)
    assert row["duplicates"] == 0 and row["redeliveries"] == 0 and row["pending"] == 0
    lost = res.messages[res.messages["fate"] == "lost"]
    assert len(lost) == row["lost"] > 0
    assert set(lost["loss_cause"]) == {"drop:producer-0->broker-0"}
    # the application was told "ok" for every event: at-most-once never learns of the loss
    assert set(res.messages["producer_outcome"]) == {"ok"}


@pytest.mark.parametrize(("q", "forward"), [(0.2, 0.0), (0.3, 0.2)])
def test_at_least_once_duplicates_per_event_are_q_over_one_minus_q(
    run, q: float, forward: float
) -> None:
    faults = [{"kind": "drop", "link": "broker-0->producer-0", "probability": q}]
    if forward:
        faults.append({"kind": "drop", "link": "producer-0->broker-0", "probability": forward})
    res = run(
        base=BASE, strategies=["at-least-once"], duration=100, workload={"rate": 100}, faults=faults
    )
    row = res.summary.iloc[0]
    n = row["committed"]
    assert n >= 10_000
    assert row["lost"] == 0 and row["pending"] == 0
    # each append is acknowledged with probability 1-q, so the number of unacknowledged
    # appends before the first acknowledged one is geometric: mean q/(1-q), var q/(1-q)^2
    expected = q / (1 - q)
    se = math.sqrt(q / (1 - q) ** 2 / n)
    per_event = row["duplicates"] / n
    assert abs(per_event - expected) < 5 * se, (per_event, expected, se)
    # the duplicates are real extra effects of the same events, one per extra appended copy
    msgs = res.messages
    assert (msgs["effects"] - 1).sum() == row["duplicates"]
    assert set(msgs["producer_outcome"]) == {"ok"}


@pytest.mark.slow  # 50,000 events for a tight tolerance: `make test-all`
def test_mm1_sojourn_time_matches_theory(run) -> None:
    lam, mu = 50.0, 100.0
    res = run(
        base=BASE,
        strategies=["at-most-once"],
        duration=1000,
        drain=10,
        workload={"rate": lam, "process_time": {"dist": "exponential", "mean": 1 / mu}},
        topology={"brokers": 1, "partitions": 1, "consumers": 1, "network": {"latency": 0}},
    )
    row = res.summary.iloc[0]
    assert row["processed"] == row["committed"] >= 45_000
    mean_w = 1 / (mu - lam)
    assert abs(row["latency_mean"] - mean_w) < 0.08 * mean_w, row["latency_mean"]
    median_w = math.log(2) / (mu - lam)
    assert abs(row["latency_p50"] - median_w) < 0.10 * median_w, row["latency_p50"]
    # Little's law: time-average number in system (sampled at random instants) = lambda * W
    msgs = res.messages
    created = msgs["created_at"].to_numpy()
    done = msgs["first_effect_at"].to_numpy()
    rng = np.random.default_rng(1)
    instants = rng.uniform(100, 900, size=4000)
    order = np.argsort(created)
    created_sorted = created[order]
    done_sorted = np.sort(done)
    in_system = np.searchsorted(created_sorted, instants, side="right") - np.searchsorted(
        done_sorted, instants, side="right"
    )
    lam_hat = len(created) / 1000
    assert (
        abs(in_system.mean() - lam_hat * row["latency_mean"]) < 0.1 * lam_hat * row["latency_mean"]
    )
