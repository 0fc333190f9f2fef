"""What the results say, in words: each strategy's promises kept or broken, the top causes of
its losses and duplicates, and what the rates would mean per day at the configured rate.

Promise verdicts are read from the summary's ``promise_<name>`` columns (why a promise broke
from ``promises_broken``, why it did not apply from ``promises_not_applicable``). A folder
written before runs recorded them is judged again here with the checker's verdict layer
(``sim/check/promises.py``): each run's facts from its cell's config and fault schedule
(``sim/experiment/facts.py``, the schedule materialised again from the config, every fault
counted as fired), its counts from its summary row.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..check.promises import judge, promise_column
from ..config import ExperimentConfig
from ..core.strategies import PROMISES
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
    """kept, broken, undecided or not applicable (the worst over its runs)."""
    detail: str


def promise_lines(summary: pd.DataFrame, config: ExperimentConfig | None) -> tuple[list, str]:
    """(one line per strategy and promise it makes, where the verdicts come from)."""
    columns = {promise_column(p): p for p in PROMISES if promise_column(p) in summary.columns}
    computed: dict[tuple[str, str], tuple[Counter[str], Counter[str]]] = {}
    problem = ""
    recorded_why = "promises_not_applicable" in summary.columns
    if config is not None and not (columns and recorded_why):
        try:
            computed = _computed(summary, config)
        except Exception as exc:  # a config this version cannot plan again
            problem = f", and could not be computed ({exc.__class__.__name__})"
    if columns:
        lines = _recorded(summary, columns, computed)
        return lines, "recorded by the runs (summary columns promise_*)"
    if computed:
        lines = [_line(s, p, counts, why) for (s, p), (counts, why) in computed.items()]
        return lines, "computed from the config, the fault schedule and the summary counts"
    return [], "not recorded" + problem


def _recorded(
    summary: pd.DataFrame,
    columns: dict[str, str],
    computed: dict[tuple[str, str], tuple[Counter[str], Counter[str]]],
) -> list[PromiseLine]:
    """The verdicts the runs recorded; reasons from ``promises_broken`` (broken) and
    ``promises_not_applicable`` (or, in an older folder, the computed verdicts)."""
    out = []
    for strategy, rows in summary.groupby("strategy", sort=False):
        for col, promise in columns.items():
            values = Counter(str(v) for v in rows[col].dropna() if str(v) != "not promised")
            if not values:
                continue
            why = computed.get((str(strategy), promise), (Counter(), Counter()))[1]
            if values.get("broken") and "promises_broken" in rows.columns:
                why = Counter(_broken_reasons(rows["promises_broken"], promise))
            elif "promises_not_applicable" in rows.columns:
                why = Counter(_broken_reasons(rows["promises_not_applicable"], promise))
            out.append(_line(str(strategy), promise, values, why))
    return out


def _broken_reasons(texts: pd.Series, promise: str) -> list[str]:
    """What ``promises_broken`` (or ``promises_not_applicable``) says about ``promise`` in each
    run it names it."""
    names = "|".join(re.escape(p) for p in PROMISES)
    found = []
    for text in texts.dropna().astype(str):
        for part in re.split(rf"; (?=(?:{names}): )", text):
            if part.startswith(f"{promise}: "):
                found.append(part[len(promise) + 2 :])
    return found


def _computed(
    summary: pd.DataFrame, config: ExperimentConfig
) -> dict[tuple[str, str], tuple[Counter[str], Counter[str]]]:
    """Per (strategy, promise): the verdicts' statuses and reasons, judged again from each
    run's facts (its cell's config and fault schedule) and its summary counts."""
    specs, _faults = plan(config)
    rows: dict[tuple[int, str, int], dict[str, Any]] = {}
    for r in summary.to_dict("records"):
        rows[(int(r["cell"]), str(r["strategy"]), int(r["replication"]))] = {
            str(k): v for k, v in r.items()
        }
    out: dict[tuple[str, str], tuple[Counter[str], Counter[str]]] = {}
    for spec in specs:
        row = rows.get((spec.cell, spec.strategy, spec.replication))
        if row is None:
            continue
        cfg = ExperimentConfig.model_validate(spec.config)
        facts = run_facts(cfg, list(spec.schedule))
        for v in judge(cfg.strategy(spec.strategy), facts, row):
            counts, why = out.setdefault((spec.strategy, v.promise), (Counter(), Counter()))
            counts[v.status] += 1
            if v.why:
                why[v.why] += 1
    return out


def _line(strategy: str, promise: str, counts: Counter[str], why: Any) -> PromiseLine:
    n = sum(counts.values())
    reasons = "; ".join(w for w, _ in Counter(why).most_common(2))
    if counts.get("broken"):
        k = counts["broken"]
        detail = f"broken in {k} of {n} run{'s' if n != 1 else ''}" + (
            f" ({reasons})" if reasons else ""
        )
        return PromiseLine(strategy, promise, "broken", detail)
    if counts.get("undecided"):
        k = counts["undecided"]
        detail = f"undecided in {k} of {n} run{'s' if n != 1 else ''}: nothing lost, but " + (
            f"events still pending at the end ({reasons}): a longer drain tells"
        )
        return PromiseLine(strategy, promise, "undecided", detail)
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
        "abort": f"{_fault(s)} ({q})" if s and q else _abort(q) or cause,
    }
    return words.get(c.kind, cause)


def _abort(why: str) -> str:
    """A transaction's abort reason in words ("the crash of producer-0, its transaction open")."""
    if why.startswith(causes.CRASHED_OPEN):
        return f"the crash of {why[len(causes.CRASHED_OPEN):]}, its transaction open"
    return why


def _fault(cause: str) -> str:
    """A fault named in a cause, in words ("the crash of coordinator")."""
    c = causes.parse(cause)
    if c.kind == "crash":
        return f"the crash of {c.subject}"
    if c.kind == "drop":
        return f"messages dropped on {c.subject}"
    if c.kind in ("partition", "duplicate", "delay"):
        return f"the {c.kind} fault on {c.subject}"
    return cause


def top_causes(messages: pd.DataFrame, strategy: str, n: int = 3) -> list[str]:
    """Sentences: the top causes of one strategy's losses, duplicates, refused events and
    transactions aborted by faults, with their share ("85% of duplicates came from lost
    acknowledgements on broker-0->producer-0")."""
    if messages.empty or "strategy" not in messages.columns:
        return []
    own = messages[messages["strategy"].astype(str) == strategy]
    out = []
    if "loss_cause" in own.columns:
        why = own["loss_cause"].astype("string")
        out += _shares(why[own["fate"] == "lost"].dropna(), "lost events", n, duplicate=False)
    dups = duplicates_frame(own)
    if not dups.empty:
        out += _shares(dups["cause"].astype(str), "duplicates", n, duplicate=True)
    if "loss_cause" in own.columns:
        refused = why[own["fate"] == "refused"].dropna()
        out += _shares(refused, "refused events", n, duplicate=False)
        aborted = why[own["fate"] == "aborted"].dropna()
        aborted = aborted[aborted.map(causes.is_fault_abort)]
        out += _shares(aborted, "transactions aborted by faults", n, duplicate=False)
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
    """Per (cell, group, strategy): losses, duplicates and phantoms a day at the cell's
    configured rate (a sweep may set ``workload.rate`` or ``workload.producers``), if the
    experiment's conditions lasted all day; and a sentence saying so."""
    if config is None or summary.empty or config.workload.arrivals is not None:
        return pd.DataFrame(), ""
    grouped = "group" in summary.columns and summary["group"].nunique() > 1
    keys = [c for c in ("cell", "group", "strategy") if c in summary.columns]
    keys = [k for k in keys if k != "group" or grouped]
    rows, rates = [], set()
    for key, runs in summary.groupby(keys, sort=False):
        values = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        rate = _swept(runs, "workload.rate", config.workload.rate)
        rate *= _swept(runs, "workload.producers", config.workload.producers)
        if rate <= 0:
            continue
        rates.add(rate)
        intended = float(runs["intended"].mean()) or math.nan
        row = {k: values.get(k, 0) for k in keys}
        for col in ("lost", "duplicates", "phantoms", "aborted"):
            if col in runs.columns:
                row[f"{col} a day"] = rate * DAY * float(runs[col].mean()) / intended
        rows.append(row)
    frame = pd.DataFrame(rows)
    for col in ("phantoms a day", "aborted a day"):  # only where they happen
        if col in frame.columns and not (frame[col].fillna(0) != 0).any():
            frame = frame.drop(columns=[col])
    if frame.empty:
        return pd.DataFrame(), ""
    w = config.workload
    if rates == {w.rate * w.producers}:
        at = (
            f"At the configured {w.rate:g} events/s per producer x {w.producers} producer(s) = "
            f"{w.rate * w.producers * DAY:,.0f} events a day"
        )
    elif len(rates) == 1:
        (rate,) = rates
        at = f"At the configured {rate:g} events/s in all = {rate * DAY:,.0f} events a day"
    else:
        at = "At each cell's configured rate (the sweep sets it)"
    return frame, f"{at}, if this experiment's faults went on all day:"


def _swept(runs: pd.DataFrame, path: str, default: float) -> float:
    """A run's value of a config path: its sweep column when the sweep sets it."""
    if path in runs.columns and runs[path].notna().any():
        return float(runs[path].dropna().iloc[0])
    return float(default)
