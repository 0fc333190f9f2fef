"""Strategies as data: a named choice of one policy per role.

Nodes never ask which strategy is running; they ask their policy what to do at each decision
point (wait for an ack? retry? commit before or after processing?). A new strategy is a new
preset here, plus new policy fields where a role needs a new decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class ProducerPolicy:
    """How the producing application hands an event to the broker."""

    await_ack: bool
    """Wait for the broker's acknowledgement (else: send once and report success at once)."""
    retry: bool
    """Resend after ``producer.request_timeout`` with backoff until acknowledged (or ``producer.retries``)."""
    idempotent: bool = False
    """Producer id + epoch from the broker, a sequence number per partition, at most
    ``max_in_flight`` requests in flight per partition; the broker drops resent duplicates."""
    coupling: Literal["none", "commit-then-publish", "publish-then-commit", "outbox", "two-phase-commit"] = "none"
    """How publishing is tied to the business transaction in the producer's database:
    ``none`` (no transaction), the two naive dual writes, the transactional outbox (a relay
    publishes committed outbox rows), or two-phase commit through the coordinator."""


@dataclass(frozen=True)
class BrokerPolicy:
    """What the broker does with what it receives."""

    dedupe_producer_retries: bool = False


@dataclass(frozen=True)
class ConsumerPolicy:
    """When a consumer commits its position relative to applying the effect."""

    commit: Literal["on-receipt", "after-process", "in-sink"]
    """``on-receipt``: commit the fetched offsets synchronously, then process (at-most-once).
    ``after-process``: process, then commit processed offsets every ``auto_commit_interval``.
    ``in-sink``: the offset is stored in the same sink transaction as the effect, and the
    consumer resumes from the sink's offsets (Kafka's exactly-once consume-transform-produce)."""
    retry_sink: bool
    """Retry the sink transaction until the sink acknowledges it (else: one attempt)."""
    dedupe_ids: bool = False
    """Idempotent consumer: the sink transaction also records the event id, and an id already
    processed is not applied again (the outbox's consumer)."""
    dead_letter: bool = False
    """An event whose processing keeps failing goes to the dead-letter queue after
    ``broker.max_receives`` attempts (else: one attempt, then it is dropped)."""


@dataclass(frozen=True)
class Strategy:
    name: str
    description: str
    producer: ProducerPolicy
    broker: BrokerPolicy
    consumer: ConsumerPolicy
    implemented: bool = True
    missing: str = ""


AT_MOST_ONCE = Strategy(
    name="at-most-once",
    description="send once without waiting; commit on receipt, then process",
    producer=ProducerPolicy(await_ack=False, retry=False),
    broker=BrokerPolicy(),
    consumer=ConsumerPolicy(commit="on-receipt", retry_sink=False),
)

AT_LEAST_ONCE = Strategy(
    name="at-least-once",
    description="retry until acked; process, then commit; redeliver what was not committed",
    producer=ProducerPolicy(await_ack=True, retry=True),
    broker=BrokerPolicy(),
    consumer=ConsumerPolicy(commit="after-process", retry_sink=True, dead_letter=True),
)


EXACTLY_ONCE = Strategy(
    name="exactly-once",
    description="idempotent producer (id, epoch, sequences; broker dedupes resends); effect and offset in one sink transaction",
    producer=ProducerPolicy(await_ack=True, retry=True, idempotent=True),
    broker=BrokerPolicy(dedupe_producer_retries=True),
    consumer=ConsumerPolicy(commit="in-sink", retry_sink=True, dead_letter=True),
)


COMMIT_THEN_PUBLISH = Strategy(
    name="commit-then-publish",
    description="dual write: commit the business transaction, then publish (at-least-once); a crash in between loses the event",
    producer=ProducerPolicy(await_ack=True, retry=True, coupling="commit-then-publish"),
    broker=BrokerPolicy(),
    consumer=ConsumerPolicy(commit="after-process", retry_sink=True, dead_letter=True),
)

PUBLISH_THEN_COMMIT = Strategy(
    name="publish-then-commit",
    description="dual write: publish (at-least-once), then commit; an abort or a crash in between makes a phantom",
    producer=ProducerPolicy(await_ack=True, retry=True, coupling="publish-then-commit"),
    broker=BrokerPolicy(),
    consumer=ConsumerPolicy(commit="after-process", retry_sink=True, dead_letter=True),
)

OUTBOX = Strategy(
    name="outbox",
    description="business row + outbox row in one local transaction; a relay publishes with retries and marks them sent; idempotent consumer",
    producer=ProducerPolicy(await_ack=True, retry=True, coupling="outbox"),
    broker=BrokerPolicy(),
    consumer=ConsumerPolicy(commit="after-process", retry_sink=True, dedupe_ids=True, dead_letter=True),
)

TWO_PHASE_COMMIT = Strategy(
    name="two-phase-commit",
    description="business write and enqueue committed atomically by 2PC through the coordinator (presumed abort); consumer as exactly-once",
    producer=ProducerPolicy(await_ack=True, retry=True, coupling="two-phase-commit"),
    broker=BrokerPolicy(),
    consumer=ConsumerPolicy(commit="in-sink", retry_sink=True, dead_letter=True),
)


def _planned(name: str, description: str, missing: str) -> Strategy:
    return Strategy(
        name=name,
        description=description,
        producer=ProducerPolicy(await_ack=True, retry=True),
        broker=BrokerPolicy(),
        consumer=ConsumerPolicy(commit="after-process", retry_sink=True),
        implemented=False,
        missing=missing,
    )


STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        AT_MOST_ONCE,
        AT_LEAST_ONCE,
        EXACTLY_ONCE,
        OUTBOX,
        TWO_PHASE_COMMIT,
        COMMIT_THEN_PUBLISH,
        PUBLISH_THEN_COMMIT,
    )
}


def unsupported_reason(name: str) -> str:
    s = STRATEGIES[name]
    return "" if s.implemented else s.missing
