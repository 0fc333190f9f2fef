"""Frames derived from the recorded ones: one row per duplicate effect, ``faults.csv`` (the
schedule with the time each fault fired, see ``sim/report/results.py``), and the question a
config file asks (its leading comment)."""

from __future__ import annotations

from typing import Any

import pandas as pd

DUPLICATE_COLUMNS = ["strategy", "cell", "replication", "group", "id", "effect", "cause"]


def duplicates_frame(messages: pd.DataFrame) -> pd.DataFrame:
    """One row per duplicate effect of a committed event, from the messages frame's
    ``duplicate_cause``: the rows the summary's ``duplicates`` counts (an aborted event's
    effects are all phantoms)."""
    if messages.empty or "duplicate_cause" not in messages.columns:
        return pd.DataFrame(columns=DUPLICATE_COLUMNS)
    repeated = messages["duplicate_cause"].notna()
    if "committed" in messages.columns:
        repeated &= messages["committed"].fillna(False).astype(bool)
    rows = messages[repeated]
    keys = [c for c in DUPLICATE_COLUMNS[:5] if c in rows.columns]
    each = rows[keys].assign(cause=rows["duplicate_cause"].astype(str).str.split("; "))
    each = each.explode("cause")
    each.insert(len(keys), "effect", each.groupby(level=0).cumcount() + 2)
    return each.reset_index(drop=True)


def question_text(source: str) -> str:
    """The leading comment of a YAML text, without its ``#`` marks."""
    lines: list[str] = []
    for line in source.splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            if stripped or lines:
                break
            continue
        lines.append(stripped[1:].strip())
    return "\n".join(lines).strip()


def fault_log(
    faults: pd.DataFrame, fired: pd.DataFrame | None, strategies: list[str]
) -> pd.DataFrame:
    """``faults.csv``: the schedule plus ``strategy`` and ``fired_at`` (module docstring)."""
    if faults.empty:
        return faults.assign(strategy=pd.Series(dtype=object), fired_at=pd.Series(dtype=float))
    starts: dict[tuple[Any, ...], Any] = {}
    if fired is not None and not fired.empty:
        for run in fired.to_dict("records"):
            starts[(run["cell"], run["replication"], run["strategy"], run["fault"])] = run["start"]
    rows: list[dict[Any, Any]] = []
    step = faults["on"].notna() if "on" in faults.columns else pd.Series(False, faults.index)
    for i, row in enumerate(faults.to_dict("records")):
        if not step.iloc[i]:
            rows.append({**row, "strategy": None, "fired_at": row["at"]})
            continue
        for s in strategies:
            when = starts.get((row["cell"], row["replication"], s, row["fault"]), float("nan"))
            rows.append({**row, "strategy": s, "fired_at": when})
    out = pd.DataFrame(rows, columns=[*faults.columns, "strategy", "fired_at"])
    types: dict[Any, Any] = {c: t for c, t in faults.dtypes.items()}
    return out.astype(types | {"fired_at": "float64"})


def schedule_of(log: pd.DataFrame) -> pd.DataFrame:
    """The schedule back from ``faults.csv``: one row per (cell, replication, fault)."""
    if "fired_at" not in log.columns:
        return log
    keys = [c for c in ("cell", "replication", "fault") if c in log.columns]
    schedule = log.drop_duplicates(keys) if keys else log
    return schedule.drop(columns=["strategy", "fired_at"]).reset_index(drop=True)
