"""The sequence (Lamport) diagram of one event's story.

One lifeline per node the event touched, one row per step (time flows downward in step
order, the simulated time is labelled at the left), messages as arrows from their send to
their delivery, dropped messages ending in a red X with the cause, crashes and pauses
shaded on the lifelines, fault windows on the links the event's messages travelled. Like
:mod:`sim.report.charts`, it is built with the object-oriented matplotlib API and is
deterministic.
"""

from __future__ import annotations

import bisect
import textwrap
from dataclasses import dataclass
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from .charts import DPI, FAULT_STYLE, _style
from .story import Fault, Story, effects_of, present

#: The diagram shows at most this many steps (the most telling ones; the text shows all).
MAX_DIAGRAM_STEPS = 60

_MARK_STYLE: dict[str, dict[str, Any]] = {
    "create": dict(marker="o", color="#009E73", ms=9),
    "append": dict(marker="s", color="#0072B2", ms=8),
    "receive": dict(marker=">", color="#56B4E9", ms=9),
    "effect": dict(marker="*", color="#E69F00", ms=15),
    "dup-effect": dict(marker="*", color="#d62728", ms=15),
    "commit": dict(marker="D", color="#CC79A7", ms=7),
    "reset": dict(marker="D", color="#D55E00", ms=7),
    "loss": dict(marker="X", color="#d62728", ms=10),
    "crash": dict(marker="X", color="#d62728", ms=12),
    "pause": dict(marker="P", color="#ff7f0e", ms=10),
    "restart": dict(marker="^", color="#009E73", ms=8),
    "minor": dict(marker=".", color="#7f7f7f", ms=7),
    "fault": dict(marker="v", color="#7f7f7f", ms=7),
}
#: Legend entries of the lifeline marks, in legend order.
_MARK_LEGEND = (
    ("create", "created"),
    ("append", "stored in a log"),
    ("receive", "delivered to a consumer"),
    ("effect", "effect applied"),
    ("dup-effect", "duplicate effect"),
    ("commit", "offset committed"),
    ("crash", "crash"),
    ("pause", "pause"),
    ("restart", "restart / resume"),
    ("loss", "record lost"),
)
_ARROW_COLOUR = {"produce": "#0072B2", "fetch-response": "#0072B2", "sink-txn": "#0072B2"}
_ACK_COLOUR = "#8a8a8a"
_RED = "#d62728"
_DEFAULT_FAULT_STYLE = ("#7f7f7f", "||")
_MESSAGE_OPS = ("send", "dup", "deliver", "drop")


@dataclass(frozen=True)
class _Step:
    """One row of a story's steps, typed for drawing."""

    time: float
    seq: int
    node: str
    peer: str
    step: str
    text: str
    op: str
    num: int
    part: int
    detail: str
    kind: str
    unit: str
    prio: int
    mark: str
    label: str


@dataclass
class _Canvas:
    """The axes and where things go: lifeline x per node, row per shown step."""

    ax: Axes
    xs: dict[str, float]
    records: list[_Step]

    def __post_init__(self) -> None:
        self.n = len(self.records)
        self.rank = {row.seq: float(r) for r, row in enumerate(self.records)}
        self.seqs = [row.seq for row in self.records]

    def y_of(self, seq: int | None) -> float:
        """The row of a history seq; between rows when that step is not shown."""
        if seq is None:
            return self.n - 0.5
        if seq in self.rank:
            return self.rank[seq]
        return bisect.bisect_right(self.seqs, seq) - 0.5


def draw(story: Story, cap: int = MAX_DIAGRAM_STEPS) -> Figure:
    """The diagram of ``story``, with at most ``cap`` steps."""
    steps = select(story.steps, cap).reset_index(drop=True)
    records = [_Step(**{str(k): v for k, v in r.items()}) for r in steps.to_dict("records")]
    n = len(records)
    width = max(9.0, 2.3 * len(story.nodes) + 4.5)
    height = max(5.0, 0.3 * n + 2.6)
    with _style():
        fig = Figure(figsize=(width, height), dpi=DPI, layout="tight")
        ax = fig.add_subplot()
        ax.grid(False)
        c = _Canvas(ax, {name: float(i) for i, name in enumerate(story.nodes)}, records)
        _lifelines(c)
        windows = _fault_windows(c, story.faults)
        _down_spans(c)
        _messages(c)
        _marks(c, story.faults)
        _axes(c, steps)
        ax.set_title(_title(story, width), loc="left", fontsize=12, pad=28)
        if n < len(story.steps):
            ax.set_xlabel(
                f"showing {n} of {len(story.steps)} steps (acknowledgements and releases "
                "left out first; `msgsim explain` prints them all)",
                fontsize=9,
            )
        ax.legend(
            handles=_legend(records, steps, windows),
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            borderaxespad=0.0,
            fontsize=9,
        )
        if n == 0:
            ax.text(0.5, 0.5, "no steps", transform=ax.transAxes, ha="center", va="center")
        return fig


def select(steps: pd.DataFrame, cap: int) -> pd.DataFrame:
    """At most ``cap`` steps: the telling ones first (faults, stores, deliveries, effects),
    then the messages carrying the event, then acknowledgements and releases; a message's
    send, copy, drop and delivery are kept or left out together."""
    if len(steps) <= cap:
        return steps
    units = steps.groupby("unit", sort=False).agg(
        prio=("prio", "min"), first=("seq", "min"), size=("seq", "size")
    )
    units = units.sort_values(["prio", "first"], kind="stable")
    chosen: set[str] = set()
    total = 0
    for unit, size in units["size"].items():
        if total + int(size) > cap:
            break
        chosen.add(str(unit))
        total += int(size)
    return steps[steps["unit"].isin(chosen)]


# --------------------------------------------------------------------------- lifelines


def _lifelines(c: _Canvas) -> None:
    for x in c.xs.values():
        c.ax.plot([x, x], [-0.8, c.n - 0.3], color="#444444", linewidth=1.2, zorder=1)
    for r in range(c.n):
        c.ax.axhline(r, color="#e6e6e6", linewidth=0.6, zorder=0)


def _fault_windows(c: _Canvas, faults: list[Fault]) -> dict[str, tuple[str, str]]:
    """Shade the windows of faults on links (and partitions) the event's messages
    travelled, across the lifelines they concern; return their legend entries."""
    legend: dict[str, tuple[str, str]] = {}
    for f in faults:
        ends = [c.xs[nd] for nd in f.nodes if nd in c.xs]
        if f.kind in ("crash", "pause") or not ends:
            continue
        y0, y1 = c.y_of(f.start_seq), c.y_of(f.end_seq)
        if y1 <= y0:
            continue
        lo, hi = min(ends), max(ends)
        if hi - lo < 0.3:
            lo, hi = lo - 0.15, hi + 0.15
        colour, hatch = FAULT_STYLE.get(f.kind, _DEFAULT_FAULT_STYLE)
        c.ax.add_patch(
            Rectangle(
                (lo, y0),
                hi - lo,
                y1 - y0,
                facecolor=colour,
                edgecolor=colour,
                alpha=0.08,
                hatch=hatch,
                linewidth=0.0,
                zorder=0,
            )
        )
        legend[f"{f.kind} window: {f.target}"[:48]] = (colour, hatch)
    return legend


def _down_spans(c: _Canvas) -> None:
    """Shade each lifeline while its node is crashed or paused."""
    down: dict[str, tuple[str, float]] = {}
    for row in c.records:
        if row.node not in c.xs:
            continue
        y = c.rank[row.seq]
        if row.op in ("crash", "pause"):
            down[row.node] = (row.op, y)
        elif row.op in ("restart", "resume"):
            unseen = ("crash" if row.op == "restart" else "pause", -0.5)
            what, since = down.pop(row.node, unseen)
            _shade(c.ax, c.xs[row.node], since, y, *FAULT_STYLE[what])
    for name, (what, since) in down.items():
        _shade(c.ax, c.xs[name], since, c.n - 0.5, *FAULT_STYLE[what])


def _shade(ax: Axes, x: float, y0: float, y1: float, colour: str, hatch: str) -> None:
    ax.add_patch(
        Rectangle(
            (x - 0.09, y0),
            0.18,
            y1 - y0,
            facecolor=colour,
            edgecolor=colour,
            alpha=0.28,
            hatch=hatch,
            linewidth=0.0,
            zorder=1,
        )
    )


# --------------------------------------------------------------------------- messages


def _messages(c: _Canvas) -> None:
    """Arrows from send (or network copy) to delivery; a drop ends in a red X."""
    parts: dict[int, dict[str, _Step]] = {}
    for row in c.records:
        if row.op in _MESSAGE_OPS:
            key = "send" if row.op == "dup" else row.op
            parts.setdefault(row.num, {}).setdefault(key, row)
    for num, msg in parts.items():
        _message(c, num, msg)


def _message(c: _Canvas, num: int, msg: dict[str, _Step]) -> None:
    first = msg.get("send") or msg.get("drop") or msg["deliver"]
    if first.op == "deliver":  # its send is not shown: start the arrow on the same row
        src, dst = first.peer, first.node
    else:
        src, dst = first.node, first.peer
    if src not in c.xs or dst not in c.xs:
        return
    x0, x1, y0 = c.xs[src], c.xs[dst], c.rank[first.seq]
    colour = _ARROW_COLOUR.get(first.kind, _ACK_COLOUR)
    if "deliver" in msg:
        y1 = c.rank[msg["deliver"].seq]
        style = "--" if first.op == "dup" else "-"
        c.ax.annotate(
            "",
            xy=(x1, y1),
            xytext=(x0, y0),
            zorder=3,
            arrowprops=dict(
                arrowstyle="-|>",
                color=colour,
                linewidth=1.4,
                linestyle=style,
                shrinkA=0,
                shrinkB=0,
                mutation_scale=14,
            ),
        )
        xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    else:  # label the dashed stretch, not its end
        xm, ym = _undelivered(c, msg.get("drop"), (x0, y0), (x0 + x1) / 2, colour)
        xm, ym = (x0 + xm) / 2, (y0 + ym) / 2
    c.ax.annotate(
        f"{first.kind} #{num}",
        (xm, ym),
        xytext=(0, 3),
        textcoords="offset points",
        ha="center",
        va="bottom",
        fontsize=7,
        color=colour,
        zorder=4,
        bbox=dict(boxstyle="round,pad=0.1", facecolor="white", edgecolor="none", alpha=0.7),
    )


def _undelivered(
    c: _Canvas, drop: _Step | None, start: tuple[float, float], xm: float, colour: str
) -> tuple[float, float]:
    """A dashed half arrow: to a red X and the drop's cause, or to a "?" when the message
    was still in flight at the end (or its delivery is not shown). Returns its end."""
    x0, y0 = start
    ym = c.rank[drop.seq] if drop is not None else y0 + 0.5
    c.ax.plot(
        [x0, xm],
        [y0, ym],
        color=_RED if drop is not None else colour,
        linewidth=1.4,
        linestyle="--",
        zorder=3,
    )
    if drop is not None:
        c.ax.plot([xm], [ym], marker="X", color=_RED, markersize=13, linestyle="none", zorder=5)
        c.ax.annotate(
            drop.detail,
            (xm, ym),
            xytext=(9, 0),
            textcoords="offset points",
            ha="left",
            va="center",
            fontsize=8,
            color=_RED,
            fontweight="bold",
            zorder=6,
            bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none", alpha=0.85),
        )
    else:
        c.ax.annotate(
            "?",
            (xm, ym),
            xytext=(6, 0),
            textcoords="offset points",
            ha="left",
            va="center",
            fontsize=9,
            color=colour,
        )
    return xm, ym


# --------------------------------------------------------------------------- local steps


def _marks(c: _Canvas, faults: list[Fault]) -> None:
    """A marker and a label on the lifeline for each local step."""
    for row in c.records:
        if not row.mark or row.mark == "drop":
            continue
        x = _mark_x(c, row, faults)
        if x is None:
            continue
        y = c.rank[row.seq]
        st = _MARK_STYLE.get(row.mark, _MARK_STYLE["minor"])
        effect = row.mark in ("effect", "dup-effect")
        c.ax.plot(
            [x],
            [y],
            marker=st["marker"],
            color=st["color"],
            markersize=st["ms"],
            linestyle="none",
            markeredgecolor="black" if effect else st["color"],
            markeredgewidth=0.6,
            zorder=5,
        )
        minor = row.mark in ("minor", "fault")
        bold = row.mark in ("crash", "dup-effect", "loss")
        c.ax.annotate(
            row.label,
            (x, y),
            xytext=(9, 0),
            textcoords="offset points",
            ha="left",
            va="center",
            fontsize=7 if minor else 8,
            color="#555555" if minor else "black",
            fontweight="bold" if bold else "normal",
            zorder=6,
            bbox=dict(boxstyle="round,pad=0.12", facecolor="white", edgecolor="none", alpha=0.8),
        )


def _mark_x(c: _Canvas, row: _Step, faults: list[Fault]) -> float | None:
    """Where a step's marker goes: its node's lifeline; a fault's start or end on the
    leftmost lifeline it concerns. None when its node has no lifeline."""
    if row.mark == "fault":
        places = {
            c.xs[nd]
            for f in faults
            if f.start_seq == row.seq or f.end_seq == row.seq
            for nd in f.nodes
            if nd in c.xs
        }
        return min(places) if places else 0.0
    return c.xs.get(row.node)


# --------------------------------------------------------------------------- frame


def _axes(c: _Canvas, steps: pd.DataFrame) -> None:
    ax = c.ax
    ax.set_xlim(-0.6, max(len(c.xs) - 0.4, 0.6) + 0.6)
    ax.set_ylim(c.n - 0.3, -0.8)
    ax.xaxis.tick_top()
    ax.set_xticks(list(c.xs.values()), list(c.xs))
    ax.tick_params(axis="x", length=0, labelsize=11)
    for tick in ax.get_xticklabels():
        tick.set_fontweight("bold")
    ax.set_yticks([float(r) for r in range(c.n)], [f"{t:.5f}" for t in steps["time"]])
    ax.tick_params(axis="y", labelsize=8)
    ax.set_ylabel("simulated time (s), one row per step, downward")
    for side in ("right", "bottom"):
        ax.spines[side].set_visible(False)


def _title(story: Story, width: float) -> str:
    info = story.info
    effects = effects_of(info)
    title = (
        f"{story.message_id} in {story.run}: {info.get('fate', 'unknown')}, "
        f"{effects} effect{'s' if effects != 1 else ''}"
    )
    loss = present(info.get("loss_cause"))
    causes = [c for c in (loss, *dict.fromkeys(story.findings.duplicate_causes)) if c]
    if causes:
        title += " - cause: " + "; ".join(causes)
    return "\n".join(textwrap.wrap(title, width=int(12 * width)))


def _legend(
    records: list[_Step], steps: pd.DataFrame, windows: dict[str, tuple[str, str]]
) -> list[Any]:
    handles = _message_handles(records)
    used = set(steps["mark"])
    for mark, text in _MARK_LEGEND:
        if mark in used:
            st = _MARK_STYLE[mark]
            handles.append(
                Line2D(
                    [],
                    [],
                    marker=st["marker"],
                    color=st["color"],
                    markersize=min(st["ms"], 11),
                    linestyle="none",
                    label=text,
                )
            )
    ops = set(steps["op"])
    if "crash" in used or "crash" in ops or "restart" in ops:
        handles.append(_span_patch("crash", "node down"))
    if "pause" in ops or "resume" in ops:
        handles.append(_span_patch("pause", "node paused"))
    for text, (colour, hatch) in windows.items():
        handles.append(Patch(facecolor=colour, alpha=0.2, hatch=hatch, label=text))
    return handles


def _message_handles(records: list[_Step]) -> list[Any]:
    kinds = {r.kind for r in records if r.op in ("send", "dup", "deliver")}
    handles: list[Any] = []
    if kinds & set(_ARROW_COLOUR):
        handles.append(
            Line2D(
                [], [], color=_ARROW_COLOUR["produce"], linewidth=1.4, label="message carrying it"
            )
        )
    if kinds - set(_ARROW_COLOUR):
        handles.append(Line2D([], [], color=_ACK_COLOUR, linewidth=1.4, label="acknowledgement"))
    if any(r.op == "dup" for r in records):
        handles.append(
            Line2D([], [], color=_ACK_COLOUR, linewidth=1.4, linestyle="--", label="network copy")
        )
    if any(r.op == "drop" for r in records):
        handles.append(
            Line2D(
                [],
                [],
                color=_RED,
                linestyle="--",
                marker="X",
                markersize=9,
                label="dropped message",
            )
        )
    return handles


def _span_patch(what: str, label: str) -> Patch:
    colour, hatch = FAULT_STYLE[what]
    return Patch(facecolor=colour, alpha=0.3, hatch=hatch, label=label)
