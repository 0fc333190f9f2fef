"""Comparison charts drawn from saved result frames.

Charts are built from pandas frames only (``summary``, ``messages``, ``faults``, ``lag``: the
files of a results folder, see the README), never from simulator objects, with the
object-oriented matplotlib API (:class:`matplotlib.figure.Figure`, no pyplot state), so they
can be drawn in worker processes, on a headless server and in notebooks alike.

Every chart is deterministic: the same frames give byte-identical PNG and SVG files.
Each strategy keeps the same colour in every chart; colours follow the order in which
strategies first appear in the summary frame (``draw_all`` passes that order on).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .stats import mean_ci, t95

__all__ = [
    "draw_all",
    "latency_cdf",
    "loss_duplicate_bars",
    "nice_bin_width",
    "strategy_colours",
    "throughput_timeline",
]

#: Colour-blind-friendly palette (Okabe-Ito, then tab10 extras); index = strategy position.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # green
    "#CC79A7",  # pink
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#000000",  # black
    "#8C564B",  # brown
    "#7F7F7F",  # grey
    "#BCBD22",  # olive
)

#: Look of each fault kind's shaded window in the timeline: (face colour, hatch).
FAULT_STYLE: dict[str, tuple[str, str]] = {
    "crash": ("#d62728", "//"),
    "pause": ("#ff7f0e", "\\\\"),
    "partition": ("#9467bd", "xx"),
    "drop": ("#7f7f7f", ".."),
    "delay": ("#8c564b", "--"),
    "duplicate": ("#1f77b4", "++"),
    "reorder": ("#bcbd22", "oo"),
}
_DEFAULT_FAULT_STYLE = ("#7f7f7f", "||")
_INSTANT_KINDS = frozenset({"disk-loss"})

#: rcParams applied while building and saving figures (slide-readable, reproducible).
RC: dict[str, Any] = {
    "font.size": 12,
    "axes.titlesize": 14,
    "axes.labelsize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "legend.title_fontsize": 11,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "hatch.linewidth": 0.8,
    "svg.hashsalt": "msgsim",
    "svg.fonttype": "path",
    "path.simplify": True,
}

FIGSIZE = (10.0, 5.5)
DPI = 150
TARGET_BINS = 60
CDF_MAX_POINTS = 4000


@contextmanager
def _style() -> Iterator[None]:
    rc: Any = RC  # the stubs only accept literal rcParam names
    with matplotlib.rc_context(rc):
        yield


# --------------------------------------------------------------------------- helpers


def _strategy_order(frame: pd.DataFrame, given: Sequence[str] | None = None) -> list[str]:
    """Strategies in ``given`` order, then any others in order of first appearance."""
    order = [str(s) for s in given] if given is not None else []
    if "strategy" in frame.columns:
        for s in frame["strategy"].astype(str):
            if s not in order:
                order.append(s)
    return list(dict.fromkeys(order))


def strategy_colours(strategies: Sequence[str]) -> dict[str, str]:
    """A fixed colour per strategy, by position in ``strategies``."""
    return {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(strategies)}


def _pick_cell(
    frame: pd.DataFrame, cell: int | None = None
) -> tuple[pd.DataFrame, int | None, bool]:
    """Rows of one cell: ``cell`` if given, else 0 (or the smallest) when there are several.

    Returns (rows, cell value or None when the frame has no cell column, several cells?).
    The rows get a fresh 0..n-1 index (concatenated frames may repeat index labels).
    """
    frame = frame.reset_index(drop=True)
    if frame.empty or "cell" not in frame.columns:
        return frame, cell, False
    cells = sorted({int(c) for c in frame["cell"].dropna()})
    several = len(cells) > 1
    if cell is None:
        if not cells:
            return frame, None, False
        cell = 0 if 0 in cells else cells[0]
    return frame[frame["cell"] == cell].reset_index(drop=True), cell, several


def _cell_note(cell: int | None, several: bool) -> str:
    return f"cell {cell}" if several and cell is not None else ""


def _join_notes(*notes: str) -> str:
    text = ", ".join(n for n in notes if n)
    return f" ({text})" if text else ""


def _n_replications(frame: pd.DataFrame) -> int:
    if "replication" not in frame.columns or frame.empty:
        return 1
    return max(1, int(frame["replication"].nunique()))


def _fmt_pct(value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    if value == 0:
        return "0%"
    if abs(value) < 0.1:
        return f"{value:.3f}%"
    if abs(value) < 10:
        return f"{value:.2f}%"
    return f"{value:.1f}%"


def nice_bin_width(span: float, target_bins: int = TARGET_BINS) -> float:
    """A round width (1, 2, 2.5 or 5 times a power of ten) giving about ``target_bins`` bins."""
    if not math.isfinite(span) or span <= 0:
        return 1.0
    raw = span / target_bins
    exponent = math.floor(math.log10(raw))
    candidates = [
        m * 10.0**e for e in (exponent - 1, exponent, exponent + 1) for m in (1, 2, 2.5, 5)
    ]
    return min(candidates, key=lambda w: (abs(math.log(w / raw)), w))


def _new_figure() -> tuple[Figure, Axes]:
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="tight")
    ax = fig.add_subplot()
    return fig, ax


def _legend_outside(ax: Axes, first: Sequence[str] = ()) -> None:
    """Legend to the right of the axes; entries labelled in ``first`` come first."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    rank = {label: i for i, label in enumerate(first)}
    pairs = sorted(zip(handles, labels, strict=True), key=lambda hl: rank.get(hl[1], len(rank)))
    ax.legend(
        [h for h, _ in pairs],
        [label for _, label in pairs],
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        borderaxespad=0.0,
    )


def _present_strategies(rows: pd.DataFrame, given: Sequence[str] | None) -> list[str]:
    """The strategies of :func:`_strategy_order` that have rows."""
    if "strategy" not in rows.columns:
        return []
    present = rows["strategy"].astype(str)
    return [s for s in _strategy_order(rows, given) if (present == s).any()]


def _float_col(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    return pd.to_numeric(frame[column], errors="coerce").astype(float)


# ------------------------------------------------------------------ 1. loss/duplicates


def loss_duplicate_bars(
    summary: pd.DataFrame, *, strategies: Sequence[str] | None = None
) -> Figure:
    """Grouped bars per strategy: loss rate and duplicate rate in percent.

    Mean across replications (cell 0 only when the summary holds several cells), with a
    95% Student-t confidence interval of the mean when there are at least two
    replications. Solid bars are the loss rate, hatched bars the duplicate rate, both in
    the strategy's colour; ``fig.axes[0].patches`` holds exactly two bars per strategy.
    """
    with _style():
        rows, cell, several = _pick_cell(summary)
        strategy_col = rows["strategy"].astype(str) if "strategy" in rows.columns else None
        order = _present_strategies(rows, strategies)
        colours = strategy_colours(_strategy_order(summary, strategies))
        fig, ax = _new_figure()
        x = np.arange(len(order), dtype=float)
        top = 0.0
        max_reps = 0
        for m, (column, hatch) in enumerate(_RATE_BARS):
            offset = (m - 0.5) * _BAR_WIDTH
            for i, strategy in enumerate(order):
                assert strategy_col is not None
                values = _float_col(rows[strategy_col == strategy], column).dropna() * 100.0
                max_reps = max(max_reps, len(values))
                colour = colours.get(strategy, PALETTE[0])
                top = max(top, _rate_bar(ax, x[i] + offset, values, colour, hatch))
        _rate_axes(ax, order, top)
        notes = [_cell_note(cell, several)]
        if max_reps >= 2:
            notes.append(f"mean of {max_reps} replications, 95% CI")
        elif max_reps == 1:
            notes.append("1 replication")
        ax.set_title("Loss and duplicate rate by strategy" + _join_notes(*notes))
        proxies = [
            Patch(facecolor="#888888", edgecolor="black", linewidth=0.6, label="loss rate"),
            Patch(facecolor="white", edgecolor="#444444", hatch="//", label="duplicate rate"),
        ]
        ax.legend(handles=proxies, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
        if not order:
            ax.text(0.5, 0.5, "no runs", transform=ax.transAxes, ha="center", va="center")
        return fig


#: The bars of :func:`loss_duplicate_bars`: (summary column, hatch; None = solid).
_RATE_BARS: tuple[tuple[str, str | None], ...] = (("loss_rate", None), ("duplicate_rate", "//"))
_BAR_WIDTH = 0.38


def _rate_bar(ax: Axes, x: float, values: pd.Series, colour: str, hatch: str | None) -> float:
    """One bar: the mean of ``values`` (percent), its 95% CI whisker (clipped at zero) and
    its value above. Returns the height of the label (the top of the whisker)."""
    n = len(values)
    mean = float(values.mean()) if n else float("nan")
    ci = t95(n - 1) * float(values.std(ddof=1)) / math.sqrt(n) if n >= 2 else 0.0
    ci = ci if math.isfinite(ci) else 0.0
    height = mean if math.isfinite(mean) else 0.0
    solid = hatch is None
    ax.bar(
        x,
        height,
        _BAR_WIDTH,
        color=colour if solid else "white",
        edgecolor="black" if solid else colour,
        hatch=hatch,
        linewidth=0.6 if solid else 1.2,
        zorder=2,
    )
    if ci > 0:
        ax.errorbar(
            x,
            height,
            yerr=[[min(ci, height)], [ci]],
            fmt="none",
            ecolor="black",
            elinewidth=1.2,
            capsize=5,
            zorder=3,
        )
    ax.annotate(
        _fmt_pct(mean),
        (x, height + ci),
        xytext=(0, 4),
        textcoords="offset points",
        ha="center",
        va="bottom",
        fontsize=11,
        zorder=4,
    )
    return height + ci


def _rate_axes(ax: Axes, order: list[str], top: float) -> None:
    ax.set_xticks(np.arange(len(order), dtype=float), order)
    if len(order) > 4:
        for tick in ax.get_xticklabels():
            tick.set_rotation(20)
            tick.set_horizontalalignment("right")
    ax.set_xlim(-0.6, max(len(order) - 0.4, 0.6))
    ax.set_ylim(0, top * 1.18 if top > 0 else 1.0)
    ax.set_xlabel("strategy")
    ax.set_ylabel("rate (% of committed events)")
    ax.grid(axis="x", visible=False)
    ax.set_axisbelow(True)


# ------------------------------------------------------------------ 2. over time


def _fault_windows(
    faults: pd.DataFrame, cell: int | None, right: float
) -> list[tuple[str, str, float, float]]:
    """(kind, target, start, end) of one replication's faults; end == start for an instant."""
    if faults is None or faults.empty or "kind" not in faults.columns or "at" not in faults.columns:
        return []
    rows = faults
    if cell is not None and "cell" in rows.columns:
        rows = rows[rows["cell"] == cell]
    elif "cell" in rows.columns:
        rows, _cell, _several = _pick_cell(rows)
    if "replication" in rows.columns and not rows.empty:
        reps = sorted({int(r) for r in rows["replication"].dropna()})
        if reps:
            rows = rows[rows["replication"] == (0 if 0 in reps else reps[0])]
    out: list[tuple[str, str, float, float]] = []
    at_col = _float_col(rows, "at").to_numpy()
    duration_col = _float_col(rows, "duration").to_numpy()
    restart_col = _float_col(rows, "restart_after").to_numpy()
    targets = list(rows["target"]) if "target" in rows.columns else [None] * len(rows)
    kinds = [str(k) for k in rows["kind"]]
    for kind, target, at, duration, restart in zip(
        kinds, targets, at_col, duration_col, restart_col, strict=True
    ):
        start = float(at)
        if not math.isfinite(start):
            continue
        if kind in _INSTANT_KINDS:
            end = start
        else:
            length = float(restart if kind == "crash" else duration)
            end = start + length if math.isfinite(length) else max(right, start)
        name = (
            ""
            if target is None or (isinstance(target, float) and math.isnan(target))
            else str(target)
        )
        out.append((kind, name, start, end))
    return out


def _shade_faults(ax: Axes, windows: list[tuple[str, str, float, float]]) -> None:
    labelled: set[str] = set()
    targets_by_kind: dict[str, list[str]] = {}
    for kind, target, _start, _end in windows:
        targets = targets_by_kind.setdefault(kind, [])
        if target and target not in targets:
            targets.append(target)
    for kind, _target, start, end in windows:
        colour, hatch = FAULT_STYLE.get(kind, _DEFAULT_FAULT_STYLE)
        label = None
        if kind not in labelled:
            labelled.add(kind)
            targets = targets_by_kind.get(kind, [])
            where = ", ".join(targets) if 0 < len(targets) <= 2 else ""
            if len(where) > 28:
                where = where[:27] + "…"
            base = kind if kind in _INSTANT_KINDS else f"{kind} window"
            label = f"{base}: {where}" if where else base
        if end > start:
            ax.axvspan(
                start,
                end,
                facecolor=colour,
                edgecolor=colour,
                hatch=hatch,
                alpha=0.2,
                linewidth=0.0,
                zorder=0,
                label=label,
            )
        else:
            ax.axvline(
                start,
                color=colour if kind not in _INSTANT_KINDS else "black",
                linestyle=":",
                linewidth=1.5,
                zorder=1,
                label=label,
            )


def throughput_timeline(
    messages: pd.DataFrame,
    faults: pd.DataFrame | None = None,
    *,
    bin_width: float | None = None,
    sim_time: float | None = None,
    strategies: Sequence[str] | None = None,
) -> Figure:
    """Processed events per simulated second over time, one step line per strategy.

    Counts ``first_effect_at`` per bin, divided by the bin width and averaged over
    replications (cell 0). Fault windows of replication 0 are shaded. ``sim_time``
    defaults to the latest ``first_effect_at``/``created_at``; ``bin_width`` to a round
    number giving about 60 bins. ``fig.axes[0].lines`` holds one line per strategy, plus
    one dotted vertical line per instantaneous fault (disk-loss, zero-length windows).
    """
    with _style():
        rows, cell, several = _pick_cell(messages)
        order = _present_strategies(rows, strategies)
        colours = strategy_colours(_strategy_order(messages, strategies))
        first = _float_col(rows, "first_effect_at")
        if sim_time is None:
            latest = pd.concat([first, _float_col(rows, "created_at")]).max()
            sim_time = float(latest) if pd.notna(latest) else 0.0
        edges, bin_width = _bin_edges(sim_time, bin_width)
        right = float(edges[-1])

        fig, ax = _new_figure()
        _shade_faults(
            ax, _fault_windows(faults if faults is not None else pd.DataFrame(), cell, right)
        )
        max_reps = 0
        for strategy in order:
            mask = rows["strategy"].astype(str) == strategy
            n_reps = _n_replications(rows[mask])
            max_reps = max(max_reps, n_reps)
            rate = _rate(first[mask], edges, bin_width, n_reps)
            colour = colours.get(strategy, PALETTE[0])
            ax.plot(
                edges,
                rate,
                drawstyle="steps-post",
                color=colour,
                linewidth=2.0,
                label=strategy,
                zorder=2,
            )
        ax.set_xlim(0.0, right)
        ax.set_ylim(bottom=0.0)
        ax.set_xlabel("simulated time (s)")
        ax.set_ylabel("processed events per second (events/s)")
        mean = f"mean of {max_reps} replications" if max_reps >= 2 else ""
        notes = _join_notes(_cell_note(cell, several), mean, f"{bin_width:g} s bins")
        ax.set_title("Throughput over time" + notes)
        _legend_outside(ax, first=order)
        return fig


def _rate(times: pd.Series, edges: np.ndarray, bin_width: float, n_reps: int) -> np.ndarray:
    """Events per second and replication in each bin, the last repeated to close the steps."""
    counts, _ = np.histogram(times.dropna().to_numpy(), bins=edges)
    rate = counts / bin_width / n_reps
    return np.append(rate, rate[-1])


def _bin_edges(sim_time: float, bin_width: float | None) -> tuple[np.ndarray, float]:
    """Bin edges from 0 covering ``sim_time`` (1 s when it is not positive), and the width:
    ``bin_width``, or a round width giving about :data:`TARGET_BINS` bins."""
    if not math.isfinite(sim_time) or sim_time <= 0:
        sim_time = 1.0
    if bin_width is None:
        bin_width = nice_bin_width(sim_time)
    if not (math.isfinite(bin_width) and bin_width > 0):
        raise ValueError(f"bin_width must be a positive number, got {bin_width!r}")
    n_bins = max(1, math.ceil(sim_time / bin_width - 1e-9))
    return bin_width * np.arange(n_bins + 1, dtype=float), bin_width


def lag_timeline(
    lag: pd.DataFrame,
    faults: pd.DataFrame | None = None,
    *,
    strategies: Sequence[str] | None = None,
) -> Figure:
    """Consumer lag (records not yet consumed, summed over partitions) over time, one line per
    strategy, cell 0 and replication 0, with that replication's fault windows shaded."""
    with _style():
        rows, cell, several = _pick_cell(lag)
        if "replication" in rows.columns and len(rows):
            rows = rows[rows["replication"] == rows["replication"].min()]
        strategy_col = rows["strategy"].astype(str)
        order = _present_strategies(rows, strategies)
        colours = strategy_colours(_strategy_order(lag, strategies))
        fig, ax = _new_figure()
        right = float(_float_col(rows, "time").max()) if len(rows) else 1.0
        _shade_faults(ax, _fault_windows(_first_replication(faults), cell, right))
        for strategy in order:
            total = rows[strategy_col == strategy].groupby("time", sort=True)["lag"].sum()
            ax.plot(
                total.index.to_numpy(dtype=float),
                total.to_numpy(dtype=float),
                color=colours.get(strategy, PALETTE[0]),
                linewidth=2.0,
                label=strategy,
                drawstyle="steps-post",
                zorder=2,
            )
        ax.set_xlim(0.0, right)
        ax.set_ylim(bottom=0.0)
        ax.set_xlabel("simulated time (s)")
        ax.set_ylabel("consumer lag (records, all partitions)")
        notes = _join_notes(_cell_note(cell, several), "replication 0")
        ax.set_title("Consumer lag over time" + notes)
        _legend_outside(ax, first=order)
        return fig


def _first_replication(faults: pd.DataFrame | None) -> pd.DataFrame:
    if faults is None or faults.empty or "replication" not in faults.columns:
        return faults if faults is not None else pd.DataFrame()
    return faults[faults["replication"] == faults["replication"].min()]


# ------------------------------------------------------------------ 3. latency CDF


def _processed_latencies(rows: pd.DataFrame) -> pd.Series:
    latency = _float_col(rows, "latency")
    keep = latency.notna() & np.isfinite(latency)
    if "fate" in rows.columns:
        keep &= rows["fate"].astype(str) == "processed"
    return latency[keep]


def latency_cdf(messages: pd.DataFrame, *, strategies: Sequence[str] | None = None) -> Figure:
    """Empirical CDF of latency (creation to first effect) of processed events per strategy.

    Cell 0, all replications pooled; the x axis is logarithmic when the latencies span
    more than two decades. ``fig.axes[0].lines`` holds one line per strategy that has
    processed events.
    """
    with _style():
        rows, cell, several = _pick_cell(messages)
        colours = strategy_colours(_strategy_order(messages, strategies))
        latency = _processed_latencies(rows)
        strategy_col = rows["strategy"].astype(str) if "strategy" in rows.columns else None
        order = _present_strategies(rows, strategies)
        fig, ax = _new_figure()
        positive = latency[latency > 0]
        log_x = bool(len(positive)) and float(positive.max()) / float(positive.min()) > 100.0
        for strategy in order:
            assert strategy_col is not None
            values = np.sort(latency[strategy_col.loc[latency.index] == strategy].to_numpy())
            if log_x:
                values = values[values > 0]
            if len(values) == 0:
                continue
            n = len(values)
            ranks = np.arange(n)
            if n > CDF_MAX_POINTS:  # keep files small: the CDF at evenly spaced ranks
                ranks = np.unique(np.linspace(0, n - 1, CDF_MAX_POINTS).round().astype(int))
            values, fraction = values[ranks], (ranks + 1.0) / n
            ax.plot(
                np.concatenate(([values[0]], values)),
                np.concatenate(([0.0], fraction)),
                drawstyle="steps-post",
                color=colours.get(strategy, PALETTE[0]),
                linewidth=2.0,
                label=f"{strategy} (n={n})",
            )
        if log_x:
            ax.set_xscale("log")
        elif len(latency):
            ax.set_xlim(left=0.0)
        ax.set_ylim(0.0, 1.02)
        ax.set_xlabel("latency, creation to first effect (s" + (", log scale)" if log_x else ")"))
        ax.set_ylabel("fraction of processed events")
        reps = _n_replications(rows)
        notes = [_cell_note(cell, several), f"{reps} replications pooled" if reps >= 2 else ""]
        ax.set_title("Latency CDF of processed events" + _join_notes(*notes))
        _legend_outside(ax)
        if not len(latency):
            ax.text(
                0.5, 0.5, "no processed events", transform=ax.transAxes, ha="center", va="center"
            )
        return fig


# ------------------------------------------------------------------ 4. sweeps


def swept_parameters(summary: pd.DataFrame) -> list[str]:
    """The swept config paths: the summary columns between ``cell`` and ``strategy``."""
    cols = list(summary.columns)
    if "cell" not in cols or "strategy" not in cols:
        return []
    return cols[cols.index("cell") + 1 : cols.index("strategy")]


def sweep_lines(
    summary: pd.DataFrame,
    parameter: str | None = None,
    metrics: Sequence[str] = ("loss_rate", "duplicate_rate"),
    *,
    strategies: Sequence[str] | None = None,
) -> Figure:
    """Each metric against a swept parameter: one line per strategy (mean across
    replications) with its 95% confidence band. Other swept parameters are held at their
    first value."""
    swept = swept_parameters(summary)
    if parameter is None:
        if not swept:
            raise ValueError("the summary has no swept parameter (no `sweep:` in the config)")
        parameter = swept[0]
    rows = summary
    for other in swept:
        if other != parameter:
            rows = rows[rows[other] == rows[other].iloc[0]]
    order = _strategy_order(rows, strategies)
    colours = strategy_colours(order)
    with _style():
        fig = Figure(figsize=(FIGSIZE[0], 3.2 * len(metrics) + 0.8), dpi=DPI, layout="tight")
        axes = fig.subplots(len(metrics), 1, sharex=True, squeeze=False)[:, 0]
        for ax, metric in zip(axes, metrics, strict=True):
            percent = metric.endswith("_rate")
            for strategy in order:
                xs, means, lows, highs = _sweep_band(
                    rows[rows["strategy"] == strategy], parameter, metric, percent
                )
                ax.plot(xs, means, marker="o", color=colours[strategy], label=strategy)
                ax.fill_between(xs, lows, highs, color=colours[strategy], alpha=0.2, linewidth=0)
            label = metric.replace("_", " ")
            ax.set_ylabel(f"{label} (%)" if percent else label)
        axes[-1].set_xlabel(parameter)
        axes[0].set_title(f"Against {parameter} ({_mean_of(_n_replications(rows))}, 95% CI band)")
        _legend_outside(axes[0])
    return fig


def _sweep_band(
    own: pd.DataFrame, parameter: str, metric: str, percent: bool
) -> tuple[list[float], list[float], list[float], list[float]]:
    """(parameter values, means, band lows, band highs) of one strategy's metric; a rate's
    band is clipped at zero and given in percent."""
    scale = 100.0 if percent else 1.0
    xs, means, lows, highs = [], [], [], []
    for x, group in own.groupby(parameter, sort=True):
        mean, half = mean_ci(_float_col(group, metric))
        half = 0.0 if not math.isfinite(half) else half
        xs.append(float(x))  # type: ignore[arg-type]
        means.append(mean * scale)
        lows.append(max(0.0, mean - half) * scale if percent else (mean - half) * scale)
        highs.append((mean + half) * scale)
    return xs, means, lows, highs


def _mean_of(n: int) -> str:
    return f"mean of {n} replication{'s' if n != 1 else ''}"


# ------------------------------------------------------------------ 5. costs and causes


COST_PANELS: tuple[tuple[str, str, float], ...] = (
    ("loss_rate", "lost (% of committed)", 100.0),
    ("duplicate_rate", "duplicate effects (% of committed)", 100.0),
    ("phantom_rate", "phantoms (% of intended)", 100.0),
    ("latency_p50", "median latency (ms)", 1000.0),
    ("messages_per_event", "network messages per event", 1.0),
)


def strategy_costs(summary: pd.DataFrame, *, strategies: Sequence[str] | None = None) -> Figure:
    """Loss, duplicates, phantoms, latency and messages per event, one panel each, all
    strategies side by side (cell 0, mean across replications, 95% CI)."""
    rows, cell, several = _pick_cell(summary)
    rows = rows.assign(
        phantom_rate=_float_col(rows, "phantoms") / _float_col(rows, "intended"),
        messages_per_event=_float_col(rows, "network_messages") / _float_col(rows, "intended"),
    )
    order = _strategy_order(rows, strategies)
    colours = strategy_colours(_strategy_order(summary, strategies))
    with _style():
        fig = Figure(figsize=(3.1 * len(COST_PANELS), 5.2), dpi=DPI, layout="tight")
        axes = fig.subplots(1, len(COST_PANELS))
        for ax, (col, label, scale) in zip(axes, COST_PANELS, strict=True):
            means, errs = [], []
            for s in order:
                mean, half = mean_ci(_float_col(rows[rows["strategy"].astype(str) == s], col))
                means.append(0.0 if not math.isfinite(mean) else mean * scale)
                errs.append(0.0 if not math.isfinite(half) else half * scale)
            xs = np.arange(len(order))
            ax.bar(
                xs,
                means,
                yerr=errs,
                color=[colours[s] for s in order],
                capsize=3,
                edgecolor="black",
                linewidth=0.5,
            )
            for x, m in zip(xs, means, strict=True):
                ax.annotate(
                    f"{m:.3g}",
                    (x, m),
                    ha="center",
                    va="bottom",
                    fontsize=9,
                    xytext=(0, 2),
                    textcoords="offset points",
                )
            ax.set_xticks(xs, order, rotation=60, ha="right", fontsize=10)
            ax.set_title(label, fontsize=11)
            ax.set_ylim(bottom=0)
        notes = _join_notes(_cell_note(cell, several), _mean_of(_n_replications(rows)))
        fig.suptitle("What each strategy costs" + notes)
    return fig


def cause_breakdown(messages: pd.DataFrame, *, strategies: Sequence[str] | None = None) -> Figure:
    """Lost events and duplicate effects per strategy, stacked by the cause the checker found
    in the history (all cells and replications pooled, as a share of committed events)."""
    order = _strategy_order(messages, strategies)
    committed = messages
    if "committed" in messages.columns:
        committed = messages[messages["committed"].astype(bool)]
    totals = committed.groupby("strategy", sort=False).size()
    lost = committed[committed["fate"] == "lost"].groupby(["strategy", "loss_cause"]).size()
    panels = (
        (lost, "lost events by cause"),
        (_duplicate_counts(committed), "duplicate effects by cause"),
    )
    with _style():
        fig = Figure(figsize=(FIGSIZE[0] + 2, FIGSIZE[1]), dpi=DPI, layout="tight")
        axes = fig.subplots(1, 2, sharey=True)
        for ax, (counts, title) in zip(axes, panels, strict=True):
            causes = sorted({c for _, c in counts.index}) if len(counts) else []
            bottom = np.zeros(len(order))
            cmap = matplotlib.colormaps["tab20"]
            for i, cause in enumerate(causes):
                values = np.array(
                    [100.0 * counts.get((s, cause), 0) / totals.get(s, 1) for s in order]
                )
                ax.bar(
                    order,
                    values,
                    bottom=bottom,
                    color=cmap(i % 20),
                    label=cause,
                    edgecolor="white",
                    linewidth=0.5,
                )
                bottom += values
            ax.set_title(title)
            ax.tick_params(axis="x", labelrotation=20)
            if causes:
                ax.legend(fontsize=9, loc="upper left")
            else:
                ax.text(
                    0.5, 0.5, "none", transform=ax.transAxes, ha="center", va="center", color="grey"
                )
        axes[0].set_ylabel("% of committed events")
        fig.suptitle(
            "Why events were lost or applied twice (causes read from the history; all runs pooled)"
        )
    return fig


def _duplicate_counts(committed: pd.DataFrame) -> pd.Series:
    """Duplicate effects per (strategy, cause): a ``duplicate_cause`` names one cause per
    extra effect, joined with "; "."""
    if "duplicate_cause" not in committed.columns:
        return pd.Series(dtype=float)
    rows = committed["duplicate_cause"].dropna()
    if not len(rows):
        return pd.Series(dtype=float)
    each = rows.str.split("; ").explode().to_frame("cause").join(committed["strategy"])
    return each.groupby(["strategy", "cause"]).size()


# ------------------------------------------------------------------ saving


def save_figure(fig: Figure, out_dir: str | Path, name: str) -> list[Path]:
    """Write ``name.png`` and ``name.svg`` into ``out_dir`` atomically; return their paths."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for fmt, metadata in (("png", {"Software": None}), ("svg", {"Date": None})):
        final = folder / f"{name}.{fmt}"
        tmp = folder / f".{name}.{os.getpid()}.tmp.{fmt}"
        try:
            with _style():
                fig.savefig(tmp, format=fmt, dpi=DPI, metadata=metadata)
            os.replace(tmp, final)
        finally:
            if tmp.exists():
                tmp.unlink()
        written.append(final)
    return written


def _sim_time_hint(summary: pd.DataFrame, messages: pd.DataFrame) -> float | None:
    """Length of the run for the timeline: the summary's sim_time (cell 0), if longer."""
    candidates: list[float] = []
    if summary is not None and not summary.empty and "sim_time" in summary.columns:
        rows, _cell, _several = _pick_cell(summary)
        value = _float_col(rows, "sim_time").max()
        if pd.notna(value):
            candidates.append(float(value))
    rows, _cell, _several = _pick_cell(messages)
    value = pd.concat([_float_col(rows, "first_effect_at"), _float_col(rows, "created_at")]).max()
    if pd.notna(value):
        candidates.append(float(value))
    candidates = [c for c in candidates if math.isfinite(c) and c > 0]
    return max(candidates) if candidates else None


def draw_all(
    summary: pd.DataFrame,
    messages: pd.DataFrame,
    faults: pd.DataFrame,
    out_dir: str | Path,
    *,
    lag: pd.DataFrame | None = None,
) -> list[Path]:
    """Draw every chart the frames support into ``out_dir`` (created if needed); return the
    written paths (a png and an svg per chart).

    Charts whose frame is empty are skipped: with an empty ``messages`` frame (trace
    level "summary") there is no ``throughput_timeline``, ``latency_cdf`` or ``causes``;
    ``latency_cdf`` also needs at least one processed event with a latency. Files already
    in ``out_dir`` from an earlier drawing are left as they are.
    """
    summary = summary if summary is not None else pd.DataFrame()
    messages = messages if messages is not None else pd.DataFrame()
    faults = faults if faults is not None else pd.DataFrame()
    order = _strategy_order(messages, _strategy_order(summary))
    written: list[Path] = []
    for name, fig in _charts(summary, messages, faults, lag, order):
        written += save_figure(fig, out_dir, name)
    return written


def _charts(
    summary: pd.DataFrame,
    messages: pd.DataFrame,
    faults: pd.DataFrame,
    lag: pd.DataFrame | None,
    order: list[str],
) -> Iterator[tuple[str, Figure]]:
    """(file name, figure) of each chart the frames support, drawn one at a time."""
    rates = {"strategy", "loss_rate", "duplicate_rate"}
    if not summary.empty and rates <= set(summary.columns):
        yield "loss_duplicates", loss_duplicate_bars(summary, strategies=order)
    if not messages.empty and {"strategy", "first_effect_at"} <= set(messages.columns):
        sim_time = _sim_time_hint(summary, messages)
        yield (
            "throughput_timeline",
            throughput_timeline(messages, faults, sim_time=sim_time, strategies=order),
        )
    if not messages.empty and "strategy" in messages.columns:
        rows, _cell, _several = _pick_cell(messages)
        if len(_processed_latencies(rows)):
            yield "latency_cdf", latency_cdf(messages, strategies=order)
    costs = {"strategy", "loss_rate", "phantoms", "network_messages"}
    if not summary.empty and costs <= set(summary.columns):
        yield "costs", strategy_costs(summary, strategies=order)
    if lag is not None and not lag.empty:
        yield "lag_timeline", lag_timeline(lag, faults, strategies=order)
    if not messages.empty and {"strategy", "fate", "loss_cause"} <= set(messages.columns):
        yield "causes", cause_breakdown(messages, strategies=order)
    for i, parameter in enumerate(swept_parameters(summary) if not summary.empty else []):
        if summary[parameter].nunique() > 1:
            yield (
                ("sweep" if i == 0 else f"sweep_{i}"),
                sweep_lines(summary, parameter, strategies=order),
            )
