"""The messages frame: one row per business event of a run, from the checker's verdict."""

from __future__ import annotations

import pandas as pd

from .state import Verdict, fate_of

MESSAGE_COLUMNS = [
    "id",
    "producer",
    "key",
    "partition",
    "created_at",
    "committed",
    "producer_outcome",
    "fate",
    "effects",
    "deliveries",
    "first_effect_at",
    "latency",
    "loss_cause",
    "duplicate_cause",
]


def messages_frame(v: Verdict) -> pd.DataFrame:
    """One row per event, built column by column (no tuple per row)."""
    events = v.events
    cols: dict[str, list[object]] = {c: [] for c in MESSAGE_COLUMNS}
    (ids, producers, keys, partitions, created, committed, outcomes, fates, effects,
     deliveries, first_effects, latencies, loss_causes, dup_causes) = cols.values()  # fmt: skip
    nan = float("nan")
    for eid, e in events.items():
        fate, cause = fate_of(e)
        ids.append(eid)
        producers.append(e.producer)
        keys.append(e.key)
        partitions.append(e.partition)
        created.append(e.created_at)
        committed.append(e.committed)
        outcomes.append(e.outcome)
        fates.append(fate)
        effects.append(e.effects)
        deliveries.append(e.deliveries)
        first_effects.append(e.first_effect_at)
        latencies.append(e.first_effect_at - e.created_at if e.effects > 0 else nan)
        loss_causes.append(cause)
        dup_causes.append("; ".join(e.duplicate_causes) if e.duplicate_causes else None)
    frame = pd.DataFrame(cols, columns=MESSAGE_COLUMNS)
    return frame.astype(
        {
            "key": "int64",
            "partition": "int64",
            "effects": "int64",
            "deliveries": "int64",
            "created_at": "float64",
            "first_effect_at": "float64",
            "latency": "float64",
            "committed": "bool",
            "loss_cause": "str",
            "duplicate_cause": "str",
        }
    )
