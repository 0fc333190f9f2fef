"""Comparison charts drawn from saved result frames.

Charts are built from pandas frames only (``summary``, ``messages``, ``faults``, ``lag``: the
files of a results folder, see ``docs/frames.md``), never from simulator objects, with the
object-oriented matplotlib API (no pyplot state), so they can be drawn in worker processes,
on a headless server and in notebooks alike (a :class:`~sim.report.style.Chart` shows itself
as an image in a notebook).

- Every chart is deterministic: the same frames give byte-identical PNG and SVG files.
- Each strategy has one colour, fixed by its name, in every chart (``sim/report/style.py``).
- A sweep's charts have one panel per cell, titled with its swept values (``p=0.2``).
- Fault shading is true for what is drawn (``sim/report/windows.py``).
- Latencies are in milliseconds, rates in percent; confidence bands stay within the feasible
  range (a rate in [0, 100] %, anything else >= 0).
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..core.metrics import METRICS
from .cells import cell_labels, describe_parameter, swept_parameters
from .stats import mean_ci, t95
from .style import DPI, FAULT_STYLE, Chart, strategy_colour, strategy_colours, style
from .windows import shade, windows

__all__ = [
    "DPI",
    "FAULT_STYLE",
    "cause_breakdown",
    "default_sweep_metrics",
    "draw_all",
    "figures",
    "lag_timeline",
    "latency_cdf",
    "loss_duplicate_bars",
    "nice_bin_width",
    "save_figure",
    "strategy_colours",
    "strategy_costs",
    "sweep_lines",
    "swept_parameters",
    "t95",
    "throughput_timeline",
]

_style = style  # the name sim/report/diagram.py imports
WIDTH = 10.0
TARGET_BINS = 60
CDF_MAX_POINTS = 4000


# --------------------------------------------------------------------------- helpers


def _strategy_order(frame: pd.DataFrame, given: Sequence[str] | None = None) -> list[str]:
    """Strategies in ``given`` order, then any others in order of first appearance."""
    order = [str(s) for s in given] if given is not None else []
    if "strategy" in frame.columns:
        for s in frame["strategy"].astype(str):
            if s not in order:
                order.append(s)
    return list(dict.fromkeys(order))


def _present(rows: pd.DataFrame, given: Sequence[str] | None) -> list[str]:
    """The strategies of :func:`_strategy_order` that have rows."""
    if "strategy" not in rows.columns:
        return []
    present = set(rows["strategy"].astype(str))
    return [s for s in _strategy_order(rows, given) if s in present]


def _float_col(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    return pd.to_numeric(frame[column], errors="coerce").astype(float)


def _n_replications(frame: pd.DataFrame) -> int:
    if "replication" not in frame.columns or frame.empty:
        return 1
    return max(1, int(frame["replication"].nunique()))


def _mean_of(n: int) -> str:
    return f"mean of {n} replication{'s' if n != 1 else ''}"


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


def _cells(frame: pd.DataFrame) -> list[int | None]:
    """The cells of ``frame`` in order ([None] when it has no cell column)."""
    if frame.empty or "cell" not in frame.columns:
        return [None]
    cells = sorted({int(c) for c in frame["cell"].dropna()})
    return list(cells) or [None]


def _of_cell(frame: pd.DataFrame, cell: int | None) -> pd.DataFrame:
    frame = frame.reset_index(drop=True)
    if cell is None or "cell" not in frame.columns:
        return frame
    return frame[frame["cell"] == cell].reset_index(drop=True)


def _grid(n: int) -> tuple[int, int]:
    if n <= 3:
        return 1, n
    if n == 4:
        return 2, 2
    return math.ceil(n / 3), 3


def _panels(n: int, panel: tuple[float, float], **kw: Any) -> tuple[Figure, list[Axes]]:
    """A figure of ``n`` panels in a grid, each about ``panel`` inches."""
    rows, cols = _grid(n)
    fig = Chart(figsize=(panel[0] * cols, panel[1] * rows + 0.9), dpi=DPI, layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, **kw).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, list(axes[:n])


#: How many characters of legend text fit across a chart (labels plus their handles).
LEGEND_CHARS = 125


def legend_columns(labels: Sequence[str], budget: int = LEGEND_CHARS) -> int:
    """The most columns whose widest labels fit in ``budget`` characters side by side; a
    legend fills its columns top to bottom, so each column is as wide as its longest label."""
    n = len(labels)
    for cols in range(n, 1, -1):
        rows = math.ceil(n / cols)
        widths = [max(len(x) for x in labels[i : i + rows]) + 6 for i in range(0, n, rows)]
        if sum(widths) <= budget:
            return cols
    return 1


def _bottom_legend(fig: Figure, handles: dict[str, Any], ncol: int | None = None) -> None:
    """One legend below every panel, in as many columns as fit."""
    if not handles:
        return
    fig.legend(
        list(handles.values()),
        list(handles),
        loc="outside lower center",
        ncol=ncol or legend_columns(list(handles)),
        frameon=False,
    )


def _title(
    fig: Figure, axes: list[Axes], text: str, labels: dict[int, str], cells: list[int | None]
) -> None:
    """The figure's title, and each panel's cell label when there are several cells."""
    if len(cells) > 1:
        for ax, cell in zip(axes, cells, strict=True):
            ax.set_title(labels.get(cell, f"cell {cell}") if cell is not None else "")
        fig.suptitle(text)
    else:
        axes[0].set_title(text)


def _no_data(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="grey")


# --------------------------------------------------------------------------- 1. loss/duplicates

#: The bars of :func:`loss_duplicate_bars`: (summary column, hatch; None = solid).
_RATE_BARS: tuple[tuple[str, str | None, float | None], ...] = (
    ("loss_rate", None, 100.0),  # a fraction of the events
    ("duplicate_rate", "//", None),  # no ceiling: an event can be applied many times
)
_BAR_WIDTH = 0.38


def loss_duplicate_bars(
    summary: pd.DataFrame, *, strategies: Sequence[str] | None = None
) -> Figure:
    """Grouped bars per strategy: loss rate (solid) and duplicate rate (hatched), in percent,
    one panel per cell (titled with its swept values).

    Mean across replications with a 95% Student-t confidence interval of the mean when there
    are at least two; each panel's ``patches`` hold exactly two bars per strategy.
    """
    with style():
        cells = _cells(summary)
        labels = cell_labels(summary)
        fig, axes = _panels(len(cells), (WIDTH if len(cells) == 1 else 4.2, 5.0), sharey=True)
        top, reps = 0.0, 0
        for ax, cell in zip(axes, cells, strict=True):
            t, r = _rate_panel(ax, _of_cell(summary, cell), strategies, summary)
            top, reps = max(top, t), max(reps, r)
        for ax in axes:
            ax.set_ylim(0, top * 1.18 if top > 0 else 1.0)
        note = (f"{_mean_of(reps)}, 95% CI" if reps >= 2 else "1 replication") if reps else ""
        _title(fig, axes, f"Loss and duplicate rate by strategy ({note})", labels, cells)
        proxies = {
            "loss rate": Patch(facecolor="#888888", edgecolor="black", linewidth=0.6),
            "duplicate rate": Patch(facecolor="white", edgecolor="#444444", hatch="//"),
        }
        _bottom_legend(fig, proxies)
        return fig


def _rate_panel(
    ax: Axes, rows: pd.DataFrame, strategies: Sequence[str] | None, every: pd.DataFrame
) -> tuple[float, int]:
    """One cell's bars; returns (tallest whisker, most replications)."""
    order = _present(rows, strategies)
    colours = strategy_colours(_strategy_order(every, strategies))
    strategy_col = rows["strategy"].astype(str) if "strategy" in rows.columns else None
    x = np.arange(len(order), dtype=float)
    top, reps = 0.0, 0
    for m, (column, hatch, ceiling) in enumerate(_RATE_BARS):
        for i, strategy in enumerate(order):
            assert strategy_col is not None
            values = _float_col(rows[strategy_col == strategy], column).dropna() * 100.0
            reps = max(reps, len(values))
            colour = colours.get(strategy, strategy_colour(strategy))
            at = x[i] + (m - 0.5) * _BAR_WIDTH
            top = max(top, _rate_bar(ax, at, values, colour, hatch, ceiling))
    ax.set_xticks(x, order)
    if len(order) > 2:
        for tick in ax.get_xticklabels():
            tick.set_rotation(20)
            tick.set_horizontalalignment("right")
    ax.set_xlim(-0.6, max(len(order) - 0.4, 0.6))
    ax.set_ylabel("rate (% of committed events)")
    ax.grid(axis="x", visible=False)
    ax.set_axisbelow(True)
    if not order:
        _no_data(ax, "no runs")
    return top, reps


def _rate_bar(
    ax: Axes,
    x: float,
    values: pd.Series,
    colour: str,
    hatch: str | None,
    ceiling: float | None = 100.0,
) -> float:
    """One bar: the mean of ``values`` (percent), its 95% CI whisker and its value above.
    The whisker stays within 0..``ceiling`` (100 for a loss rate; a duplicate rate has none:
    an event can be applied many times, over 100% with a timeout far below the round trip).
    Returns the height of the label (the top of the whisker)."""
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
    upper = ci if ceiling is None else max(0.0, min(ci, ceiling - height))
    if ci > 0:
        ax.errorbar(
            x,
            height,
            yerr=[[min(ci, height)], [upper]],
            fmt="none",
            ecolor="black",
            elinewidth=1.2,
            capsize=5,
            zorder=3,
        )
    ax.annotate(
        _fmt_pct(mean),
        (x, height + upper),
        xytext=(0, 4),
        textcoords="offset points",
        ha="center",
        va="bottom",
        fontsize=10,
        zorder=4,
    )
    return height + upper


# --------------------------------------------------------------------------- 2. over time


def throughput_timeline(
    messages: pd.DataFrame,
    faults: pd.DataFrame | None = None,
    *,
    bin_width: float | None = None,
    sim_time: float | None = None,
    strategies: Sequence[str] | None = None,
    summary: pd.DataFrame | None = None,
) -> Figure:
    """Processed events per simulated second over time, one step line per strategy and one
    panel per cell, with the cell's fault windows shaded (every replication's).

    Counts committed events' ``first_effect_at`` per bin, divided by the bin width and
    averaged over replications. ``sim_time`` defaults to the latest ``first_effect_at`` or
    ``created_at``; ``bin_width`` to a round number giving about 60 bins.
    """
    with style():
        cells = _cells(messages)
        labels = cell_labels(messages, summary)
        first_all = _float_col(messages, "first_effect_at")
        if sim_time is None:
            latest = pd.concat([first_all, _float_col(messages, "created_at")]).max()
            sim_time = float(latest) if pd.notna(latest) else 0.0
        edges, width = _bin_edges(sim_time, bin_width)
        fig, axes = _stacked(len(cells))
        handles: dict[str, Any] = {}
        reps = 1
        colours = strategy_colours(_strategy_order(messages, strategies))
        for ax, cell in zip(axes, cells, strict=True):
            rows = _of_cell(messages, cell)
            reps = max(reps, _n_replications(rows))
            handles.update(shade(ax, windows(faults, cell, edges[-1]), reps, colours))
            handles = {**_throughput_lines(ax, rows, edges, width, strategies, colours), **handles}
            ax.set_xlim(0.0, float(edges[-1]))
            ax.set_ylim(bottom=0.0)
            ax.set_ylabel("events/s")
        axes[-1].set_xlabel("simulated time (s)")
        note = f"processed events per second ({_mean_of(reps)}, {width:g} s bins)"
        _title(fig, axes, f"Throughput over time: {note}", labels, cells)
        _bottom_legend(fig, handles)
        return fig


def _stacked(n: int) -> tuple[Figure, list[Axes]]:
    """``n`` panels above each other sharing the time axis."""
    height = 5.5 if n == 1 else 2.3 * n + 1.6
    fig = Chart(figsize=(WIDTH, height), dpi=DPI, layout="constrained")
    axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
    return fig, list(axes)


def _throughput_lines(
    ax: Axes,
    rows: pd.DataFrame,
    edges: np.ndarray,
    width: float,
    strategies: Sequence[str] | None,
    colours: dict[str, str],
) -> dict[str, Any]:
    handles: dict[str, Any] = {}
    first = _float_col(rows, "first_effect_at")
    if "committed" in rows.columns:  # processed events: a phantom's effect is not one
        first = first.where(rows["committed"].fillna(False).astype(bool))
    for strategy in _present(rows, strategies):
        mask = rows["strategy"].astype(str) == strategy
        rate = _rate(first[mask], edges, width, _n_replications(rows[mask]))
        (line,) = ax.plot(
            edges,
            rate,
            drawstyle="steps-post",
            linewidth=2.0,
            zorder=2,
            color=colours.get(strategy, strategy_colour(strategy)),
            label=strategy,
        )
        handles[strategy] = line
    return handles


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
    summary: pd.DataFrame | None = None,
) -> Figure:
    """The backlog over time: records appended and not yet consumed, summed over partitions
    and averaged over replications, one line per strategy and one panel per cell. The lag
    behind the committed offset (which saw-tooths with every periodic commit) is the thin
    dashed line of the same colour. Fault windows are shaded."""
    with style():
        cells = _cells(lag)
        labels = cell_labels(lag, summary)
        fig, axes = _stacked(len(cells))
        colours = strategy_colours(_strategy_order(lag, strategies))
        handles: dict[str, Any] = {}
        reps = 1
        right = float(_float_col(lag, "time").max()) if len(lag) else 1.0
        for ax, cell in zip(axes, cells, strict=True):
            rows = _of_cell(lag, cell)
            reps = max(reps, _n_replications(rows))
            handles.update(shade(ax, windows(faults, cell, right), reps, colours))
            handles = {**_lag_lines(ax, rows, strategies, colours), **handles}
            ax.set_xlim(0.0, right)
            ax.set_ylim(bottom=0.0)
            ax.set_ylabel("records")
        axes[-1].set_xlabel("simulated time (s)")
        text = f"Backlog: records not yet consumed, all partitions ({_mean_of(reps)})"
        _title(fig, axes, text, labels, cells)
        _bottom_legend(fig, handles)
        return fig


def _lag_lines(
    ax: Axes, rows: pd.DataFrame, strategies: Sequence[str] | None, colours: dict[str, str]
) -> dict[str, Any]:
    """The backlog on ``ax``; the lag behind the committed offset, dashed, on a secondary
    axis at the right (its saw-tooth would otherwise set the scale)."""
    handles: dict[str, Any] = {}
    has_backlog = "backlog" in rows.columns
    right = ax.twinx() if has_backlog else None
    for strategy in _present(rows, strategies):
        own = rows[rows["strategy"].astype(str) == strategy]
        colour = colours.get(strategy, strategy_colour(strategy))
        times, values = _mean_total(own, "backlog" if has_backlog else "lag")
        (line,) = ax.plot(
            times, values, color=colour, drawstyle="steps-post", linewidth=2.0, zorder=3
        )
        handles[strategy] = line
        if right is not None:
            times, values = _mean_total(own, "lag")
            (dashed,) = right.plot(
                times,
                values,
                color=colour,
                drawstyle="steps-post",
                linewidth=0.9,
                linestyle="--",
                alpha=0.7,
            )
            handles[f"{strategy}: behind the committed offset (right axis)"] = dashed
    if right is not None:
        right.set_ylim(bottom=0.0)
        right.grid(False)
        right.set_ylabel("behind committed offset", fontsize=10)
    return handles


def _mean_total(own: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Sum over partitions, mean over replications, per sample time."""
    total = own.groupby(["replication", "time"])[column].sum().groupby("time").mean()
    return total.index.to_numpy(dtype=float), total.to_numpy(dtype=float)


# --------------------------------------------------------------------------- 3. latency CDF


def _processed_latencies(rows: pd.DataFrame) -> pd.Series:
    latency = _float_col(rows, "latency")
    keep = latency.notna() & np.isfinite(latency)
    if "fate" in rows.columns:
        keep &= rows["fate"].astype(str) == "processed"
    return latency[keep] * 1000.0


def latency_cdf(
    messages: pd.DataFrame,
    *,
    strategies: Sequence[str] | None = None,
    summary: pd.DataFrame | None = None,
) -> Figure:
    """Empirical CDF of latency (creation to first effect, ms) of processed events per
    strategy, one panel per cell, replications pooled; the x axis is logarithmic when the
    latencies span more than two decades."""
    with style():
        cells = _cells(messages)
        labels = cell_labels(messages, summary)
        fig, axes = _panels(len(cells), (WIDTH if len(cells) == 1 else 4.6, 5.0), sharey=True)
        colours = strategy_colours(_strategy_order(messages, strategies))
        latency = _processed_latencies(messages)
        positive = latency[latency > 0]
        log_x = bool(len(positive)) and float(positive.max()) / float(positive.min()) > 100.0
        handles: dict[str, Any] = {}
        for ax, cell in zip(axes, cells, strict=True):
            handles.update(_cdf_panel(ax, _of_cell(messages, cell), strategies, colours, log_x))
        reps = _n_replications(messages)
        pooled = f"{reps} replications pooled" if reps >= 2 else "1 replication"
        _title(fig, axes, f"Latency CDF of processed events ({pooled})", labels, cells)
        _bottom_legend(fig, handles)
        return fig


def _cdf_panel(
    ax: Axes,
    rows: pd.DataFrame,
    strategies: Sequence[str] | None,
    colours: dict[str, str],
    log_x: bool,
) -> dict[str, Any]:
    latency = _processed_latencies(rows)
    strategy_col = rows["strategy"].astype(str) if "strategy" in rows.columns else None
    handles: dict[str, Any] = {}
    for strategy in _present(rows, strategies):
        assert strategy_col is not None
        values = np.sort(latency[strategy_col.loc[latency.index] == strategy].to_numpy())
        values = values[values > 0] if log_x else values
        if len(values) == 0:
            continue
        n = len(values)
        ranks = np.arange(n)
        if n > CDF_MAX_POINTS:  # keep files small: the CDF at evenly spaced ranks
            ranks = np.unique(np.linspace(0, n - 1, CDF_MAX_POINTS).round().astype(int))
        xs, fraction = values[ranks], (ranks + 1.0) / n
        (line,) = ax.plot(
            np.concatenate(([xs[0]], xs)),
            np.concatenate(([0.0], fraction)),
            drawstyle="steps-post",
            linewidth=2.0,
            label=strategy,
            color=colours.get(strategy, strategy_colour(strategy)),
        )
        handles[strategy] = line
    if log_x:
        ax.set_xscale("log")
    elif len(latency):
        ax.set_xlim(left=0.0)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("latency, creation to first effect (ms" + (", log scale)" if log_x else ")"))
    ax.set_ylabel("fraction of processed events")
    if not len(latency):
        _no_data(ax, "no processed events")
    return handles


# --------------------------------------------------------------------------- 4. sweeps

DEFAULT_SWEEP_METRICS = ("loss_rate", "duplicate_rate")


def default_sweep_metrics(summary: pd.DataFrame, config: Any = None) -> list[str]:
    """The metrics a sweep chart plots: the config's ``sweep.metrics``, else loss and
    duplicate rate (those not zero everywhere), else throughput and p99 latency."""
    chosen = _config_metrics(config)
    if chosen:
        return chosen
    nonzero = [
        m
        for m in DEFAULT_SWEEP_METRICS
        if m in summary.columns and bool((_float_col(summary, m).fillna(0) != 0).any())
    ]
    return nonzero or ["throughput", "latency_p99"]


def _config_metrics(config: Any) -> list[str]:
    sweep = config.get("sweep") if isinstance(config, dict) else getattr(config, "sweep", None)
    metrics = (sweep or {}).get("metrics") if isinstance(sweep, dict) else None
    return [str(m) for m in metrics] if metrics else []


def metric_label(metric: str) -> tuple[str, float]:
    """(axis label with unit, scale from the summary's unit) of a summary column."""
    m = METRICS.get(metric)
    name = metric.replace("_", " ")
    if m is None:
        return name, 1.0
    if m.kind == "rate":
        return f"{name} (% of committed)", 100.0
    if metric.startswith("latency"):
        return f"{name} (ms)", 1000.0
    return f"{name} ({m.unit})", 1.0


def sweep_lines(
    summary: pd.DataFrame,
    parameter: str | None = None,
    metrics: Sequence[str] | None = None,
    *,
    strategies: Sequence[str] | None = None,
    config: Any = None,
) -> Figure:
    """Each metric against a swept parameter: one line per strategy (mean across
    replications) with its 95% confidence band, clipped to the feasible range. Other swept
    parameters are held at their first value. A parameter whose values are not numbers
    (``broker.durability``) is an ordered category axis."""
    swept = swept_parameters(summary)
    if parameter is None:
        if not swept:
            raise ValueError("the summary has no swept parameter (no `sweep:` in the config)")
        parameter = swept[0]
    metrics = list(metrics) if metrics else default_sweep_metrics(summary, config)
    rows, held = _hold_others(summary, swept, parameter)
    order = _strategy_order(rows, strategies)
    colours = strategy_colours(order)
    with style():
        fig = Chart(figsize=(WIDTH, 2.9 * len(metrics) + 1.4), dpi=DPI, layout="constrained")
        axes = fig.subplots(len(metrics), 1, sharex=True, squeeze=False)[:, 0]
        ticks = _sweep_ticks(rows, parameter)
        handles: dict[str, Any] = {}
        for ax, metric in zip(axes, metrics, strict=True):
            handles.update(_sweep_panel(ax, rows, parameter, metric, order, colours, ticks))
        axes[-1].set_xlabel(describe_parameter(parameter, config))
        if ticks is not None:
            axes[-1].set_xticks(range(len(ticks)), [str(t) for t in ticks])
        what = describe_parameter(parameter, config).split(" (")[0]
        title = f"Against {what} ({_mean_of(_n_replications(rows))}, 95% CI band{held})"
        axes[0].set_title(title)
        _bottom_legend(fig, handles)
    return fig


def _hold_others(summary: pd.DataFrame, swept: list[str], parameter: str) -> tuple[Any, str]:
    rows = summary
    held = []
    for other in swept:
        if other != parameter:
            value = rows[other].iloc[0]
            rows = rows[rows[other] == value]
            held.append(f"{other}={value}")
    return rows, (f"; {', '.join(held)}" if held else "")


def _sweep_ticks(rows: pd.DataFrame, parameter: str) -> list[Any] | None:
    """The category values of a non-numeric parameter, in first-appearance order."""
    values = pd.to_numeric(rows[parameter], errors="coerce")
    if values.notna().all():
        return None
    return list(dict.fromkeys(rows[parameter].tolist()))


def _sweep_panel(
    ax: Axes,
    rows: pd.DataFrame,
    parameter: str,
    metric: str,
    order: list[str],
    colours: dict[str, str],
    ticks: list[Any] | None,
) -> dict[str, Any]:
    label, scale = metric_label(metric)
    upper = METRICS[metric].upper if metric in METRICS else math.inf
    handles: dict[str, Any] = {}
    for strategy in order:
        own = rows[rows["strategy"].astype(str) == strategy]
        if own.empty or metric not in own.columns:
            continue
        xs, means, lows, highs = _sweep_band(own, parameter, metric, upper, ticks)
        colour = colours[strategy]
        (line,) = ax.plot(xs, np.array(means) * scale, marker="o", color=colour, label=strategy)
        ax.fill_between(
            xs,
            np.array(lows) * scale,
            np.array(highs) * scale,
            color=colour,
            alpha=0.2,
            linewidth=0,
        )
        handles[strategy] = line
    ax.set_ylabel(label)
    ax.set_ylim(bottom=0.0)
    if metric not in rows.columns:
        _no_data(ax, f"no column {metric!r} in the summary")
    return handles


def _sweep_band(
    own: pd.DataFrame, parameter: str, metric: str, upper: float, ticks: list[Any] | None
) -> tuple[list[float], list[float], list[float], list[float]]:
    """(x positions, means, band lows, band highs) of one strategy's metric; the band is
    clipped to [0, upper]."""
    xs, means, lows, highs = [], [], [], []
    for x, group in own.groupby(parameter, sort=ticks is None):
        mean, half = mean_ci(_float_col(group, metric))
        half = 0.0 if not math.isfinite(half) else half
        xs.append(float(ticks.index(x)) if ticks is not None else float(x))  # type: ignore[arg-type]
        means.append(mean)
        lows.append(max(0.0, mean - half))
        highs.append(min(upper, mean + half))
    if ticks is not None:
        pairs = sorted(zip(xs, means, lows, highs, strict=True))
        xs, means, lows, highs = (list(v) for v in zip(*pairs, strict=True))
    return xs, means, lows, highs


# --------------------------------------------------------------------------- 5. costs, causes


COST_PANELS: tuple[tuple[str, str, float], ...] = (
    ("loss_rate", "lost (% of committed)", 100.0),
    ("duplicate_rate", "duplicate effects (% of committed)", 100.0),
    ("phantom_rate", "phantoms (% of intended)", 100.0),
    ("latency_p50", "median latency (ms)", 1000.0),
    ("messages_per_event", "network messages per event", 1.0),
)


def strategy_costs(
    summary: pd.DataFrame,
    *,
    strategies: Sequence[str] | None = None,
) -> Figure:
    """Loss, duplicates, phantoms, latency and messages per event, one panel each, all
    strategies side by side (mean across replications, 95% CI), one row per cell."""
    cells = _cells(summary)
    labels = cell_labels(summary)
    colours = strategy_colours(_strategy_order(summary, strategies))
    with style():
        fig = Chart(
            figsize=(3.1 * len(COST_PANELS), 4.6 * len(cells) + 0.8), dpi=DPI, layout="constrained"
        )
        grid = fig.subplots(len(cells), len(COST_PANELS), squeeze=False)
        for row_axes, cell in zip(grid, cells, strict=True):
            rows = _of_cell(summary, cell)
            rows = rows.assign(
                phantom_rate=_float_col(rows, "phantoms") / _float_col(rows, "intended"),
                messages_per_event=_float_col(rows, "network_messages")
                / _float_col(rows, "intended"),
            )
            order = _present(rows, strategies)
            for ax, (col, label, scale) in zip(row_axes, COST_PANELS, strict=True):
                _cost_panel(ax, rows, order, colours, col, scale)
                ax.set_title(label, fontsize=11)
            if len(cells) > 1 and cell is not None:
                row_axes[0].set_ylabel(labels.get(cell, f"cell {cell}"), fontsize=12)
        fig.suptitle("What each strategy costs (" + _mean_of(_n_replications(summary)) + ")")
    return fig


def _cost_panel(
    ax: Axes, rows: pd.DataFrame, order: list[str], colours: dict[str, str], col: str, scale: float
) -> None:
    means, errs = [], []
    for s in order:
        mean, half = mean_ci(_float_col(rows[rows["strategy"].astype(str) == s], col))
        mean = 0.0 if not math.isfinite(mean) else mean * scale
        half = 0.0 if not math.isfinite(half) else half * scale
        means.append(mean)
        errs.append([min(half, mean), half])
    xs = np.arange(len(order))
    yerr = np.array(errs).T if errs else None
    ax.bar(
        xs,
        means,
        yerr=yerr,
        color=[colours.get(s, strategy_colour(s)) for s in order],
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
    ax.set_ylim(bottom=0)


def cause_breakdown(
    messages: pd.DataFrame,
    *,
    strategies: Sequence[str] | None = None,
    summary: pd.DataFrame | None = None,
) -> Figure:
    """Lost events and duplicate effects per strategy, stacked by the cause the checker found
    in the history, as a share of committed events: one row per cell (replications pooled);
    one colour per cause across every panel, named in the legend below."""
    cells = _cells(messages)
    labels = cell_labels(messages, summary)
    committed = messages
    if "committed" in messages.columns:
        committed = messages[messages["committed"].astype(bool)]
    lost_all = committed[committed["fate"] == "lost"].groupby(["strategy", "loss_cause"]).size()
    dups_all = _duplicate_counts(committed)
    causes = sorted({c for _, c in lost_all.index} | {c for _, c in dups_all.index})
    cmap = matplotlib.colormaps["tab20"]
    palette = {c: cmap(i % 20) for i, c in enumerate(causes)}
    with style():
        fig = Chart(figsize=(WIDTH + 2, 4.4 * len(cells) + 1.2), dpi=DPI, layout="constrained")
        grid = fig.subplots(len(cells), 2, sharey="row", squeeze=False)
        for row_axes, cell in zip(grid, cells, strict=True):
            rows = _of_cell(committed, cell)
            order = _present(rows, strategies) or _strategy_order(messages, strategies)
            _cause_row(row_axes, rows, order, palette)
            if len(cells) > 1 and cell is not None:
                row_axes[0].set_ylabel(f"{labels.get(cell, cell)}\n% of committed events")
        fig.suptitle("Why events were lost or applied twice (causes read from the history)")
        handles = {c: Patch(facecolor=palette[c]) for c in causes}
        _bottom_legend(fig, handles)
    return fig


def _cause_row(row_axes: Any, rows: pd.DataFrame, order: list[str], palette: dict) -> None:
    totals = rows.groupby("strategy", sort=False).size()
    lost = rows[rows["fate"] == "lost"].groupby(["strategy", "loss_cause"]).size()
    panels = ((lost, "lost events by cause"), (_duplicate_counts(rows), "duplicate effects"))
    xs = np.arange(len(order), dtype=float)
    for ax, (counts, title) in zip(row_axes, panels, strict=True):
        bottom = np.zeros(len(order))
        present = sorted({c for _, c in counts.index}) if len(counts) else []
        for cause in present:
            values = np.array(
                [100.0 * counts.get((s, cause), 0) / max(1, totals.get(s, 1)) for s in order]
            )
            ax.bar(
                xs,
                values,
                bottom=bottom,
                color=palette[cause],
                edgecolor="white",
                linewidth=0.5,
                width=0.6,
            )
            bottom += values
        ax.set_title(title)
        ax.set_xticks(xs, order, rotation=20, ha="right")
        ax.set_xlim(-0.6, max(len(order) - 0.4, 0.6))
        ax.set_ylim(bottom=0)
        if not present:
            _no_data(ax, "none")
    row_axes[0].set_ylabel("% of committed events")


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


# --------------------------------------------------------------------------- saving


def save_figure(fig: Figure, out_dir: str | Path, name: str) -> list[Path]:
    """Write ``name.png`` and ``name.svg`` into ``out_dir`` atomically; return their paths.

    The layout is computed once, when the png is drawn; the svg reuses it (the same
    positions in both files, and a third less drawing time)."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    engine = fig.get_layout_engine()
    try:
        for fmt, metadata in (("png", {"Software": None}), ("svg", {"Date": None})):
            final = folder / f"{name}.{fmt}"
            tmp = folder / f".{name}.{os.getpid()}.tmp.{fmt}"
            try:
                with style():
                    fig.savefig(tmp, format=fmt, dpi=DPI, metadata=metadata)
                os.replace(tmp, final)
            finally:
                if tmp.exists():
                    tmp.unlink()
            written.append(final)
            fig.set_layout_engine("none")  # keep the positions just laid out
    finally:
        fig.set_layout_engine(engine if engine is not None else "none")
    return written


def _sim_time_hint(summary: pd.DataFrame, messages: pd.DataFrame) -> float | None:
    """Length of the run for the timeline: the summary's sim_time, if longer."""
    candidates: list[float] = []
    if summary is not None and not summary.empty and "sim_time" in summary.columns:
        value = _float_col(summary, "sim_time").max()
        if pd.notna(value):
            candidates.append(float(value))
    value = pd.concat(
        [_float_col(messages, "first_effect_at"), _float_col(messages, "created_at")]
    ).max()
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
    config: Any = None,
    metrics: Sequence[str] | None = None,
) -> list[Path]:
    """Draw every chart the frames support into ``out_dir`` (created if needed); return the
    written paths (a png and an svg per chart).

    Charts whose frame is empty are skipped: with an empty ``messages`` frame (trace
    level "summary") there is no ``throughput_timeline``, ``latency_cdf`` or ``causes``.
    ``metrics`` (or the config's ``sweep.metrics``) chooses what the sweep chart plots.
    """
    written: list[Path] = []
    for name, fig in figures(summary, messages, faults, lag=lag, config=config, metrics=metrics):
        written += save_figure(fig, out_dir, name)
    return written


CHARTS = (
    "loss_duplicates",
    "throughput_timeline",
    "latency_cdf",
    "costs",
    "lag_timeline",
    "causes",
    "sweep",
)
"""The charts by name (``sweep`` also names ``sweep_1``, ... and, with several consumer groups,
every chart is drawn once per group as ``<name>-<group>``)."""


def figures(
    summary: pd.DataFrame | None,
    messages: pd.DataFrame | None,
    faults: pd.DataFrame | None,
    *,
    lag: pd.DataFrame | None = None,
    config: Any = None,
    metrics: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
) -> Iterator[tuple[str, Figure]]:
    """(file name, figure) of each chart the frames support (or of those ``names``), drawn
    one at a time."""
    for name, draw in _drawable(summary, messages, faults, lag, config, metrics):
        chart = name.split("-", 1)[0]  # without the group of a per-group chart
        if not names or chart in names or (chart.startswith("sweep") and "sweep" in names):
            yield name, draw()


def _drawable(
    summary: pd.DataFrame | None,
    messages: pd.DataFrame | None,
    faults: pd.DataFrame | None,
    lag: pd.DataFrame | None,
    config: Any,
    metrics: Sequence[str] | None,
) -> Iterator[tuple[str, Callable[[], Figure]]]:
    """(file name, how to draw it) of each chart the frames support; with several consumer
    groups, each chart once per group (``<chart>-<group>``), from that group's rows."""
    groups = _groups(summary, messages)
    if len(groups) <= 1:
        yield from _drawable_one(summary, messages, faults, lag, config, metrics)
        return
    for group in groups:
        own = [_of_group(f, group) for f in (summary, messages, lag)]
        for name, draw in _drawable_one(own[0], own[1], faults, own[2], config, metrics):
            yield f"{name}-{group}", functools.partial(_titled, draw, group)


def _groups(*frames: pd.DataFrame | None) -> list[str]:
    """The consumer groups of the frames, in order of appearance."""
    for frame in frames:
        if frame is not None and "group" in frame.columns and len(frame):
            return [str(g) for g in frame["group"].unique()]
    return []


def _of_group(frame: pd.DataFrame | None, group: str) -> pd.DataFrame | None:
    if frame is None or "group" not in frame.columns:
        return frame
    return frame[frame["group"] == group].reset_index(drop=True)


def _titled(draw: Callable[[], Figure], group: str) -> Figure:
    """A chart of one consumer group's rows, saying which group it shows."""
    fig = draw()
    title = fig._suptitle.get_text() if fig._suptitle is not None else ""  # type: ignore[attr-defined]
    if title:
        fig.suptitle(f"{title} (consumer group {group})")
    else:
        ax = fig.axes[0]
        ax.set_title(f"{ax.get_title()} (consumer group {group})")
    return fig


def _drawable_one(
    summary: pd.DataFrame | None,
    messages: pd.DataFrame | None,
    faults: pd.DataFrame | None,
    lag: pd.DataFrame | None,
    config: Any,
    metrics: Sequence[str] | None,
) -> Iterator[tuple[str, Callable[[], Figure]]]:
    """(file name, how to draw it) of each chart the frames support."""
    summary = summary if summary is not None else pd.DataFrame()
    messages = messages if messages is not None else pd.DataFrame()
    kw: dict[str, Any] = {"strategies": _strategy_order(messages, _strategy_order(summary))}
    s_cols, m_cols = set(summary.columns), set(messages.columns)
    if not summary.empty and {"strategy", "loss_rate", "duplicate_rate"} <= s_cols:
        yield "loss_duplicates", lambda: loss_duplicate_bars(summary, **kw)
    if not messages.empty and {"strategy", "first_effect_at"} <= m_cols:
        sim_time = _sim_time_hint(summary, messages)
        yield (
            "throughput_timeline",
            lambda: throughput_timeline(messages, faults, sim_time=sim_time, summary=summary, **kw),
        )
        if len(_processed_latencies(messages)):
            yield "latency_cdf", lambda: latency_cdf(messages, summary=summary, **kw)
    if not summary.empty and {"strategy", "loss_rate", "phantoms", "network_messages"} <= s_cols:
        yield "costs", lambda: strategy_costs(summary, **kw)
    if lag is not None and not lag.empty:
        yield "lag_timeline", lambda: lag_timeline(lag, faults, summary=summary, **kw)
    if not messages.empty and {"strategy", "fate", "loss_cause"} <= m_cols:
        yield "causes", lambda: cause_breakdown(messages, summary=summary, **kw)
    swept = swept_parameters(summary) if not summary.empty else []
    chosen = list(metrics) if metrics else None
    for i, parameter in enumerate(p for p in swept if summary[p].nunique() > 1):
        draw: Callable[[], Figure] = functools.partial(
            sweep_lines, summary, parameter, chosen, config=config, **kw
        )
        yield ("sweep" if i == 0 else f"sweep_{i}"), draw
