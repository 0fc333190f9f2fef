"""Explain one business event: its journey through the history, in words and as a sequence
diagram.

``msgsim explain DIR --message ID [--run RUN]`` reads a results folder whose trace is ``full``
(``events.parquet``: the history of every run, one row per (operation, event id); the
operations and their fields are declared in ``sim/history/ops.py``) and tells, step by step,
what happened to one event in one run: created, sent, dropped, retried, stored, delivered,
crashed, redelivered, applied. The faults that hit the nodes and links the event touched are
woven in.

Why it ended as it did is the checker's word, not explain's: the run's history is checked
again (:func:`sim.check.check`), and its verdict on the event gives the fate and loss cause
(as in the messages frame), why each extra copy in the logs exists and why each extra effect
was applied. Causes are read and put in plain words by ``sim/history/causes.py``.

The steps are told by :mod:`sim.report.narrate` and drawn by :mod:`sim.report.diagram`.
Run labels are ``c{cell}-{strategy}-r{replication}``, as the run files of a results folder.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from ..check import Verdict, check, messages_frame
from ..check.groups import owner
from ..config import ConfigError
from ..history import causes
from ..history.recorder import FRAME_COLUMNS, frame_to_ops
from .charts import save_figure
from .diagram import MAX_DIAGRAM_STEPS, draw
from .narrate import narrate
from .results import Results, load_results
from .story import (
    JOURNEY_COLUMNS,
    Fault,
    Findings,
    Story,
    effects_of,
    node_key,
    present,
)

__all__ = [
    "JOURNEY_COLUMNS",
    "MAX_DIAGRAM_STEPS",
    "ExplainError",
    "explain",
    "explain_text",
    "journey",
    "runs_of",
    "sequence_diagram",
]

#: Crashes, pauses and faults of the event's nodes are shown up to this long (simulated
#: seconds) after the event's last own step.
MARGIN = 1.0
#: How many examples an error message lists.
EXAMPLES = 5

_RUN_KEYS = ["cell", "strategy", "replication"]
_NODE_OPS = ("crash", "restart", "pause", "resume", "step")
_INTERESTING = "lost, duplicated or pending"
#: Loss causes naming the crash that lost the event's last copy (told however late it came).
_LOST_IN_A_CRASH = ("crash", "crash-after-ack", "disk-loss", "fenced")


class ExplainError(ValueError):
    """A user-facing problem (no full trace, unknown id or run): the message says what to do."""


# --------------------------------------------------------------------------- run labels


def _label(cell: Any, strategy: Any, replication: Any) -> str:
    return f"c{int(cell)}-{strategy}-r{int(replication)}"


def _parse_label(run: str) -> tuple[int, str, int]:
    """(cell, strategy, replication) of a run label."""
    cell, _, rest = run.partition("-")
    strategy, _, replication = rest.rpartition("-r")
    return int(cell[1:]), strategy, int(replication)


def _require_trace(results: Results) -> pd.DataFrame:
    events = results.events
    needed = {"seq", "op", "event", *_RUN_KEYS}
    if events is None or events.empty or not needed <= set(events.columns):
        trace = results.config.trace
        was = f" (this experiment ran with trace: {trace})" if trace else ""
        raise ExplainError(
            "no full trace: the results folder has no events.parquet" + was + ". "
            "explain needs the whole history of a run: rerun the experiment with `trace: full` "
            "in its config (e.g. add the line `trace: full` and `msgsim run CONFIG --force`)."
        )
    if "detail" not in events.columns:
        raise ExplainError(
            "events.parquet has no `detail` column: it was written by an older msgsim. "
            "Rerun the experiment (`msgsim run CONFIG --force`) to explain its events."
        )
    return events


def runs_of(results: Results) -> list[str]:
    """The run labels ``c{cell}-{strategy}-r{replication}`` present in the trace, in summary
    order."""
    events = _require_trace(results)
    present_runs = [
        _label(*row) for row in events[_RUN_KEYS].drop_duplicates().itertuples(index=False)
    ]
    order: list[str] = []
    summary = results.summary
    if summary is not None and not summary.empty and set(_RUN_KEYS) <= set(summary.columns):
        order = [_label(*row) for row in summary[_RUN_KEYS].itertuples(index=False)]
    known = set(present_runs)
    ranked = [r for r in dict.fromkeys(order) if r in known]
    return ranked + [r for r in present_runs if r not in set(ranked)]


def _run_mask(frame: pd.DataFrame, run: str) -> pd.Series:
    cell, strategy, replication = _parse_label(run)
    return (
        (frame["cell"] == cell)
        & (frame["strategy"].astype(str) == strategy)
        & (frame["replication"] == replication)
    )


def _few(items: list[str], n: int = EXAMPLES) -> str:
    shown = ", ".join(items[:n])
    return shown + (f" (and {len(items) - n} more)" if len(items) > n else "")


# --------------------------------------------------------------------------- the verdict


def _run_frame(results: Results, run: str, group: str | None = None) -> pd.DataFrame:
    """One run's history, as the checker of ``group`` saw it (None: all of it)."""
    events = results.events
    frame = events[_run_mask(events, run)].sort_values("seq", kind="stable")
    if group is None:
        return frame
    group_of = results.config.node_topology().group_of_node
    peers = frame["peer"].where(frame["peer"].map(lambda p: isinstance(p, str)), "")
    owners = [owner(str(n), str(p), group_of) for n, p in zip(frame["node"], peers, strict=True)]
    return frame[[o is None or o == group for o in owners]]


def _verdict(results: Results, frame: pd.DataFrame) -> tuple[Verdict, list[int]]:
    """The checker's verdict on one run's history (its frame), and the trace seq of each
    history position the verdict names."""
    config = results.config
    duration = float(config.duration or frame["time"].max() or 1.0)
    sim_time = duration + float(config.drain or 0.0)
    history = frame[FRAME_COLUMNS]
    seqs = [int(s) for s in history["seq"].drop_duplicates()]
    return check(frame_to_ops(history), duration, sim_time), seqs


def _verdict_row(verdict: Verdict, message_id: str) -> dict[str, Any]:
    """The event's row of the messages frame, made from the verdict as the run made it ({}
    when the checker never saw the event created)."""
    e = verdict.events.get(message_id)
    if e is None:
        return {}
    alone = Verdict({message_id: e})
    return dict(messages_frame(alone).iloc[0])


def _findings(verdict: Verdict, seqs: list[int], message_id: str) -> Findings:
    e = verdict.events.get(message_id)
    if e is None:
        return Findings()
    copies = {seqs[at]: (n, why) for n, (at, why) in enumerate(e.append_causes, start=1)}
    return Findings(copies, tuple(e.duplicate_causes))


def _message_row(
    results: Results, run: str, message_id: str, group: str | None = None
) -> dict[str, Any]:
    """The event's row in the saved messages frame ({} when there is none): of ``group``,
    or of the first group where it was lost, pending or duplicated (else the first)."""
    msgs = results.messages
    if msgs is None or msgs.empty or "id" not in msgs.columns:
        return {}
    if not set(_RUN_KEYS) <= set(msgs.columns):
        return {}
    rows = msgs[_run_mask(msgs, run) & (msgs["id"].astype(str) == message_id)]
    if group is not None and "group" in rows.columns:
        rows = rows[rows["group"].astype(str) == group]
    telling = [dict(r) for _, r in rows.iterrows() if _interesting(dict(r))]
    return telling[0] if telling else ({} if rows.empty else dict(rows.iloc[0]))


# --------------------------------------------------------------------------- which run


def _interesting(info: dict[str, Any]) -> bool:
    return present(info.get("fate")) in ("lost", "pending") or effects_of(info) > 1


def _example_ids(results: Results, run: str | None) -> str:
    """A few ids worth explaining (lost, duplicated, any) for an error message."""
    msgs = results.messages
    if msgs is None or msgs.empty or not {"id", "fate", "effects"} <= set(msgs.columns):
        events = results.events
        created = events[events["op"] == "create"]["event"].astype(str)
        return "any: " + ", ".join(list(dict.fromkeys(created))[:3])
    rows = msgs
    if run is not None and set(_RUN_KEYS) <= set(msgs.columns):
        rows = msgs[_run_mask(msgs, run)]
    ids = rows["id"].astype(str)
    parts: list[str] = []
    for what, mask in (
        ("lost", rows["fate"] == "lost"),
        ("duplicated", rows["effects"] > 1),
        ("pending", rows["fate"] == "pending"),
    ):
        chosen = list(dict.fromkeys(ids[mask]))[:3]
        if chosen:
            parts.append(f"{what}: {', '.join(chosen)}")
    parts.append("any: " + ", ".join(list(dict.fromkeys(ids))[:3]))
    return "; ".join(parts)


def _resolve_run(results: Results, message_id: str, run: str | None) -> tuple[str, list[str], str]:
    """(run label, runs holding the id, how the run was chosen)."""
    events = _require_trace(results)
    runs = runs_of(results)
    hits = events[events["event"] == message_id]
    with_id = {_label(*row) for row in hits[_RUN_KEYS].drop_duplicates().itertuples(index=False)}
    ordered = [r for r in runs if r in with_id]
    if run is not None:
        label, how = _given_run(runs, run)
        if label not in with_id:
            where = f" It is in: {_few(['--run ' + r for r in ordered])}." if ordered else ""
            raise ExplainError(
                f"unknown message id {message_id!r} in run {label}: no event with that id in "
                f"its trace.{where} Ids in that run, e.g. {_example_ids(results, label)}."
            )
        return label, ordered, how
    if not ordered:
        raise ExplainError(
            f"unknown message id {message_id!r}: no event with that id in the trace of any run "
            f"({_few(runs)}). Event ids name the producer and a counter, e.g. "
            f"{_example_ids(results, None)}."
        )
    if len(ordered) == 1:
        return ordered[0], ordered, "the only run holding it"
    for label in ordered:
        if _interesting(_event_info(results, label, message_id)):
            return label, ordered, f"the first run where it was {_INTERESTING}"
    return ordered[0], ordered, f"the first run (it was not {_INTERESTING} in any)"


def _given_run(runs: list[str], run: str) -> tuple[str, str]:
    """The run ``--run`` names: exactly, or as the only label containing it."""
    if run in runs:
        return run, "given with --run"
    matches = [r for r in runs if run in r]
    if len(matches) > 1:
        raise ExplainError(
            f"ambiguous --run {run!r}: it matches {len(matches)} runs: {_few(matches)}. "
            "Pass one of them exactly, e.g. --run " + matches[0] + "."
        )
    if not matches:
        raise ExplainError(
            f"unknown run {run!r}: the trace holds {len(runs)} run(s): {_few(runs)}. "
            "Runs are labelled c{cell}-{strategy}-r{replication}; pass one with --run."
        )
    return matches[0], f"matched --run {run}"


def _event_info(results: Results, run: str, message_id: str) -> dict[str, Any]:
    """The event's messages row; the checker's verdict on the run when none was saved."""
    row = _message_row(results, run, message_id)
    if row:
        return row
    verdict, _seqs = _verdict(results, _run_frame(results, run))
    return _verdict_row(verdict, message_id)


# --------------------------------------------------------------------------- faults


def _link_pairs(own: pd.DataFrame) -> set[tuple[str, str]]:
    """Directed links (src, dst) the event's messages travelled."""
    pairs: set[tuple[str, str]] = set()
    for op, node, peer in own[["op", "node", "peer"]].itertuples(index=False):
        if op in ("send", "dup", "drop") and peer:
            pairs.add((str(node), str(peer)))
        elif op == "deliver" and peer:
            pairs.add((str(peer), str(node)))
    return pairs


def _fault_nodes(target: str, nodes: set[str], links: set[tuple[str, str]]) -> list[str]:
    """The event's nodes a fault target concerns ([] when it does not touch the event's
    path): the node itself, or both ends of each travelled link the target names (a link
    pattern, or a partition's groups of node patterns: the links across the cut)."""
    if target in nodes:
        return [target]
    hit = _across(target) if "|" in target else _along(target)
    if hit is None:
        return sorted((n for n in nodes if fnmatchcase(n, target)), key=node_key)
    ends = {n for u, v in links if hit(u, v) for n in (u, v)}
    return sorted(ends, key=node_key)


def _across(target: str) -> Callable[[str, str], bool]:
    """Whether a link crosses the cut of a partition ``a,b|c``."""
    groups = [side.split(",") for side in target.split("|")]

    def side(node: str) -> int | None:
        for i, patterns in enumerate(groups):
            if any(fnmatchcase(node, p) for p in patterns):
                return i
        return None

    def crosses(u: str, v: str) -> bool:
        su, sv = side(u), side(v)
        return su is not None and sv is not None and su != sv

    return crosses


def _along(target: str) -> Callable[[str, str], bool] | None:
    """Whether a link matches the link pattern ``a->b`` (or ``a<->b``, either way); None
    when ``target`` is a node pattern."""
    a, arrow, b = target.partition("->")
    both = a.endswith("<")
    a = a.removesuffix("<")
    if not (arrow and a and b):
        return None

    def along(u: str, v: str) -> bool:
        forward = fnmatchcase(u, a) and fnmatchcase(v, b)
        return forward or (both and fnmatchcase(u, b) and fnmatchcase(v, a))

    return along


def _faults_of_run(frame: pd.DataFrame, results: Results, run: str) -> list[Fault]:
    """The run's faults, from its fault-start and fault-end rows (a probability from the
    faults table)."""
    rows = frame[frame["op"].isin(["fault-start", "fault-end"])]
    faults: dict[int, Fault] = {}
    columns = ["seq", "time", "op", "node", "num", "detail"]
    for seq, time, op, node, num, kind in rows[columns].itertuples(index=False):
        f = faults.get(int(num))
        if op == "fault-start":
            faults[int(num)] = Fault(
                int(num), str(kind), str(node), float(time), None, int(seq), None
            )
        elif f is not None and f.end is None:
            f.end, f.end_seq = float(time), int(seq)
    table = results.faults
    needed = {"fault", "probability", "cell", "replication"}
    if table is not None and not table.empty and needed <= set(table.columns):
        cell, _strategy, replication = _parse_label(run)
        mine = table[(table["cell"] == cell) & (table["replication"] == replication)]
        for fnum, p in mine[["fault", "probability"]].itertuples(index=False):
            if int(fnum) in faults and p is not None and not pd.isna(p):
                faults[int(fnum)].probability = float(p)
    return list(faults.values())


# --------------------------------------------------------------------------- the story


class _Window:
    """The event's time in the run, and the history rows its story keeps."""

    def __init__(self, frame: pd.DataFrame, own: pd.DataFrame) -> None:
        created = own[own["op"] == "create"]
        self.start = float(created["time"].min()) if len(created) else float(own["time"].min())
        self.end = float(own["time"].max()) + MARGIN
        self.bare = frame[frame["event"].isna()]
        """Rows about no event: crashes, faults, commits, ..."""
        self.keep: set[int] = {int(s) for s in own["seq"]}

    def keep_node_steps(self, nodes: set[str]) -> None:
        """Keep crashes, restarts, pauses, resumes (and crash-on-step steps) of the event's
        nodes meanwhile, and the restart or resume that ends each such crash or pause."""
        node_rows = self.bare[self.bare["op"].isin(_NODE_OPS) & self.bare["node"].isin(nodes)]
        times = node_rows["time"]
        in_window = node_rows[(times >= self.start) & (times <= self.end)]
        self.keep.update(int(s) for s in in_window["seq"])
        for seq, op, node in in_window[["seq", "op", "node"]].itertuples(index=False):
            follow = {"crash": "restart", "pause": "resume"}.get(str(op))
            if follow:
                later = node_rows[
                    (node_rows["node"] == node)
                    & (node_rows["op"] == follow)
                    & (node_rows["seq"] > seq)
                ]
                if len(later):
                    self.keep.add(int(later["seq"].iloc[0]))

    def keep_fatal_crash(self, info: dict[str, Any], nodes: set[str]) -> None:
        """Keep the crash that lost a lost event's last copy, however late it came."""
        cause = causes.parse(present(info.get("loss_cause")) or "")
        if info.get("fate") != "lost" or cause.kind not in _LOST_IN_A_CRASH:
            return
        bare = self.bare
        crashed = bare[
            (bare["op"] == "crash") & (bare["node"] == cause.subject) & (bare["time"] >= self.start)
        ]
        if len(crashed):
            self.keep.add(int(crashed["seq"].iloc[0]))
            nodes.add(cause.subject)

    def keep_faults(
        self, all_faults: list[Fault], nodes: set[str], links: set[tuple[str, str]]
    ) -> list[Fault]:
        """The faults on the event's nodes and links meanwhile; keep their start and end rows
        (a crash or pause is told by its node's own rows)."""
        faults = []
        for f in all_faults:
            f.nodes = _fault_nodes(f.target, nodes, links)
            shown_crash = f.start_seq + 1 in self.keep  # the crash that lost it
            late = f.start > self.end and not shown_crash
            if not f.nodes or late or (f.end is not None and f.end < self.start):
                continue
            faults.append(f)
            if f.kind in ("crash", "pause"):
                continue
            for s, t in ((f.start_seq, f.start), (f.end_seq, f.end)):
                if s is not None and t is not None and self.start <= t <= self.end:
                    self.keep.add(s)
        return faults


def _commit_rows(frame: pd.DataFrame, appends: pd.DataFrame) -> list[int]:
    """Seqs of commits whose committed offset passes one of the event's offsets (and offset
    resets that un-commit it), after the event was appended there."""
    keep: list[int] = []
    ops = frame[frame["op"].isin(["commit", "offset-reset"])]
    for broker, part in appends[["node", "part"]].drop_duplicates().itertuples(index=False):
        mine = appends[(appends["node"] == broker) & (appends["part"] == part)]
        marks = list(mine[["seq", "num"]].itertuples(index=False))
        level = 0
        rows = ops[(ops["node"] == broker) & (ops["part"] == part)].sort_values("seq")
        for seq, op, num in rows[["seq", "op", "num"]].itertuples(index=False):
            for append_seq, offset in marks:
                if seq <= append_seq:
                    continue
                if op == "commit" and level <= offset < num:
                    keep.append(int(seq))
                elif op == "offset-reset" and num <= offset < level:
                    keep.append(int(seq))
            level = int(num)
    return keep


def _story(
    results: Results, message_id: str, run: str | None, group: str | None = None
) -> Story:
    message_id = str(message_id)
    label, with_id, how = _resolve_run(results, message_id, run)
    group = _resolve_group(results, label, message_id, group)
    frame = _run_frame(results, label, group)
    verdict, seqs = _verdict(results, frame)
    row = _message_row(results, label, message_id, group)
    info = {**_verdict_row(verdict, message_id), **row}
    own = frame[frame["event"] == message_id].drop_duplicates("seq")
    nodes = {str(n) for n in own["node"]}
    nodes |= {str(p) for p in own["peer"] if isinstance(p, str) and p}
    window = _Window(frame, own)
    window.keep_node_steps(nodes)
    window.keep_fatal_crash(info, nodes)
    faults = window.keep_faults(_faults_of_run(frame, results, label), nodes, _link_pairs(own))
    window.keep.update(_commit_rows(frame, own[own["op"] == "append"]))

    about = (frame["event"] == message_id) | frame["event"].isna()
    rows = frame[frame["seq"].isin(window.keep) & about].drop_duplicates("seq")
    carried = frame[frame["seq"].isin(own["seq"])].groupby("seq").size()
    findings = _findings(verdict, seqs, message_id)
    steps = narrate(rows, findings, faults, {int(str(k)): int(v) for k, v in carried.items()})
    lifelines = sorted(nodes, key=node_key)
    return Story(
        label, message_id, info, findings, steps, with_id, how, faults, lifelines, group or ""
    )


def _resolve_group(results: Results, run: str, message_id: str, group: str | None) -> str | None:
    """The consumer group whose view of the run tells the story (None: the run has one)."""
    groups = results.config.node_topology().group_names
    if group is not None and group not in groups:
        raise ExplainError(f"unknown --group {group!r}; the groups are: {', '.join(groups)}")
    if len(groups) == 1:
        return None
    return group or str(_message_row(results, run, message_id).get("group", groups[0]))


def journey(results: Results, message_id: str, run: str | None = None) -> pd.DataFrame:
    """The ordered steps of one event in one run.

    Columns: ``time`` (simulated seconds), ``seq`` (the history's sequence number), ``node``,
    ``peer``, ``step`` (a short verb: created, sent, retried, dropped, arrived, stored,
    delivered, redelivered, committed, applied, reapplied, released, outcome, crashed,
    restarted, paused, resumed, fault-start, fault-end, ...) and ``text`` (one sentence).
    ``run`` defaults to the first run (summary order) where the event was lost, duplicated
    or pending, else the first run holding it. Raises :class:`ExplainError` without a full
    trace, or for an unknown id or run.
    """
    return _story(results, message_id, run).steps[JOURNEY_COLUMNS].copy()


# --------------------------------------------------------------------------- text


def _fmt_seconds(value: Any) -> str:
    if value is None or pd.isna(value):
        return "-"
    v = float(value)
    return f"{v * 1000:.3g} ms" if abs(v) < 1 else f"{v:.4g} s"


def _with_words(cause: str, duplicate: bool = False) -> str:
    """A cause followed by its reading in plain words, when there is one."""
    words = causes.describe(cause, duplicate=duplicate)
    return f"{cause} ({words})" if words else cause


def _fate_words(info: dict[str, Any]) -> list[str]:
    """What its fate means (and, when it was lost, what its producer was told)."""
    fate = present(info.get("fate")) or "unknown"
    effects = effects_of(info)
    cause = present(info.get("loss_cause"))
    if fate == "lost":
        told_ok = present(info.get("producer_outcome")) == "ok"
        return [f"it was lost, cause: {_with_words(cause or causes.UNKNOWN)}"] + (
            ["yet its producer's application was told ok"] if told_ok else []
        )
    if fate == "pending":
        return [
            "still pending at the end of the run: a copy is still held somewhere (a log, a "
            "producer, a consumer) and could still be delivered"
        ]
    if fate == "processed":
        return ["processed" + (" once" if effects == 1 else f", applied {effects} times")]
    if fate == "aborted":
        phantom = f"; yet its effect was applied {effects} time(s): a phantom" if effects else ""
        return ["its business transaction did not commit, so the event does not exist" + phantom]
    if fate == "dead_lettered":
        cause = cause or causes.UNKNOWN
        words = causes.describe(cause) or "its processing kept failing"
        return [f"dead-lettered, cause: {cause} ({words})"]
    if fate == "expired":
        cause = cause or "ttl"
        words = causes.describe(cause) or "older than the TTL when it would have been delivered"
        return [f"expired, cause: {cause} ({words})"]
    return [f"fate {fate}"]


def _why(story: Story) -> str:
    info = story.info
    parts = _fate_words(info)
    grouped: dict[str, list[int]] = {}
    for i, cause in enumerate(story.findings.duplicate_causes, start=2):
        grouped.setdefault(cause, []).append(i)
    for cause, which in grouped.items():
        if len(which) == 1:
            names = f"effect {which[0]} is a duplicate"
        else:
            names = f"effects {', '.join(map(str, which))} are duplicates"
        parts.append(f"{names}, cause: {_with_words(cause, duplicate=True)}")
    if present(info.get("fate")) == "processed" and effects_of(info) == 1:
        parts.append("no fault changed its fate")
    return "Why: " + "; ".join(parts) + "."


def _header(story: Story) -> list[str]:
    group = f", consumer group {story.group}" if story.group else ""
    lines = [f"Event {story.message_id} in run {story.run}{group} ({story.how_chosen})"]
    others = [r for r in story.runs_with_id if r != story.run]
    if others:
        shown = ", ".join(f"--run {r}" for r in others[:8])
        more = f" and {len(others) - 8} more" if len(others) > 8 else ""
        lines.append(f"  also in {len(others)} other run(s): {shown}{more}")
    lines += _fate_lines(story.info)
    faults = "; ".join(f.describe() for f in story.faults) or "none"
    lines.append(f"faults on its nodes and links meanwhile: {faults}")
    return lines


def _fate_lines(info: dict[str, Any]) -> list[str]:
    if not info:
        return ["fate: unknown (no messages.parquet row for it)"]
    effects = effects_of(info)
    extra = f" ({effects - 1} duplicate{'s' if effects > 2 else ''})" if effects > 1 else ""
    created_at = float(info.get("created_at", float("nan")))
    return [
        f"fate: {info.get('fate')} | effects: {effects}{extra} | deliveries: "
        f"{info.get('deliveries')} | latency: {_fmt_seconds(info.get('latency'))} | "
        f"loss_cause: {present(info.get('loss_cause')) or '-'} | "
        f"duplicate_cause: {present(info.get('duplicate_cause')) or '-'}",
        f"created by {info.get('producer')} at t={created_at:.6f}, key {info.get('key')}, "
        f"partition {info.get('partition')}; producer outcome: {info.get('producer_outcome')}",
    ]


def _text(story: Story) -> str:
    lines = _header(story)
    steps = story.steps
    lines.append(f"Journey ({len(steps)} steps, nodes: {', '.join(story.nodes)}):")
    width = len(str(len(steps)))
    rows = steps[["time", "step", "text"]].itertuples(index=False)
    for i, (time, step, text) in enumerate(rows, start=1):
        lines.append(f"  {i:>{width}}. t={time:.6f}  {step:<12} {text}")
    if story.info:
        lines.append(_why(story))
    else:
        lines.append("Why: unknown (no messages.parquet row for it).")
    return "\n".join(lines) + "\n"


def explain_text(
    results: Results, message_id: str, run: str | None = None, group: str | None = None
) -> str:
    """The story of one event: a header (run, fate, effects, deliveries, latency, causes),
    one line per step, and a closing line naming the cause(s). With several consumer groups
    it is told as ``group`` saw it (default: the first group where it went wrong)."""
    return _text(_story(results, message_id, run, group))


def sequence_diagram(
    results: Results, message_id: str, run: str | None = None, group: str | None = None
) -> Figure:
    """The sequence (Lamport) diagram of one event's journey over the nodes it touched."""
    return draw(_story(results, message_id, run, group))


# --------------------------------------------------------------------------- the command


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def explain(
    results_dir: str | Path,
    message_id: str,
    run: str | None = None,
    out_dir: str | Path | None = None,
    group: str | None = None,
) -> tuple[str, list[Path]]:
    """Load a results folder, tell one event's journey and draw its sequence diagram.

    Returns the text and the written files, ``explain-<run>-<id>.png`` and ``.svg`` in
    ``out_dir`` (default ``DIR/charts``). Raises :class:`ExplainError` for an incomplete
    folder, a trace that is not ``full``, or an unknown id or run.
    """
    folder = Path(results_dir)
    try:
        results = load_results(folder)
    except ConfigError as exc:
        raise ExplainError(str(exc)) from None
    story = _story(results, message_id, run, group)
    text = _text(story)
    fig = draw(story)
    which = f"-{story.group}" if story.group else ""
    name = f"explain-{_safe_name(story.run + which)}-{_safe_name(story.message_id)}"
    paths = save_figure(fig, Path(out_dir) if out_dir is not None else folder / "charts", name)
    return text, paths
