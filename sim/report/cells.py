"""Sweep cells as a reader sees them: which config paths were swept, what each is called,
its unit, and a label per cell (``p=0.2``) for chart panels and table rows.

Frames carry the swept values in their own columns (the summary's columns between ``cell``
and ``strategy``); the config, when at hand, names what a path such as
``faults.0.probability`` is (the drop fault on ``producer-0->broker-0``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .glossary import key_doc

#: Short names of swept fields in labels (``p=0.2``).
SHORT = {"probability": "p", "restart_after": "down", "request_timeout": "timeout"}


def swept_parameters(summary: pd.DataFrame) -> list[str]:
    """The swept config paths: the summary columns between ``cell`` and ``strategy``."""
    cols = list(summary.columns)
    if "cell" not in cols or "strategy" not in cols:
        return []
    return cols[cols.index("cell") + 1 : cols.index("strategy")]


def short_name(path: str) -> str:
    """What a swept path is called in a label: its last part, abbreviated (``p``)."""
    last = path.split(".")[-1]
    return SHORT.get(last, last)


def short_names(paths: list[str]) -> dict[str, str]:
    names = {p: short_name(p) for p in paths}
    if len(set(names.values())) < len(names):  # two paths end alike: keep their full paths
        return {p: p for p in paths}
    return names


def fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def cell_labels(frame: pd.DataFrame, summary: pd.DataFrame | None = None) -> dict[int, str]:
    """A label per cell of ``frame`` (``"p=0.2"``; ``"cell 3"`` when the values are unknown).

    The swept values are read from ``summary`` (or ``frame`` itself when it has them).
    """
    source = summary if summary is not None and not summary.empty else frame
    if frame.empty or "cell" not in frame.columns:
        return {}
    swept = swept_parameters(source)
    names = short_names(swept)
    values: dict[int, str] = {}
    if swept and "cell" in source.columns:
        for cell, rows in source.groupby("cell", sort=True):
            first = rows.iloc[0]
            values[int(cell)] = ", ".join(  # type: ignore[call-overload,arg-type]
                f"{names[p]}={fmt_value(first[p])}" for p in swept
            )
    cells = sorted({int(c) for c in frame["cell"].dropna()})
    return {c: values.get(c, f"cell {c}") for c in cells}


def _fault_of(config: Any, index: int) -> Any:
    faults = getattr(config, "faults", None)
    if faults is None and isinstance(config, dict):
        faults = config.get("faults")
    if not faults or index >= len(faults):
        return None
    return faults[index]


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _unit(path: str, config: Any) -> str:
    """The unit of a swept path, from the reference glossary."""
    parts = path.split(".")
    field = parts[-1]
    if parts[0] == "faults" and len(parts) >= 3 and parts[1].isdigit():
        fault = _fault_of(config, int(parts[1]))
        model = type(fault).__name__ if fault is not None and not isinstance(fault, dict) else ""
        doc = key_doc(model, field, "Fault")
    else:
        doc = _section_doc(parts)
    unit = doc[0] if doc else ""
    return "" if unit in ("probability",) else unit


SECTIONS = {
    "workload": "Workload",
    "topology": "Topology",
    "network": "Network",
    "broker": "Broker",
    "consumer_group": "ConsumerGroup",
    "producer": "Producer",
    "backoff": "Backoff",
    "outbox": "Outbox",
    "two_phase_commit": "TwoPhaseCommit",
}


def _section_doc(parts: list[str]) -> tuple[str, str] | None:
    if len(parts) == 1:
        return key_doc("ExperimentConfig", parts[0])
    model = SECTIONS.get(parts[-2], "")
    return key_doc(model, parts[-1]) if model else None


#: How a swept field reads on an axis, where its name alone is unclear.
WORDS = {"restart_after": "down time", "extra": "added latency"}


def _words(field: str) -> str:
    return WORDS.get(field, field.replace("_", " "))


def describe_parameter(path: str, config: Any = None) -> str:
    """An axis label for a swept path: what it is, its unit and the path itself, e.g.
    ``"drop producer-0->broker-0: probability (faults.0.probability)"``."""
    parts = path.split(".")
    unit = _unit(path, config)
    what = path
    if parts[0] == "faults" and len(parts) >= 3 and parts[1].isdigit():
        fault = _fault_of(config, int(parts[1]))
        if fault is not None:
            kind = _get(fault, "kind")
            target = next(
                (_get(fault, k) for k in ("link", "node", "nodes", "between") if _get(fault, k)),
                "",
            )
            on = f" {target}" if target and not isinstance(target, list) else ""
            what = f"{kind}{on}: {_words(parts[-1])} ({path})"
    else:
        what = f"{_words(parts[-1])} ({path})"
    return f"{what}, {unit}" if unit else what
