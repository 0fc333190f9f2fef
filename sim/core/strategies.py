"""Strategies as data: one behaviour per role, plus the guarantees the strategy promises.

Nothing in the model asks which strategy runs. A role looks up the behaviour its strategy
names (``sim/model/producer/publishers.py``, ``couplings.py``, ``sim/model/consumer/commit.py``)
and asks it what to do at each decision point. A preset that recombines existing behaviours is
one entry in :data:`PRESETS`; :func:`register` adds one at run time.

A *promise* is a guarantee (``no-loss``, ``no-duplicates``, ``no-phantoms``, ``per-key-order``)
and the *conditions* under which the strategy keeps it (names from :data:`CONDITIONS`). The
checker's verdict layer (``sim/check/promises.py``) decides, per run, whether each promise
applies and whether it held.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Publisher = Literal["fire-and-forget", "retrying", "idempotent"]
Coupling = Literal[
    "none", "commit-then-publish", "publish-then-commit", "outbox", "two-phase-commit"
]
CommitMode = Literal["on-receipt", "after-process", "in-sink"]
PromiseName = Literal["no-loss", "no-duplicates", "no-phantoms", "per-key-order"]

PUBLISHERS: dict[str, str] = {
    "fire-and-forget": "send once without waiting for an acknowledgement; report success at once",
    "retrying": "resend after producer.request_timeout with backoff until acknowledged",
    "idempotent": "producer id and epoch, a sequence per partition, at most max_in_flight "
    "requests per partition; the broker recognises resends",
}
COUPLINGS: dict[str, str] = {
    "none": "no business transaction: the event is published as it arrives",
    "commit-then-publish": "dual write: commit the local transaction, then publish",
    "publish-then-commit": "dual write: publish, then commit the local transaction",
    "outbox": "business row and outbox row in one local transaction; a relay publishes",
    "two-phase-commit": "business write and message committed atomically through the coordinator",
}
COMMIT_MODES: dict[str, str] = {
    "on-receipt": "commit (acknowledge) the fetched offsets, then process",
    "after-process": "process, then commit processed offsets every auto_commit_interval",
    "in-sink": "store the consumed offset in the same sink transaction as the effect",
}
PROMISES: dict[str, str] = {
    "no-loss": "every committed event is processed, dead-lettered or expired: none is lost",
    "no-duplicates": "no committed event's effect is applied more than once",
    "no-phantoms": "no effect of an event whose business transaction rolled back",
    "per-key-order": "effects of one producer's events of one key are applied in creation order",
}
#: Conditions a promise may depend on. Each is decided per run from the config and the
#: materialised fault schedule (``sim/check/promises.py``, ``sim/experiment/facts.py``).
CONDITIONS: dict[str, str] = {
    "brokers-keep-acked-writes": "no broker loses an acknowledged record (fsync, or no crash that "
    "loses unflushed or in-memory writes)",
    "producers-stay-up": "no producer crash fires during the run (a crashed producer loses "
    "the events it had not had acknowledged)",
    "dedupe-state-kept": "brokers keep the idempotent producers' sequence state (dedupe_durable, "
    "no dedupe_window expiry, no in-memory broker crash)",
    "no-network-duplication": "the network never delivers a message twice",
    "unlimited-retries": "producer.retries is null (retry until acknowledged)",
    "no-overflow-discard": "no bounded partition discards or rejects records",
    "dedupe-retention-covers-run": "an idempotent consumer keeps processed ids at least as long "
    "as the run (duration + drain), so no redelivery outlives its entry",
}


@dataclass(frozen=True)
class ProducerRole:
    """How the producing service hands an event to the broker."""

    publisher: Publisher
    coupling: Coupling = "none"


@dataclass(frozen=True)
class BrokerRole:
    """What the broker does with what it receives."""

    dedupe_producer_retries: bool = False
    """Keep idempotent producers' sequences; acknowledge a recognised resend without appending."""


@dataclass(frozen=True)
class ConsumerRole:
    """When a consumer commits its position relative to applying the effect."""

    commit: CommitMode
    retry_sink: bool
    """Retry the sink transaction until the sink acknowledges it (else one attempt)."""
    dedupe_ids: bool = False
    """Idempotent consumer: the sink transaction records the event id and skips known ids."""
    dedupe_retention: float | None = None
    """How long the sink keeps a processed id (seconds; None: for ever). A redelivery later
    than this is applied again."""
    dead_letter: bool = False
    """An event whose processing keeps failing goes to the dead-letter queue after
    ``broker.max_receives`` attempts (else one attempt, then it is dropped)."""


@dataclass(frozen=True)
class Promise:
    name: PromiseName
    conditions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Strategy:
    name: str
    description: str
    producer: ProducerRole
    consumer: ConsumerRole
    broker: BrokerRole = BrokerRole()
    promises: tuple[Promise, ...] = field(default=())

    @property
    def needs_database(self) -> bool:
        """Whether events are business transactions in the producer's database."""
        return self.producer.coupling != "none"


_DURABLE = ("brokers-keep-acked-writes", "no-overflow-discard")
_ALO_LOSS = Promise("no-loss", (*_DURABLE, "producers-stay-up", "unlimited-retries"))

PRESETS: dict[str, Strategy] = {}


def register(strategy: Strategy) -> Strategy:
    """Add a preset (by its name); a preset composed of existing behaviours is one call."""
    PRESETS[strategy.name] = strategy
    return strategy


register(
    Strategy(
        name="at-most-once",
        description="send once without waiting; commit on receipt, then process",
        producer=ProducerRole("fire-and-forget"),
        consumer=ConsumerRole(commit="on-receipt", retry_sink=False),
        promises=(Promise("no-duplicates", ("no-network-duplication",)),),
    )
)
register(
    Strategy(
        name="at-least-once",
        description="retry until acked; process, then commit; redeliver what was not committed",
        producer=ProducerRole("retrying"),
        consumer=ConsumerRole(commit="after-process", retry_sink=True, dead_letter=True),
        promises=(_ALO_LOSS,),
    )
)
register(
    Strategy(
        name="exactly-once",
        description="idempotent producer (id, epoch, sequences; broker dedupes resends); "
        "effect and offset in one sink transaction",
        producer=ProducerRole("idempotent"),
        broker=BrokerRole(dedupe_producer_retries=True),
        consumer=ConsumerRole(commit="in-sink", retry_sink=True, dead_letter=True),
        promises=(
            _ALO_LOSS,
            Promise(
                "no-duplicates",
                ("dedupe-state-kept", "brokers-keep-acked-writes", "unlimited-retries"),
            ),
        ),
    )
)
register(
    Strategy(
        name="outbox",
        description="business row + outbox row in one local transaction; a relay publishes with "
        "retries and marks them sent; idempotent consumer",
        producer=ProducerRole("retrying", coupling="outbox"),
        consumer=ConsumerRole(
            commit="after-process", retry_sink=True, dedupe_ids=True, dead_letter=True
        ),
        promises=(
            Promise("no-loss", _DURABLE),
            Promise("no-duplicates", ()),
            Promise("no-phantoms", ()),
        ),
    )
)
register(
    Strategy(
        name="two-phase-commit",
        description="business write and enqueue committed atomically by 2PC through the "
        "coordinator "
        "(presumed abort); consumer as exactly-once",
        producer=ProducerRole("retrying", coupling="two-phase-commit"),
        consumer=ConsumerRole(commit="in-sink", retry_sink=True, dead_letter=True),
        promises=(
            Promise("no-loss", _DURABLE),
            Promise("no-duplicates", ("brokers-keep-acked-writes",)),
            Promise("no-phantoms", ()),
        ),
    )
)
register(
    Strategy(
        name="commit-then-publish",
        description="dual write: commit the business transaction, then publish (at-least-once); "
        "a crash in between loses the event",
        producer=ProducerRole("retrying", coupling="commit-then-publish"),
        consumer=ConsumerRole(commit="after-process", retry_sink=True, dead_letter=True),
        promises=(Promise("no-phantoms", ()),),
    )
)
register(
    Strategy(
        name="publish-then-commit",
        description="dual write: publish (at-least-once), then commit; an abort or a crash in "
        "between makes a phantom",
        producer=ProducerRole("retrying", coupling="publish-then-commit"),
        consumer=ConsumerRole(commit="after-process", retry_sink=True, dead_letter=True),
    )
)

register(
    Strategy(
        name="at-least-once-idempotent",
        description="retry until acked; process, then commit; an idempotent consumer: a "
        "processed-id table in the sink transaction, kept for dedupe_retention (1 h)",
        producer=ProducerRole("retrying"),
        consumer=ConsumerRole(
            commit="after-process",
            retry_sink=True,
            dedupe_ids=True,
            dedupe_retention=3600.0,
            dead_letter=True,
        ),
        promises=(_ALO_LOSS, Promise("no-duplicates", ("dedupe-retention-covers-run",))),
    )
)
register(
    Strategy(
        name="idempotent-producer",
        description="Kafka's idempotent producer (the broker dedupes resends) with an "
        "at-least-once consumer (process, then commit)",
        producer=ProducerRole("idempotent"),
        broker=BrokerRole(dedupe_producer_retries=True),
        consumer=ConsumerRole(commit="after-process", retry_sink=True, dead_letter=True),
        promises=(_ALO_LOSS,),
    )
)

#: The five strategies the project exists for: the default of ``strategies:``.
CONTRACT_STRATEGIES = (
    "at-most-once",
    "at-least-once",
    "exactly-once",
    "outbox",
    "two-phase-commit",
)
