"""Strategies are data: a preset composed of existing behaviours is one entry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sim.core import strategies
from sim.core.strategies import BrokerRole, ConsumerRole, ProducerRole, Promise, Strategy

ACK_LOSS = [{"kind": "drop", "link": "broker-0->producer-0", "probability": 0.3}]


@pytest.fixture
def idempotent_alo() -> Iterator[str]:
    """A preset added at run time: Kafka's idempotent producer with an at-least-once consumer."""
    name = "test-idempotent-producer"
    strategies.register(
        Strategy(
            name=name,
            description="idempotent producer, process-then-commit consumer",
            producer=ProducerRole("idempotent"),
            broker=BrokerRole(dedupe_producer_retries=True),
            consumer=ConsumerRole(commit="after-process", retry_sink=True, dead_letter=True),
            promises=(Promise("no-duplicates", ("dedupe-state-kept",)),),
        )
    )
    yield name
    del strategies.PRESETS[name]


def test_a_preset_added_at_run_time_runs_like_any_other(run, idempotent_alo: str) -> None:
    out = run(["at-least-once", idempotent_alo], ACK_LOSS, duration=10)
    alo, mine = out.rows["at-least-once"], out.rows[idempotent_alo]
    assert alo["duplicates"] > 100  # resends after lost acks are appended again
    assert mine["duplicates"] == 0 and mine["deduplicated"] > 0  # the broker recognised them
    assert mine["lost"] == alo["lost"] == 0
    assert mine["processed"] == alo["processed"] == alo["intended"]


def test_every_preset_names_behaviours_that_exist() -> None:
    for s in strategies.PRESETS.values():
        assert s.producer.publisher in strategies.PUBLISHERS
        assert s.producer.coupling in strategies.COUPLINGS
        assert s.consumer.commit in strategies.COMMIT_MODES
        for promise in s.promises:
            assert promise.name in strategies.PROMISES
            assert set(promise.conditions) <= set(strategies.CONDITIONS)
