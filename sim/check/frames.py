"""The messages frame: one row per business event of a run, from the checker's verdict."""

from __future__ import annotations

import pandas as pd

from .state import Verdict

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
    rows = []
    for eid, e in v.events.items():
        latency = e.first_effect_at - e.created_at if e.effects > 0 else float("nan")
        dup = "; ".join(e.duplicate_causes) if e.duplicate_causes else None
        rows.append(
            (
                eid,
                e.producer,
                e.key,
                e.partition,
                e.created_at,
                e.committed,
                e.outcome,
                v.fates[eid],
                e.effects,
                e.deliveries,
                e.first_effect_at,
                latency,
                v.causes[eid],
                dup,
            )
        )
    frame = pd.DataFrame(rows, columns=MESSAGE_COLUMNS)
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
