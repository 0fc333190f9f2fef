"""Invariants over random fault schedules (hypothesis), and every strategy's declared promises.

Every run already asserts conservation and that the sink's own effects table agrees with the
history; here random schedules hunt for a case that breaks them, for an unknown cause, and for
a broken promise: each strategy declares its promises and their conditions
(``sim/core/strategies.py``), and wherever the conditions hold in a drawn schedule, the
promise must hold in the recorded history.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sim.check import messages_frame
from sim.check.promises import judge
from sim.config import ExperimentConfig
from sim.core.strategies import CONTRACT_STRATEGIES
from sim.experiment import plan, simulate
from sim.experiment.facts import run_facts
from sim.history import causes

#: Each example runs every strategy: the quick suite draws 15 (the profile's 25 are for the
#: lighter property tests); ``HYPOTHESIS_PROFILE=deep`` draws its 1,000.
EXAMPLES = settings(max_examples=15) if settings().max_examples <= 25 else settings()

NODES = ["broker-0", "consumer-0", "consumer-1", "sink"]


def _has_unknown(text: str) -> bool:
    """Whether a cause (or one of several, joined with "; ") is the checker's ``unknown``
    (not a cause that names Kafka's UNKNOWN_MEMBER_ID, "unknown member")."""
    return any(part.startswith(causes.UNKNOWN) for part in text.split("; ") if part)


LINKS = [
    "producer-0->broker-0",
    "broker-0->producer-0",
    "consumer-*<->broker-0",
    "consumer-*<->sink*",  # (each group has a sink of its own, sink-<group>)
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


@EXAMPLES
@given(
    faults=st.lists(fault(), min_size=1, max_size=5),
    seed=st.integers(0, 2**32),
    rate=st.integers(10, 60),
)
def test_conservation_causes_and_declared_promises_under_random_faults(faults, seed, rate) -> None:
    cfg = ExperimentConfig.model_validate(
        {
            "seed": seed,
            "replications": 1,
            "duration": 10,
            "drain": 40,
            "trace": "messages",
            "strategies": list(CONTRACT_STRATEGIES),
            "workload": {"rate": rate},
            "faults": faults,
        }
    )
    specs, _ = plan(cfg)
    for spec in specs:
        done = simulate(cfg, spec.strategy, spec.seed, list(spec.schedule))
        (verdict,) = done.verdicts.values()
        c = verdict.counts
        assert (
            c["committed"]
            == c["processed"] + c["lost"] + c["pending"] + c["dead_lettered"] + c["expired"]
        )
        assert c["duplicates"] == c["effects"] - c["processed"] >= 0
        msgs = messages_frame(verdict)
        assert len(msgs) == c["intended"]
        assert msgs.loc[msgs["fate"] == "lost", "loss_cause"].notna().all()
        assert not msgs["loss_cause"].fillna("").str.startswith("unknown").any()
        dup = msgs["duplicate_cause"].fillna("")
        assert not dup.map(_has_unknown).any()
        n_causes = dup.map(lambda text: len(text.split("; ")) if text else 0)
        assert (n_causes == msgs["effects"].clip(lower=1) - 1).all()
        assert c["pending"] == 0 and c["in_doubt"] == 0  # every node restarts; the drain is long
        facts = run_facts(cfg, list(spec.schedule), done.fired)
        for promise in judge(cfg.strategy(spec.strategy), facts, c):
            assert promise.status != "broken", (spec.strategy, promise)


# --------------------------------------------------------------------------- the whole space

QUEUE_STRATEGIES = ("at-most-once", "at-least-once", "outbox")
STEPS = [
    ("consumer-0", "after-ack-before-process"),
    ("consumer-0", "after-process-before-commit"),
    ("producer-0", "after-send-before-ack"),
    ("broker-0", "after-append-before-ack"),
    ("producer-0", "after-commit-before-publish"),
    ("producer-0", "before-commit-after-publish"),
    ("relay-0", "after-publish-before-mark"),
    ("coordinator", "after-prepare"),
    ("coordinator", "after-decision-logged"),
]


@st.composite
def any_fault(draw, producers: int, consumers: int, sinks: tuple[str, ...] = ("sink",)):
    nodes = [
        *(f"producer-{i}" for i in range(producers)),
        "broker-0",
        *(f"consumer-{i}" for i in range(consumers)),
        *sinks,
    ]
    kind = draw(st.sampled_from(["crash", "step-crash", "pause", "partition", "link", "disk"]))
    at = draw(st.floats(0, 6, allow_nan=False))
    length = draw(st.floats(0.01, 3, allow_nan=False))
    if kind == "crash":
        return {"kind": "crash", "node": draw(st.sampled_from(nodes)), "at": at}
    if kind == "step-crash":
        node, step = draw(st.sampled_from(STEPS))
        occurrence = draw(st.integers(1, 200))
        return {"kind": "crash", "node": node, "on": step, "occurrence": occurrence}
    if kind == "pause":
        return {"kind": "pause", "node": draw(st.sampled_from(nodes)), "at": at, "duration": length}
    if kind == "partition":
        a, b = draw(st.permutations(nodes))[:2]
        return {"kind": "partition", "between": [a, b], "at": at, "duration": length}
    if kind == "disk":
        return {"kind": "disk-loss", "node": "broker-0", "at": at}
    return {
        "kind": draw(st.sampled_from(["drop", "duplicate", "reorder"])),
        "link": draw(st.sampled_from(LINKS)),
        "probability": draw(st.floats(0, 1, allow_nan=False)),
        "at": at,
        "duration": length,
    }


@st.composite
def any_config(draw):
    producers = draw(st.integers(1, 3))
    consumers = draw(st.integers(1, 4))
    mode = draw(st.sampled_from(["log", "queue"]))
    latency = draw(st.floats(0.0001, 0.05, allow_nan=False))
    groups = None
    sinks: tuple[str, ...] = ("sink",)
    if draw(st.booleans()):  # several consumer groups, each reading it all (a queue each)
        sizes = draw(st.lists(st.integers(1, 2), min_size=2, max_size=3))
        groups = [{"name": f"g{i}", "consumers": n} for i, n in enumerate(sizes)]
        consumers, sinks = sum(sizes), tuple(f"sink-g{i}" for i in range(len(sizes)))
    faults = draw(st.lists(any_fault(producers, consumers, sinks), max_size=4))
    if mode == "queue":  # no 2PC there, so no coordinator
        faults = [f for f in faults if f.get("node") != "coordinator"]
    for f in faults:  # every crashed node restarts, so that the drain can finish the work
        if f["kind"] == "crash":
            f["restart_after"] = draw(st.floats(0.05, 3, allow_nan=False))
    broker: dict = {
        "mode": mode,
        "durability": draw(st.sampled_from(["fsync", "interval", "memory"])),
    }
    if draw(st.booleans()):
        broker["ttl"] = draw(st.floats(0.5, 20, allow_nan=False))
    if draw(st.booleans()):
        broker["capacity"] = draw(st.integers(1, 200))
        broker["overflow"] = draw(st.sampled_from(["block", "reject", "drop-oldest"]))
    return {
        "seed": draw(st.integers(0, 2**32)),
        "replications": 1,
        "duration": 6,
        "drain": 90,
        "trace": "messages",
        "strategies": [  # exactly-once and 2PC store log offsets in the sink: log mode only
            s for s in CONTRACT_STRATEGIES if mode == "log" or s in QUEUE_STRATEGIES
        ],
        "workload": {"producers": producers, "rate": 15, "keys": draw(st.integers(1, 8))},
        "topology": {
            "partitions": draw(st.integers(1, 4)),
            "consumers": consumers,
            "network": {"latency": {"dist": "exponential", "mean": latency}},
        },
        "broker": broker,
        "consumer_groups": groups,
        "faults": faults,
    }


@EXAMPLES
@given(data=any_config())
def test_the_rules_hold_over_the_whole_configuration_space(data) -> None:
    """Conservation, a cause for every loss and duplicate, nothing pending after a long drain,
    the protocol invariants (checked by every run: one owner per partition and generation,
    commits never backwards within a log epoch, producer ids never reused), one denominator
    across strategies, and each strategy's promises within their conditions."""
    cfg = ExperimentConfig.model_validate(data)
    specs, _ = plan(cfg)
    intended = set()
    for spec in specs:
        done = simulate(cfg, spec.strategy, spec.seed, list(spec.schedule))  # RunFailed: broken
        facts = run_facts(cfg, list(spec.schedule), done.fired)
        for group, verdict in done.verdicts.items():  # a fate per (event, group)
            c = verdict.counts
            intended.add(c["intended"])
            msgs = messages_frame(verdict)
            where = (spec.strategy, group)
            assert not msgs["loss_cause"].fillna("").map(_has_unknown).any(), where
            assert not msgs["duplicate_cause"].fillna("").map(_has_unknown).any(), where
            assert c["in_doubt"] == 0, (where, c["in_doubt"])
            if c["pending"]:  # a slow drain (a full queue of capacity 1 serialises the
                _settles_with_a_longer_drain(cfg, spec, group)  # groups) is not a stall
            for promise in judge(cfg.strategy(spec.strategy), facts, c):
                assert promise.status != "broken", (where, promise)
    assert len(intended) == 1


def _settles_with_a_longer_drain(cfg: ExperimentConfig, spec, group: str) -> None:
    """Nothing pending *forever*: what the 90 s drain left pending settles in a drain ten
    times as long (every fault is over by then, so the work left is only work)."""
    longer = cfg.model_copy(update={"drain": 10 * cfg.drain})
    done = simulate(longer, spec.strategy, spec.seed, list(spec.schedule))
    c = done.verdicts[group].counts
    assert c["pending"] == 0 and c["in_doubt"] == 0, (spec.strategy, group, c["pending"])
