"""Invariants over random fault schedules (hypothesis), and every strategy's declared promises.

Every run already asserts conservation and that the sink's own effects table agrees with the
history; here random schedules hunt for a case that breaks them, for an unknown cause, and for
a broken promise: each strategy declares its promises and their conditions
(``sim/core/strategies.py``), and wherever the conditions hold in a drawn schedule, the
promise must hold in the recorded history.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sim.check import messages_frame
from sim.check.promises import judge
from sim.config import ExperimentConfig
from sim.core.strategies import CONTRACT_STRATEGIES
from sim.experiment import plan, simulate
from sim.experiment.facts import run_facts

NODES = ["broker-0", "consumer-0", "consumer-1", "sink"]
LINKS = [
    "producer-0->broker-0",
    "broker-0->producer-0",
    "consumer-*<->broker-0",
    "consumer-*<->sink",
]


@st.composite
def fault(draw):
    kind = draw(
        st.sampled_from(["crash", "pause", "partition", "drop", "duplicate", "reorder", "delay"])
    )
    at = draw(st.floats(0, 8, allow_nan=False))
    length = draw(st.floats(0.01, 3, allow_nan=False))
    if kind == "crash":
        return {
            "kind": kind,
            "node": draw(st.sampled_from(NODES)),
            "at": at,
            "restart_after": length,
        }
    if kind == "pause":
        return {"kind": kind, "node": draw(st.sampled_from(NODES)), "at": at, "duration": length}
    if kind == "partition":
        a, b = draw(st.permutations(["producer-0", *NODES]))[:2]
        return {"kind": kind, "between": [a, b], "at": at, "duration": length}
    if kind == "delay":
        extra = draw(st.floats(0, 1))
        return {
            "kind": kind,
            "link": draw(st.sampled_from(LINKS)),
            "extra": extra,
            "at": at,
            "duration": length,
        }
    p = draw(st.floats(0, 1, allow_nan=False))
    return {
        "kind": kind,
        "link": draw(st.sampled_from(LINKS)),
        "probability": p,
        "at": at,
        "duration": length,
    }


@given(faults=st.lists(fault(), min_size=1, max_size=5), seed=st.integers(0, 2**32))
def test_conservation_causes_and_declared_promises_under_random_faults(faults, seed) -> None:
    cfg = ExperimentConfig.model_validate(
        {
            "seed": seed,
            "replications": 1,
            "duration": 10,
            "drain": 40,
            "trace": "messages",
            "strategies": list(CONTRACT_STRATEGIES),
            "workload": {"rate": 50},
            "faults": faults,
        }
    )
    specs, _ = plan(cfg)
    for spec in specs:
        done = simulate(cfg, spec.strategy, spec.seed, list(spec.schedule))
        c = done.verdict.counts
        assert (
            c["committed"]
            == c["processed"] + c["lost"] + c["pending"] + c["dead_lettered"] + c["expired"]
        )
        assert c["duplicates"] == c["effects"] - c["processed"] >= 0
        msgs = messages_frame(done.verdict)
        assert len(msgs) == c["intended"]
        assert msgs.loc[msgs["fate"] == "lost", "loss_cause"].notna().all()
        assert not msgs["loss_cause"].fillna("").str.startswith("unknown").any()
        dup = msgs["duplicate_cause"].fillna("")
        assert not dup.str.contains("unknown").any()
        n_causes = dup.map(lambda text: len(text.split("; ")) if text else 0)
        assert (n_causes == msgs["effects"].clip(lower=1) - 1).all()
        assert c["pending"] == 0 and c["in_doubt"] == 0  # every node restarts; the drain is long
        facts = run_facts(cfg, list(spec.schedule))
        for verdict in judge(cfg.strategy(spec.strategy), facts, c):
            assert verdict.status != "broken", (spec.strategy, verdict)
