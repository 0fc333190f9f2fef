"""Fault windows for timelines, true for what a chart draws.

A timeline averages the replications of one cell, so its shading shows the faults of every
replication: a window every replication had is drawn once; windows that differ between
replications (``random`` faults) are drawn each at a fraction of the opacity, so the union
shows, darker where more replications had the fault, and the legend says so.

Step-triggered crashes fire at a different time in each strategy's run; ``faults.csv`` has one
row per strategy for them with ``fired_at`` (see ``sim/report/results.py``). They are drawn as
lines and spans in the strategy's colour. Faults that cannot act (a drop, duplicate or
reorder with probability 0) are not drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .style import DEFAULT_FAULT_STYLE, FAULT_STYLE, HATCHES

INSTANT_KINDS = frozenset({"disk-loss"})
_PROBABLE = frozenset({"drop", "duplicate", "reorder"})
ALPHA = 0.22


@dataclass(frozen=True)
class Window:
    group: str
    """What the legend calls it (kind and target, or the random generator)."""
    kind: str
    start: float
    end: float
    replication: int
    strategy: str | None = None
    """Set for a step-triggered crash: the strategy in whose run it fired."""


def _num(row: pd.Series, col: str) -> float:
    value = row.get(col) if col in row.index else None
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return out


def _text(row: pd.Series, col: str) -> str:
    value = row.get(col) if col in row.index else None
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = str(value)
    return "" if text in ("nan", "None", "<NA>") else text


def _group(row: pd.Series, kind: str) -> str:
    source = _text(row, "source")
    if source.endswith("/random"):
        return f"{kind} (random, {source.split('/')[0]})"
    target = _text(row, "target")
    on = _text(row, "on")
    if on:
        return f"crash {target} on {on}"
    return f"{kind} {target}".strip()


def windows(faults: pd.DataFrame | None, cell: int | None, right: float) -> list[Window]:
    """The windows of one cell's faults (every replication); ``right`` ends open windows."""
    if faults is None or faults.empty or "kind" not in faults.columns:
        return []
    rows = faults
    if cell is not None and "cell" in rows.columns:
        rows = rows[rows["cell"] == cell]
    out: list[Window] = []
    for _, row in rows.iterrows():
        w = _window(row, right)
        if w is not None:
            out.append(w)
    return out


def _window(row: pd.Series, right: float) -> Window | None:
    kind = str(row["kind"])
    if kind in _PROBABLE and _num(row, "probability") == 0:
        return None
    strategy = _text(row, "strategy") or None
    start = _num(row, "fired_at") if "fired_at" in row.index else _num(row, "at")
    if not math.isfinite(start):
        start = _num(row, "at")
    if not math.isfinite(start):
        return None  # a step-triggered crash that did not fire (or whose time is unknown)
    if kind in INSTANT_KINDS:
        end = start
    else:
        length = _num(row, "restart_after" if kind == "crash" else "duration")
        end = start + length if math.isfinite(length) else max(right, start)
    rep = _num(row, "replication")
    return Window(
        _group(row, kind),
        kind,
        start,
        min(end, max(right, start)),
        int(rep) if math.isfinite(rep) else 0,
        strategy,
    )


def shade(
    ax: Axes, found: list[Window], replications: int, colours: dict[str, str]
) -> dict[str, Patch | Line2D]:
    """Draw the windows on ``ax``; return a legend handle per group (label -> handle)."""
    handles: dict[str, Patch | Line2D] = {}
    kinds_seen: dict[str, int] = {}
    groups = list(dict.fromkeys(w.group for w in found))
    for group in groups:
        own = [w for w in found if w.group == group]
        kind = own[0].kind
        colour, hatch = FAULT_STYLE.get(kind, DEFAULT_FAULT_STYLE)
        n_kind = kinds_seen.get(kind, 0)
        kinds_seen[kind] = n_kind + 1
        hatch = HATCHES[(HATCHES.index(hatch) + n_kind) % len(HATCHES)] if hatch else hatch
        if own[0].strategy is not None:
            handles.update(_step_crashes(ax, group, own, replications, colours))
            continue
        label, alpha, spans = _union(group, own, replications)
        for start, end in spans:
            _span(ax, start, end, colour, hatch, alpha, kind)
        handles[label] = (
            Line2D([], [], color=colour, linestyle=":", linewidth=1.5)
            if kind in INSTANT_KINDS or all(e <= s for s, e in spans)
            else Patch(facecolor=colour, edgecolor=colour, hatch=hatch, alpha=ALPHA + 0.1)
        )
    return handles


def _union(
    group: str, own: list[Window], replications: int
) -> tuple[str, float, list[tuple[float, float]]]:
    """(legend label, opacity, spans): one set of spans if every replication has the same."""
    per_rep: dict[int, list[tuple[float, float]]] = {}
    for w in own:
        per_rep.setdefault(w.replication, []).append((w.start, w.end))
    sets = [sorted(v) for v in per_rep.values()]
    if len(per_rep) >= replications and all(s == sets[0] for s in sets):
        spans = sets[0]
        when = _when(spans)
        return f"{group}{when}", ALPHA, spans
    spans = [s for v in sets for s in v]
    n = len(spans)
    label = (
        f"{group}: {n} window{'s' if n != 1 else ''} in {len(per_rep)} of {replications} "
        "replications (darker: in more)"
    )
    return label, max(0.05, ALPHA * 1.6 / max(1, replications)), spans


def _when(spans: list[tuple[float, float]]) -> str:
    if len(spans) != 1:
        return f" ({len(spans)} windows)"
    start, end = spans[0]
    if end <= start:
        return f", t={start:g} s"
    return f", {start:g}-{end:g} s"


def _span(
    ax: Axes, start: float, end: float, colour: str, hatch: str, alpha: float, kind: str
) -> None:
    if end > start:
        ax.axvspan(
            start,
            end,
            facecolor=colour,
            edgecolor=colour,
            hatch=hatch,
            alpha=alpha,
            linewidth=0.0,
            zorder=0,
        )
    else:
        ax.axvline(
            start,
            color=colour if kind not in INSTANT_KINDS else "black",
            linestyle=":",
            linewidth=1.5,
            zorder=1,
        )


def _step_crashes(
    ax: Axes, group: str, own: list[Window], replications: int, colours: dict[str, str]
) -> dict[str, Patch | Line2D]:
    """A step-triggered crash, per strategy: a dashed line when it fired and a light span
    while the node was down, in the strategy's colour."""
    for w in own:
        colour = colours.get(w.strategy or "", "#444444")
        alpha = ALPHA / max(1, replications)
        if w.end > w.start:
            ax.axvspan(w.start, w.end, facecolor=colour, alpha=alpha, linewidth=0.0, zorder=0)
        ax.axvline(w.start, color=colour, linestyle="--", linewidth=1.2, alpha=0.8, zorder=1)
    firsts = np.array([w.start for w in own])
    label = (
        f"{group} (per run: {firsts.min():.2f}-{firsts.max():.2f} s, dashed)"
        if len(firsts) > 1
        else f"{group}, t={firsts[0]:.2f} s"
    )
    return {label: Line2D([], [], color="#444444", linestyle="--", linewidth=1.2)}
