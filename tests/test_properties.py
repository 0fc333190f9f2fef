"""Invariants over random fault schedules (hypothesis).

Every run already asserts conservation and that the sink's own effects table agrees with the
history; here random schedules hunt for a case that breaks them, and for the guarantees: with
durable brokers and producers that stay up, at-least-once loses nothing, and exactly-once, the
outbox and two-phase commit lose nothing, apply nothing twice and leave nothing in doubt.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

import sim

NODES = ["broker-0", "consumer-0", "consumer-1", "sink"]
LINKS = ["producer-0->broker-0", "broker-0->producer-0", "consumer-*<->broker-0", "consumer-*<->sink"]


@st.composite
def fault(draw):
    kind = draw(st.sampled_from(["crash", "pause", "partition", "drop", "duplicate", "reorder", "delay"]))
    at = draw(st.floats(0, 8, allow_nan=False))
    length = draw(st.floats(0.01, 3, allow_nan=False))
    if kind == "crash":
        return {"kind": kind, "node": draw(st.sampled_from(NODES)), "at": at, "restart_after": length}
    if kind == "pause":
        return {"kind": kind, "node": draw(st.sampled_from(NODES)), "at": at, "duration": length}
    if kind == "partition":
        a, b = draw(st.permutations(["producer-0", *NODES]))[:2]
        return {"kind": kind, "between": [a, b], "at": at, "duration": length}
    if kind == "delay":
        return {"kind": kind, "link": draw(st.sampled_from(LINKS)), "extra": draw(st.floats(0, 1)), "at": at, "duration": length}
    p = draw(st.floats(0, 1, allow_nan=False))
    return {"kind": kind, "link": draw(st.sampled_from(LINKS)), "probability": p, "at": at, "duration": length}


@given(faults=st.lists(fault(), min_size=1, max_size=5), seed=st.integers(0, 2**32))
def test_conservation_and_at_least_once_guarantee_under_random_faults(faults, seed) -> None:
    cfg = {
        "seed": seed,
        "replications": 1,
        "duration": 10,
        "drain": 40,
        "trace": "messages",
        "strategies": ["at-most-once", "at-least-once", "exactly-once", "outbox", "two-phase-commit"],
        "workload": {"rate": 50},
        "faults": faults,
    }
    res = sim.run(cfg, workers=1, progress=False)
    assert not res.errors
    for _, row in res.summary.iterrows():
        assert row["committed"] == row["processed"] + row["lost"] + row["pending"] + row["dead_lettered"] + row["expired"]
        assert row["duplicates"] == row["effects"] - row["processed"] >= 0
        msgs = res.messages[res.messages["strategy"] == row["strategy"]]
        assert len(msgs) == row["intended"]
        assert (msgs["fate"] == "lost").sum() == row["lost"]
        assert msgs.loc[msgs["fate"] == "lost", "loss_cause"].notna().all()
        assert not msgs["loss_cause"].fillna("").str.startswith("unknown").any()
        dup = msgs["duplicate_cause"].fillna("")
        assert not dup.str.contains("unknown").any()
        n_causes = dup.map(lambda text: len(text.split("; ")) if text else 0)
        assert (n_causes == msgs["effects"].clip(lower=1) - 1).all()
    by = res.summary.set_index("strategy")
    alo = by.loc["at-least-once"]
    assert alo["lost"] == 0
    assert alo["pending"] == 0  # every node restarts and the drain is long enough
    for strategy in ("exactly-once", "outbox", "two-phase-commit"):
        row = by.loc[strategy]
        assert row["lost"] == 0 and row["pending"] == 0 and row["duplicates"] == 0 and row["phantoms"] == 0, strategy
        assert row["in_doubt"] == 0
