"""What the results say, in words: each strategy's promises kept or broken, the top causes of
its losses and duplicates, and what the rates would mean per day at the configured rate.

Promise verdicts are read from the summary's ``promise_<name>`` columns when the run recorded
them; otherwise they are computed here with the checker's verdict layer
(``sim/check/promises.py``): each run's facts from its cell's config and fault schedule
(``sim/experiment/facts.py``, the schedule materialised again from the config, as the run
did), its counts from its summary row.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..check.promises import judge
from ..config import ExperimentConfig
from ..core.strategies import PRESETS
from ..experiment import plan
from ..experiment.facts import run_facts
from ..history import causes
from .frames import duplicates_frame

DAY = 86_400.0


@dataclass(frozen=True)
class PromiseLine:
    strategy: str
    promise: str
    status: str
    """kept, broken, not applicable, or mixed."""
    detail: str


def promise_lines(summary: pd.DataFrame, config: ExperimentConfig | None) -> tuple[list, str]:
    """(one line per strategy and promise, where the verdicts come from)."""
    recorded = [c for c in summary.columns if str(c).startswith("promise_")]
    if recorded:
        return _recorded(summary, recorded), "recorded by the runs (summary promise_* columns)"
    if config is None:
        return [], "not recorded"
    try:
        verdicts = _computed(summary, config)
    except Exception as exc:  # a config this version cannot plan again
        return [], f"not recorded, and could not be computed ({exc.__class__.__name__})"
    return verdicts, "computed from the config, the fault schedule and the summary counts"


def _recorded(summary: pd.DataFrame, columns: list[str]) -> list[PromiseLine]:
    out = []
    for strategy, rows in summary.groupby("strategy", sort=False):
        for col in columns:
            values = Counter(str(v) for v in rows[col].dropna())
            if values:
                out.append(_line(str(strategy), col[len("promise_") :], values, {}))
    return out


def _computed(summary: pd.DataFrame, config: ExperimentConfig) -> list[PromiseLine]:
    specs, _faults = plan(config)
    rows: dict[tuple[int, str, int], dict[str, Any]] = {}
    for r in summary.to_dict("records"):
        rows[(int(r["cell"]), str(r["strategy"]), int(r["replication"]))] = {
            str(k): v for k, v in r.items()
        }
    tallies: dict[tuple[str, str], Counter[str]] = {}
    why: dict[tuple[str, str], Counter[str]] = {}
    for spec in specs:
        row = rows.get((spec.cell, spec.strategy, spec.replication))
        strategy = PRESETS.get(spec.strategy)
        if row is None or strategy is None:
            continue
        facts = run_facts(ExperimentConfig.model_validate(spec.config), list(spec.schedule))
        for v in judge(strategy, facts, row):
            tallies.setdefault((spec.strategy, v.promise), Counter())[v.status] += 1
            if v.why:
                why.setdefault((spec.strategy, v.promise), Counter())[v.why] += 1
    return [
        _line(strategy, promise, counts, why.get((strategy, promise), {}))
        for (strategy, promise), counts in tallies.items()
    ]


def _line(strategy: str, promise: str, counts: Counter[str], why: Any) -> PromiseLine:
    n = sum(counts.values())
    reasons = "; ".join(sorted(why)[:2])
    if counts.get("broken"):
        k = counts["broken"]
        detail = f"broken in {k} of {n} run{'s' if n != 1 else ''}" + (
            f" ({reasons})" if reasons else ""
        )
        return PromiseLine(strategy, promise, "broken", detail)
    if counts.get("kept"):
        na = counts.get("not applicable", 0)
        detail = f"kept in {counts['kept']} of {n} runs" + (
            f"; not applicable in {na} ({reasons})" if na else ""
        )
        return PromiseLine(strategy, promise, "kept", detail)
    detail = "not applicable" + (f": its conditions fail ({reasons})" if reasons else "")
    return PromiseLine(strategy, promise, "not applicable", detail)


# --------------------------------------------------------------------------- causes in words


def phrase(cause: str, duplicate: bool) -> str:
    """A short reading of a cause for a sentence ("lost acknowledgements on a->b")."""
    c = causes.parse(cause)
    s, q = c.subject, c.qualifier
    words = {
        "drop": f"lost acknowledgements on {s}" if duplicate else f"messages dropped on {s}",
        "partition": f"the network partition on {s}",
        "duplicate": f"network duplication on {s}",
        "crash": f"the crash of {s}",
        "crash-after-ack": f"{s} crashing after it acknowledged, before processing",
        "redelivery-after-crash": f"redelivery after {s} crashed",
        "redelivery-after-visibility": f"redelivery after the visibility timeout ({s})",
        "redelivery": f"redelivery to {s}",
        "redelivery-bare": "redelivery before the offset was committed",
        "late-ack": f"late acknowledgements ({s} timed out and resent)",
        "state-lost": f"resends the broker could no longer recognise ({s})",
        "fenced": f"{s}'s old requests, fenced after its restart",
        "overflow": f"a full partition ({s})",
        "ttl": f"TTL expiry at {s}",
        "poison": f"poison events at {s}",
        "skipped": f"offsets committed past unprocessed records ({s})",
        "disk-loss": f"unflushed writes lost by {s}",
        "dead-letter": f"dead-lettering at {s} ({q})",
    }
    return words.get(c.kind, cause)


def top_causes(messages: pd.DataFrame, strategy: str, n: int = 3) -> list[str]:
    """Sentences: the top causes of one strategy's losses and duplicates, with their share
    ("85% of duplicates came from lost acknowledgements on broker-0->producer-0")."""
    if messages.empty or "strategy" not in messages.columns:
        return []
    own = messages[messages["strategy"].astype(str) == strategy]
    out = []
    if "loss_cause" in own.columns:
        lost = own.loc[own["fate"] == "lost", "loss_cause"].dropna().astype(str)
        out += _shares(lost, "lost events", n, duplicate=False)
    dups = duplicates_frame(own)
    if not dups.empty:
        out += _shares(dups["cause"].astype(str), "duplicates", n, duplicate=True)
    return out


def _shares(values: pd.Series, what: str, n: int, duplicate: bool) -> list[str]:
    total = len(values)
    if not total:
        return []
    counts = values.value_counts()
    lines = []
    for cause, k in counts.head(n).items():
        share = 100.0 * k / total
        lines.append(
            f"{share:.0f}% of {what} ({k:,} of {total:,}) came from "
            f"{phrase(str(cause), duplicate)} [{cause}]"
        )
    rest = total - int(counts.head(n).sum())
    if rest:
        lines.append(f"{100.0 * rest / total:.0f}% of {what} had {len(counts) - n} other causes")
    return lines


# --------------------------------------------------------------------------- per day


def per_day(summary: pd.DataFrame, config: ExperimentConfig | None) -> tuple[pd.DataFrame, str]:
    """Per (cell, strategy): events, losses, duplicates and phantoms a day at the configured
    rate, if the experiment's conditions lasted all day; and a sentence saying so."""
    if config is None or summary.empty or config.workload.arrivals is not None:
        return pd.DataFrame(), ""
    rate = config.workload.rate * config.workload.producers
    if rate <= 0:
        return pd.DataFrame(), ""
    daily = rate * DAY
    keys = [c for c in ("cell", "strategy") if c in summary.columns]
    rows = []
    for key, group in summary.groupby(keys, sort=False):
        values = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        intended = float(group["intended"].mean()) or math.nan
        row = {"cell": values.get("cell", 0), "strategy": values["strategy"]}
        for col, label in (
            ("lost", "lost"),
            ("duplicates", "duplicates"),
            ("phantoms", "phantoms"),
            ("aborted", "aborted"),
        ):
            if col in group.columns:
                row[f"{label} a day"] = daily * float(group[col].mean()) / intended
        rows.append(row)
    frame = pd.DataFrame(rows)
    for col in ("phantoms a day", "aborted a day"):  # only where they happen
        if col in frame.columns and not (frame[col].fillna(0) != 0).any():
            frame = frame.drop(columns=[col])
    note = (
        f"At the configured {config.workload.rate:g} events/s per producer x "
        f"{config.workload.producers} producer(s) = {daily:,.0f} events a day, if this "
        "experiment's faults went on all day:"
    )
    return frame, note
