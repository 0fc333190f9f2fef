"""A strategy composed in the config: a mapping in ``strategies:`` instead of a preset name.

```yaml
strategies:
  - at-least-once
  - name: my-pipeline
    like: at-least-once-idempotent   # start from a preset (optional)
    consumer: {dedupe_retention: 30}
    promises: [no-loss, no-duplicates]
```

Each role section sets the behaviours of :mod:`sim.core.strategies` by their names; what a
section does not set (or sets to null) comes from ``like`` (without ``like``:
``producer.publisher`` and ``consumer.commit`` are required). ``promises`` replaces the
preset's: a promise the preset also makes keeps its conditions, a new one applies
unconditionally.
"""

from __future__ import annotations

import difflib
from dataclasses import replace
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from ..core.strategies import (
    PRESETS,
    BrokerRole,
    CommitMode,
    ConsumerRole,
    Coupling,
    ProducerRole,
    Promise,
    PromiseName,
    Publisher,
    Strategy,
)
from .base import Bool, Model, PosFloat


class ProducerSpec(Model):
    publisher: Publisher | None = None
    coupling: Coupling | None = None


class BrokerSpec(Model):
    dedupe_producer_retries: Bool | None = None


class ConsumerSpec(Model):
    commit: CommitMode | None = None
    retry_sink: Bool | None = None
    dedupe_ids: Bool | None = None
    dedupe_retention: PosFloat | Literal["forever"] | None = None
    """Seconds a processed id is kept, or ``forever``."""
    dead_letter: Bool | None = None


class StrategySpec(Model):
    name: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")]
    """Part of the file names of its runs (``runs/c0-NAME-r0.json``): at most 100 letters,
    digits, ``.``, ``_`` and ``-``."""
    like: str | None = None
    description: str = ""
    producer: ProducerSpec = ProducerSpec()
    broker: BrokerSpec = BrokerSpec()
    consumer: ConsumerSpec = ConsumerSpec()
    promises: list[PromiseName] | None = None

    @field_validator("name")
    @classmethod
    def _own_name(cls, v: str) -> str:
        if v in PRESETS:
            raise ValueError(
                f"{v!r} is a preset's name: a strategy of your own needs a name of its own (its "
                f"rows, runs and chart colours are named after it), e.g. 'my-{v}'; to run the "
                f"preset itself, list it by name: - {v}"
            )
        return v

    @field_validator("like")
    @classmethod
    def _like(cls, v: str | None) -> str | None:
        if v is not None and v not in PRESETS:
            hint = difflib.get_close_matches(v, list(PRESETS), n=1)
            extra = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise ValueError(f"unknown preset {v!r}{extra}; allowed: {', '.join(PRESETS)}")
        return v

    @model_validator(mode="after")
    def _complete(self) -> StrategySpec:
        if self.like is None:
            missing = [
                f"{role}.{key}"
                for role, key in (("producer", "publisher"), ("consumer", "commit"))
                if getattr(getattr(self, role), key) is None
            ]
            if missing:
                raise ValueError(
                    f"strategy {self.name!r} sets neither `like` (a preset to start from) nor "
                    f"{' and '.join(missing)}"
                )
        return self

    def build(self) -> Strategy:
        """The strategy: ``like``'s behaviours with this mapping's settings over them."""
        base = PRESETS[self.like] if self.like else None
        producer = _merge(base.producer if base else None, ProducerRole, self.producer)
        broker = _merge(base.broker if base else BrokerRole(), BrokerRole, self.broker)
        consumer = _merge(base.consumer if base else None, ConsumerRole, self.consumer)
        promises = base.promises if base else ()
        if self.promises is not None:
            kept = {p.name: p for p in promises}
            promises = tuple(kept.get(name, Promise(name)) for name in self.promises)
        description = self.description or (
            f"{base.description} (composed: {self.name})" if base else f"composed: {self.name}"
        )
        return Strategy(self.name, description, producer, consumer, broker, promises)


_DEFAULTS: dict[type, dict[str, Any]] = {ConsumerRole: {"retry_sink": True}}


def _merge(base: Any, kind: type, spec: Model) -> Any:
    """``base`` (a role) with the fields ``spec`` sets; without a base, ``kind`` from them
    (a consumer retries its sink transaction unless told otherwise)."""
    given = {k: getattr(spec, k) for k in spec.model_fields_set if getattr(spec, k) is not None}
    if given.get("dedupe_retention") == "forever":
        given["dedupe_retention"] = None
    if base is None:
        return kind(**{**_DEFAULTS.get(kind, {}), **given})
    return replace(base, **given)


StrategyEntry = str | StrategySpec
"""An entry of ``strategies:``: a preset's name or a composed strategy."""


def entry_name(entry: StrategyEntry) -> str:
    return entry if isinstance(entry, str) else entry.name


def composed(entries: list[StrategyEntry]) -> dict[str, Strategy]:
    """The composed strategies among ``entries``, by name."""
    return {e.name: e.build() for e in entries if isinstance(e, StrategySpec)}


def describe_roles(s: Strategy) -> str:
    """One line of a strategy's behaviours (``msgsim validate``)."""
    c = s.consumer
    consumer = [f"commit {c.commit}"]
    if c.dedupe_ids:
        keep = "for ever" if c.dedupe_retention is None else f"{c.dedupe_retention:g} s"
        consumer.append(f"processed-id table kept {keep}")
    if c.dead_letter:
        consumer.append("dead-letters")
    broker = "dedupes producer retries" if s.broker.dedupe_producer_retries else "appends all"
    return (
        f"producer {s.producer.publisher} ({s.producer.coupling}); broker {broker}; "
        f"consumer {', '.join(consumer)}; promises: "
        + (", ".join(_promise(p) for p in s.promises) or "none")
    )


def _promise(p: Promise) -> str:
    return p.name + (f" if {' and '.join(p.conditions)}" if p.conditions else "")
