"""The summary table a person reads: one row per (cell, strategy[, group]), the mean of its
replications, counts as whole numbers, rates in percent, latencies in milliseconds.

The columns are those that matter for the experiment: the swept parameters (``p``), the
fate counts that add up (``committed = processed + lost + pending + dead-lettered +
expired``; with aborted or refused events, ``intended = committed + aborted + refused``), and
phantoms, aborted, refused, dead letters, expired, in doubt, order violations and blocked time
only where they are not zero anywhere; plus the config's ``sweep.metrics``. ``msgsim run``
prints it, and the HTML report and ``Results.table()`` show it.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ..core.metrics import METRICS
from .cells import fmt_value, short_names, swept_parameters

#: (summary column, header); always shown.
ALWAYS = [
    ("intended", "intended"),
    ("processed", "processed"),
    ("lost", "lost"),
    ("pending", "pending"),
    ("duplicates", "duplicates"),
]
#: Shown only when not zero in some row.
WHEN_NONZERO = [
    ("aborted", "aborted"),
    ("aborted_by_faults", "by faults"),
    ("refused", "refused"),
    ("committed", "committed"),
    ("phantoms", "phantoms"),
    ("dead_lettered", "dead-lettered"),
    ("expired", "expired"),
    ("in_doubt", "in doubt"),
    ("order_violations", "out of order"),
]
RATES = [
    ("loss_rate", "loss"),
    ("duplicate_rate", "dup"),
    ("latency_p50", "p50 ms"),
    ("latency_p99", "p99 ms"),
    ("throughput", "events/s"),
    ("blocked_time", "blocked s"),
    ("network_messages", "messages"),
]


def _shown(summary: pd.DataFrame, extra: list[str]) -> list[tuple[str, str]]:
    cols = set(summary.columns)

    def nonzero(c: str) -> bool:
        return c in cols and bool((pd.to_numeric(summary[c], errors="coerce").fillna(0) != 0).any())

    aborted = nonzero("aborted") or nonzero("refused")
    chosen = [(c, h) for c, h in ALWAYS if c in cols]
    for c, h in WHEN_NONZERO:
        if (c == "committed" and aborted) or (c != "committed" and nonzero(c)):
            chosen.append((c, h))
    for c, h in RATES:
        if c in cols and (c != "blocked_time" or nonzero(c)):
            chosen.append((c, h))
    have = {c for c, _ in chosen}
    chosen += [(m, m.replace("_", " ")) for m in extra if m in cols and m not in have]
    return chosen


def format_value(column: str, value: float) -> str:
    """A mean as shown: a count as a whole number, a rate in %, a latency in ms."""
    if value is None or not math.isfinite(value):
        return "-"
    m = METRICS.get(column)
    kind = m.kind if m is not None else "count"
    if kind == "rate":
        return _pct(value * 100.0)
    if column.startswith("latency"):
        return f"{value * 1000.0:.3g}" if value * 1000 < 1000 else f"{value * 1000.0:,.0f}"
    if kind == "count":
        return f"{round(value):,}"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def _pct(p: float) -> str:
    if p == 0:
        return "0%"
    if abs(p) < 0.01:
        return "<0.01%"
    return f"{p:.2f}%" if abs(p) < 10 else f"{p:.1f}%"


def summary_table(summary: pd.DataFrame, metrics: list[str] | None = None) -> pd.DataFrame:
    """The table as text cells: swept parameters, strategy, then the chosen columns."""
    if summary.empty or "strategy" not in summary.columns:
        return pd.DataFrame()
    swept = swept_parameters(summary)
    names = short_names(swept)
    shown = _shown(summary, metrics or [])
    grouped = "group" in summary.columns and summary["group"].nunique() > 1
    keys = [c for c in ("cell", *swept, "strategy") if c in summary.columns]
    keys += ["group"] if grouped else []
    rows: list[dict[str, Any]] = []
    for key, group in summary.groupby(keys, sort=False, dropna=False):
        values = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        row = {names[p]: fmt_value(values[p]) for p in swept}
        row["strategy"] = str(values["strategy"])
        if grouped:
            row["group"] = str(values["group"])
        for column, header in shown:
            mean = pd.to_numeric(group[column], errors="coerce").mean()
            row[header] = format_value(column, float(mean))
        rows.append(row)
    return pd.DataFrame(rows)


def replications_note(summary: pd.DataFrame) -> str:
    """What a row averages: "mean of 3 replications" (or "1 replication")."""
    if summary.empty or "strategy" not in summary.columns:
        return ""
    keys = [c for c in ("cell", "strategy", "group") if c in summary.columns]
    sizes = summary.groupby(keys, sort=False).size()
    low, high = int(sizes.min()), int(sizes.max())
    if high == 1:
        return "each row is 1 replication"
    n = f"{low}-{high}" if low != high else f"{high}"
    return f"each row is the mean of {n} replications (counts rounded)"


def format_table(summary: pd.DataFrame, metrics: list[str] | None = None) -> str:
    """The table as text for a terminal, with the note of what is averaged below it."""
    table = summary_table(summary, metrics)
    if table.empty:
        return "no runs finished"
    text = table.to_string(index=False)
    return f"{text}\n{replications_note(summary)}; loss and dup in % of committed events"
