"""Explain one business event: its journey through the history, in words and as a sequence diagram.

``msgsim explain DIR --message ID [--run RUN]`` reads a results folder whose trace is ``full``
(``events.parquet``: the history of every run, one row per (operation, event id); see
:mod:`sim.recorder` for the operations and their fields) and tells, step by step, what
happened to one event in one run: created, sent, dropped, retried, stored, delivered,
crashed, redelivered, applied. The checker's verdict (fate, ``loss_cause``,
``duplicate_cause`` from the messages frame) frames the story; the faults that hit the
nodes and links the event touched are woven in.

The diagram is a Lamport-style sequence diagram: one lifeline per node the event touched,
one row per step (time flows downward in step order, the simulated time is labelled at the
left), messages as arrows from their send to their delivery, dropped messages ending in a
red X with the cause, crashes and pauses shaded on the lifelines. Like :mod:`sim.charts`, it
is built with the object-oriented matplotlib API and is deterministic.

Run labels are ``c{cell}-{strategy}-r{replication}``, as the run files of a results folder.
"""

from __future__ import annotations

import bisect
import json
import math
import re
import textwrap
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from ..config import ConfigError
from .charts import DPI, FAULT_STYLE, _style, save_figure
from .results import Results, load_results

__all__ = [
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
#: The diagram shows at most this many steps (the most telling ones; the text shows all).
MAX_DIAGRAM_STEPS = 60
#: How many examples an error message lists.
EXAMPLES = 5

JOURNEY_COLUMNS = ["time", "seq", "node", "peer", "step", "text"]
_RUN_KEYS = ["cell", "strategy", "replication"]
_NODE_OPS = ("crash", "restart", "pause", "resume", "step")
_ROLE_ORDER = {"producer": 0, "relay": 1, "coordinator": 2, "broker": 3, "consumer": 4, "sink": 5}
_INTERESTING = "lost, duplicated or pending"


class ExplainError(ValueError):
    """A user-facing problem (no full trace, unknown id or run): the message says what to do."""


# --------------------------------------------------------------------------- run labels


def _label(cell: Any, strategy: Any, replication: Any) -> str:
    return f"c{int(cell)}-{strategy}-r{int(replication)}"


def _require_trace(results: Results) -> pd.DataFrame:
    events = results.events
    if events is None or events.empty or not {"seq", "op", "event", *_RUN_KEYS} <= set(events.columns):
        trace = (results.config or {}).get("trace")
        was = f" (this experiment ran with trace: {trace})" if trace else ""
        raise ExplainError(
            "no full trace: the results folder has no events.parquet" + was + ". "
            "explain needs the whole history of a run: rerun the experiment with `trace: full` "
            "in its config (e.g. add the line `trace: full` and `msgsim run CONFIG --force`)."
        )
    return events


def runs_of(results: Results) -> list[str]:
    """The run labels ``c{cell}-{strategy}-r{replication}`` present in the trace, in summary order."""
    events = _require_trace(results)
    present = [_label(*row) for row in events[_RUN_KEYS].drop_duplicates().itertuples(index=False)]
    order: list[str] = []
    summary = results.summary
    if summary is not None and not summary.empty and set(_RUN_KEYS) <= set(summary.columns):
        order = [_label(*row) for row in summary[_RUN_KEYS].itertuples(index=False)]
    known = set(present)
    ranked = [r for r in dict.fromkeys(order) if r in known]
    return ranked + [r for r in present if r not in set(ranked)]


def _run_mask(frame: pd.DataFrame, run: str) -> pd.Series:
    m = re.fullmatch(r"c(\d+)-(.+)-r(\d+)", run)
    assert m is not None, run
    return (
        (frame["cell"] == int(m.group(1)))
        & (frame["strategy"].astype(str) == m.group(2))
        & (frame["replication"] == int(m.group(3)))
    )


def _few(items: list[str], n: int = EXAMPLES) -> str:
    shown = ", ".join(items[:n])
    return shown + (f" (and {len(items) - n} more)" if len(items) > n else "")


# --------------------------------------------------------------------------- the story


@dataclass
class _Fault:
    num: int
    kind: str
    target: str
    start: float
    end: float | None
    start_seq: int
    end_seq: int | None
    probability: float | None = None
    nodes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        p = f" p={self.probability:g}" if self.probability is not None and math.isfinite(self.probability) else ""
        until = "on" if self.end is None else f"{self.end:g}"
        where = f"of {self.target}" if self.kind in ("crash", "pause", "disk-loss") else f"on {self.target}"
        return f"{self.kind}{p} {where} (fault {self.num}, t={self.start:g} to {until})"


@dataclass
class _Story:
    run: str
    message_id: str
    info: dict[str, Any]
    steps: pd.DataFrame  # JOURNEY_COLUMNS plus op, num, part, info, kind, unit, prio, mark, label
    runs_with_id: list[str]
    how_chosen: str
    faults: list[_Fault]
    nodes: list[str]


def _node_key(name: str) -> tuple[int, str, int, str]:
    m = re.fullmatch(r"([a-z]+)(?:-(\d+))?", name)
    role = m.group(1) if m else name
    index = int(m.group(2)) if m and m.group(2) else 0
    return (_ROLE_ORDER.get(role, len(_ROLE_ORDER)), role, index, name)


def _message_rows(results: Results, run: str, message_id: str) -> dict[str, Any]:
    msgs = results.messages
    if msgs is None or msgs.empty or "id" not in msgs.columns or not set(_RUN_KEYS) <= set(msgs.columns):
        return {}
    rows = msgs[_run_mask(msgs, run) & (msgs["id"].astype(str) == message_id)]
    return {} if rows.empty else dict(rows.iloc[0])


def _interesting(info: dict[str, Any]) -> bool:
    effects = _present(info.get("effects"))
    return _present(info.get("fate")) in ("lost", "pending") or (effects is not None and int(float(effects)) > 1)


def _example_ids(results: Results, run: str | None) -> str:
    """A few ids worth explaining (lost, duplicated, any) for an error message."""
    msgs = results.messages
    parts: list[str] = []
    if msgs is not None and not msgs.empty and {"id", "fate", "effects"} <= set(msgs.columns):
        rows = msgs[_run_mask(msgs, run)] if run is not None and set(_RUN_KEYS) <= set(msgs.columns) else msgs
        ids = rows["id"].astype(str)
        for what, mask in (("lost", rows["fate"] == "lost"), ("duplicated", rows["effects"] > 1),
                           ("pending", rows["fate"] == "pending")):
            chosen = list(dict.fromkeys(ids[mask]))[:3]
            if chosen:
                parts.append(f"{what}: {', '.join(chosen)}")
        parts.append("any: " + ", ".join(list(dict.fromkeys(ids))[:3]))
    else:
        events = results.events
        created = events[events["op"] == "create"]["event"].astype(str)
        parts.append("any: " + ", ".join(list(dict.fromkeys(created))[:3]))
    return "; ".join(parts)


def _resolve_run(results: Results, message_id: str, run: str | None) -> tuple[str, list[str], str]:
    """(run label, runs holding the id, how the run was chosen)."""
    events = _require_trace(results)
    runs = runs_of(results)
    hits = events[events["event"] == message_id]
    with_id_set = {_label(*row) for row in hits[_RUN_KEYS].drop_duplicates().itertuples(index=False)}
    with_id = [r for r in runs if r in with_id_set]
    if run is not None:
        if run in runs:
            label, how = run, "given with --run"
        else:
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
            label, how = matches[0], f"matched --run {run}"
        if label not in with_id_set:
            where = f" It is in: {_few(['--run ' + r for r in with_id])}." if with_id else ""
            raise ExplainError(
                f"unknown message id {message_id!r} in run {label}: no event with that id in its trace.{where} "
                f"Ids in that run, e.g. {_example_ids(results, label)}."
            )
        return label, with_id, how
    if not with_id:
        raise ExplainError(
            f"unknown message id {message_id!r}: no event with that id in the trace of any run "
            f"({_few(runs)}). Event ids name the producer and a counter, e.g. {_example_ids(results, None)}."
        )
    if len(with_id) == 1:
        return with_id[0], with_id, "the only run holding it"
    for label in with_id:
        if _interesting(_message_rows(results, label, message_id)):
            return label, with_id, f"the first run where it was {_INTERESTING}"
    return with_id[0], with_id, f"the first run (it was not {_INTERESTING} in any)"


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
    """The event's nodes a fault target concerns ([] when it does not touch the event's path)."""
    if target in nodes:
        return [target]
    hit: set[str] = set()
    if "|" in target:  # a partition: groups of node patterns; a travelled link across the cut
        groups = [side.split(",") for side in target.split("|")]

        def side(n: str) -> int | None:
            for i, patterns in enumerate(groups):
                if any(fnmatchcase(n, p) for p in patterns):
                    return i
            return None

        for u, v in links:
            su, sv = side(u), side(v)
            if su is not None and sv is not None and su != sv:
                hit.update((u, v))
        return sorted(hit, key=_node_key)
    m = re.fullmatch(r"(.+?)(<->|->)(.+)", target)
    if m:
        a, arrow, b = m.groups()
        for u, v in links:
            if (fnmatchcase(u, a) and fnmatchcase(v, b)) or (arrow == "<->" and fnmatchcase(u, b) and fnmatchcase(v, a)):
                hit.update((u, v))
        return sorted(hit, key=_node_key)
    return sorted((n for n in nodes if fnmatchcase(n, target)), key=_node_key)


def _faults_of_run(frame: pd.DataFrame, results: Results, run: str) -> list[_Fault]:
    rows = frame[frame["op"].isin(["fault-start", "fault-end"])]
    faults: dict[int, _Fault] = {}
    for seq, time, op, node, num, info in rows[["seq", "time", "op", "node", "num", "detail"]].itertuples(index=False):
        if op == "fault-start":
            faults[int(num)] = _Fault(int(num), str(info), str(node), float(time), None, int(seq), None)
        elif int(num) in faults and faults[int(num)].end is None:
            faults[int(num)].end, faults[int(num)].end_seq = float(time), int(seq)
    table = results.faults
    if table is not None and not table.empty and {"fault", "probability", "cell", "replication"} <= set(table.columns):
        m = re.fullmatch(r"c(\d+)-(.+)-r(\d+)", run)
        assert m is not None
        mine = table[(table["cell"] == int(m.group(1))) & (table["replication"] == int(m.group(3)))]
        for fnum, p in mine[["fault", "probability"]].itertuples(index=False):
            if int(fnum) in faults and p is not None and not pd.isna(p):
                faults[int(fnum)].probability = float(p)
    return list(faults.values())


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


def _story(results: Results, message_id: str, run: str | None) -> _Story:
    message_id = str(message_id)
    label, with_id, how = _resolve_run(results, message_id, run)
    events = results.events
    frame = events[_run_mask(events, label)].sort_values("seq", kind="stable")
    own = frame[frame["event"] == message_id].drop_duplicates("seq")
    info = _message_rows(results, label, message_id)
    created = own[own["op"] == "create"]
    start = float(created["time"].min()) if len(created) else float(own["time"].min())
    last = float(own["time"].max())
    end = last + MARGIN
    nodes = {str(n) for n in own["node"]} | {str(p) for p in own["peer"] if isinstance(p, str) and p}
    links = _link_pairs(own)

    bare = frame[frame["event"].isna()]
    keep: set[int] = set(int(s) for s in own["seq"])
    # crashes, restarts, pauses, resumes (and crash-on-step steps) of the event's nodes
    node_rows = bare[bare["op"].isin(_NODE_OPS) & bare["node"].isin(nodes)]
    in_window = node_rows[(node_rows["time"] >= start) & (node_rows["time"] <= end)]
    keep.update(int(s) for s in in_window["seq"])
    for seq, op, node in in_window[["seq", "op", "node"]].itertuples(index=False):
        follow = {"crash": "restart", "pause": "resume"}.get(str(op))
        if follow:  # the restart or resume that ends an included crash or pause
            later = node_rows[(node_rows["node"] == node) & (node_rows["op"] == follow) & (node_rows["seq"] > seq)]
            if len(later):
                keep.add(int(later["seq"].iloc[0]))
    cause = _present(info.get("loss_cause")) or ""
    m = re.match(r"(crash|disk-loss):(\S+)", cause)
    if info.get("fate") == "lost" and m:  # the crash that lost it, however late
        crashed = bare[(bare["op"] == "crash") & (bare["node"] == m.group(2)) & (bare["time"] >= start)]
        if len(crashed):
            keep.add(int(crashed["seq"].iloc[0]))
            nodes.add(m.group(2))
    # faults on the event's nodes and links
    faults = []
    for f in _faults_of_run(frame, results, label):
        f.nodes = _fault_nodes(f.target, nodes, links)
        shown_crash = f.start_seq + 1 in keep  # the crash that lost it, told however late
        if not f.nodes or (f.start > end and not shown_crash) or (f.end is not None and f.end < start):
            continue
        faults.append(f)
        if f.kind in ("crash", "pause"):
            continue  # told by the node's own crash/restart/pause/resume rows
        for s, t in ((f.start_seq, f.start), (f.end_seq, f.end)):
            if s is not None and t is not None and start <= t <= end:
                keep.add(s)
    # commits that pass the event's offsets
    appends = own[own["op"] == "append"]
    keep.update(_commit_rows(frame, appends))

    rows = frame[frame["seq"].isin(keep) & ((frame["event"] == message_id) | frame["event"].isna())]
    rows = rows.drop_duplicates("seq").sort_values("seq", kind="stable").reset_index(drop=True)
    carried = frame[frame["seq"].isin(own["seq"])].groupby("seq").size()
    steps = _narrate(rows, info, faults, {int(str(k)): int(v) for k, v in carried.items()})
    lifelines = sorted(nodes, key=_node_key)
    return _Story(label, message_id, info, steps, with_id, how, faults, lifelines)


# --------------------------------------------------------------------------- narration


_SEND_TEXT = {
    "produce": "{node} sent it to {peer} (message {num}, produce)",
    "produce-ack": "{node} acknowledged it to {peer} (message {num}, produce-ack)",
    "fetch-response": "{node} sent it to {peer} (message {num}, fetch-response{batch})",
    "sink-txn": "{node} sent its effect to {peer} (message {num}, sink-txn)",
    "sink-ack": "{node} acknowledged the effect to {peer} (message {num}, sink-ack)",
}
_RELEASE_TEXT = {
    "acked": "after the acknowledgement",
    "sent": "once sent, without waiting for an acknowledgement",
    "gave-up": "it gave up",
    "done": "done",
}
_CUSTODY_KINDS = ("produce", "fetch-response", "sink-txn")


def _narrate(rows: pd.DataFrame, info: dict[str, Any], faults: list[_Fault], carried: dict[int, int]) -> pd.DataFrame:
    """One readable sentence (and a short verb, a diagram mark and label) per history row."""
    dup_causes = _causes(info.get("duplicate_cause"))
    fault_at = {f.start_seq: f for f in faults}
    crash_fault: dict[int, _Fault] = {}  # crash/pause row seq -> its fault (the fault-start row right before it)
    for f in faults:
        if f.kind in ("crash", "pause"):
            crash_fault[f.start_seq + 1] = f
    kinds: dict[int, str] = {}
    links: dict[int, tuple[str, str]] = {}
    twins: dict[int, str] = {}  # network copies -> "duplicate:A->B"
    sends_by: dict[tuple[str, str], int] = {}
    receives_since: dict[str, int] = {}
    ack_drop: str | None = None
    copies_seen: set[tuple[str, int, int]] = set()
    appends = receives = effects = 0
    out: list[dict[str, Any]] = []
    for row in rows.to_dict("records"):
        op, node, num, part, seq = str(row["op"]), str(row["node"]), int(row["num"]), int(row["part"]), int(row["seq"])
        peer = str(row["peer"]) if isinstance(row["peer"], str) else ""
        text_info = str(row["detail"]) if isinstance(row["detail"], str) else ""
        kind, unit, prio, mark, label = "", f"s{seq}", 0, "", ""
        if op == "create":
            step, mark, label = "created", "create", "created"
            text = f"{node} created it (key {num}, partition {part})"
        elif op in ("send", "dup"):
            kind, unit = text_info, f"m{num}"
            links[num] = (node, peer)
            kinds[num] = kind
            prio = 1 if kind in _CUSTODY_KINDS else 2
            if op == "dup":
                step, prio = "duplicated", 0
                twins[num] = f"duplicate:{node}->{peer}"
                text = f"the network duplicated a {kind} {node}->{peer} (copy: message {num})"
            else:
                n = carried.get(seq, 1)
                batch = f", with {n - 1} other event{'s' if n > 2 else ''}" if n > 1 else ""
                text = _SEND_TEXT.get(kind, "{node} sent message {num} ({kind}) to {peer}").format(
                    node=node, peer=peer, num=num, kind=kind, batch=batch)
                step = "sent"
                if kind in ("produce", "sink-txn"):
                    count = sends_by.get((node, kind), 0) + 1
                    sends_by[(node, kind)] = count
                    retry = kind == "produce" and count > 1
                    if kind == "sink-txn":
                        retry = receives_since.get(node, 0) == 0
                        receives_since[node] = 0
                    if retry:
                        step = "retried"
                        text = text.replace(" sent ", " resent ", 1) + f" (attempt {count})"
        elif op == "drop":
            kind, unit, step, mark = kinds.get(num, text_info), f"m{num}", "dropped", "drop"
            if kinds.get(num) == "produce-ack":
                ack_drop = text_info
            text = f"the network dropped message {num} {node}->{peer}" + (f" ({kinds[num]})" if num in kinds else "") + f": {text_info}"
            label = text_info
        elif op == "deliver":
            kind, unit, step = text_info, f"m{num}", "arrived"
            prio = 1 if kind in _CUSTODY_KINDS else 2
            text = f"{node} got message {num} from {peer} ({kind})"
        elif op == "append":
            appends += 1
            step, mark = "stored", "append"
            label = f"stored p{part}@{num}"
            text = f"{node} appended it to partition {part} at offset {num}"
            msgid = int(json.loads(text_info)[0]) if text_info.startswith("[") else -1
            if msgid >= 0:
                text += f" (from message {msgid})"
            if appends > 1:
                why = twins.get(msgid) or ack_drop or f"timeout:{peer} (late ack)"
                text += f"; copy {appends} in the log, because of {why}"
                label += f" (copy {appends})"
        elif op == "log-loss":
            step, mark, label = "record-lost", "loss", f"lost p{part}@{num}"
            text = f"{node} lost its record at partition {part} offset {num}: {text_info}"
        elif op == "commit":
            step, mark, label = "committed", "commit", f"p{part} committed up to {num}"
            who = f" for {peer}" if peer else ""
            text = f"{node} stored committed offset {num} of partition {part}{who}: its record there is consumed and will not be redelivered"
        elif op == "offset-reset":
            step, mark, label = "offset-reset", "reset", f"offsets reset p{part}"
            text = f"{node} forgot the committed offsets of partition {part} (committed is now {num}): its record there may be delivered again"
        elif op == "receive":
            receives += 1
            receives_since[node] = receives_since.get(node, 0) + 1
            copy = (peer, part, num)
            again = copy in copies_seen
            copies_seen.add(copy)
            step = "redelivered" if again else "delivered"
            what = "a redelivery" if again else ("another copy" if receives > 1 else "first")
            mark, label = "receive", f"delivery {receives}" + (f" ({what})" if receives > 1 else "")
            text = f"{node} received it from partition {part} offset {num} (delivery {receives}: {what})"
        elif op == "effect":
            effects += 1
            mark = "effect" if effects == 1 else "dup-effect"
            step = "applied" if effects == 1 else "reapplied"
            src = f"; message {num} from {peer}" if peer else ""
            if effects == 1:
                text, label = f"{node} applied its effect (effect 1{src})", "effect 1"
            else:
                why = dup_causes[effects - 2] if effects - 2 < len(dup_causes) else "unknown"
                text = f"{node} applied its effect (effect {effects}: a duplicate, cause: {why}{src})"
                label = f"effect {effects} (duplicate)"
        elif op == "release":
            step, prio, mark, label = "released", 2, "minor", f"released ({text_info})"
            text = f"{node} let go of its copy ({_RELEASE_TEXT.get(text_info, text_info)})"
        elif op == "outcome":
            step, prio, mark, label = "outcome", 2, "minor", f"told app: {text_info}"
            text = f"{node} told its application: {text_info}"
        elif op == "crash":
            cf = crash_fault.get(seq)
            step, mark, label = "crashed", "crash", "CRASH"
            text = f"{node} CRASHED ({text_info}" + (f", fault {cf.num}" if cf else "") + ")"
        elif op == "restart":
            step, mark, label = "restarted", "restart", "restart"
            text = f"{node} restarted (recovery from durable state)"
        elif op == "pause":
            cf = crash_fault.get(seq)
            step, mark, label = "paused", "pause", "PAUSE"
            text = f"{node} PAUSED" + (f" (fault {cf.num})" if cf else "")
        elif op == "resume":
            step, mark, label = "resumed", "restart", "resume"
            text = f"{node} resumed"
        elif op == "step":
            step, mark, label = "reached-step", "minor", text_info
            text = f"{node} reached protocol step {text_info} (an armed crash fires)"
        elif op in ("fault-start", "fault-end"):
            cf = fault_at.get(seq)
            p = f" p={cf.probability:g}" if cf and cf.probability is not None else ""
            kind = text_info
            step, mark = op, "fault"
            verb = "began" if op == "fault-start" else "ended"
            text = f"fault {num} ({text_info}{p}) {verb} on {node}"
            label = f"{text_info} {'starts' if op == 'fault-start' else 'ends'} ({node})"
        elif op in _PLAIN_STEPS:
            step, template = _PLAIN_STEPS[op]
            mark, label = "minor", step
            text = template.format(node=node, peer=peer, info=text_info, num=num, part=part).replace(" ()", "")
        else:
            step, text, mark, label = op, f"{node} {op} {peer} {text_info}".strip(), "minor", op
        out.append(dict(time=float(row["time"]), seq=seq, node=node, peer=peer, step=step, text=text,
                        op=op, num=num, part=part, info=text_info, kind=kind, unit=unit, prio=prio,
                        mark=mark, label=label))
    cols = [*JOURNEY_COLUMNS, "op", "num", "part", "info", "kind", "unit", "prio", "mark", "label"]
    return pd.DataFrame(out, columns=cols)


#: Operations told with a fixed sentence: op -> (step verb, sentence template).
_PLAIN_STEPS: dict[str, tuple[str, str]] = {
    "txn-begin": ("txn-begin", "{node} began its business transaction"),
    "txn-commit": ("txn-commit", "{node} committed the business transaction ({info})"),
    "txn-abort": ("txn-abort", "{node} rolled the business transaction back ({info})"),
    "outbox-write": ("outboxed", "{node} wrote it to the outbox in the same local transaction"),
    "outbox-mark": ("marked-sent", "{node} marked its outbox row sent"),
    "prepared": ("prepared", "{node} prepared it for {peer} and voted yes (in doubt until the decision)"),
    "resolved": ("resolved", "{node} learned the decision from {peer}: {info}"),
    "force-log": ("forced-write", "{node} forced its {info} record to its log"),
    "dedupe": ("deduplicated", "{node} recognised a resend and acknowledged it without appending ({info})"),
    "dedupe-skip": ("deduplicated", "{node} skipped its effect: the id was already processed"),
    "fenced": ("fenced", "{node} refused it from {peer}: an older producer epoch ({info})"),
    "reject": ("refused", "{node} refused it from {peer} ({info})"),
    "expire": ("expired", "{node} discarded it for its age ({info})"),
    "delete": ("deleted", "{node} deleted it for {peer} (its acknowledgement)"),
    "dead-letter": ("dead-lettered", "{node} moved it to the dead-letter queue ({info})"),
    "process-fail": ("failed", "{node} failed to process it (attempt {num}: {info})"),
    "txn-refused": ("refused", "{node} refused the transaction of {peer}: stored offsets {info}"),
}


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


def _present(value: Any) -> str | None:
    """A frame cell as text, None when missing (None or NaN) or empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    text = str(value)
    return text or None


def _causes(value: Any) -> list[str]:
    """The '; '-joined duplicate causes, one per extra effect."""
    return [c.strip() for c in (_present(value) or "").split(";") if c.strip()]


def _fmt_seconds(value: Any) -> str:
    if value is None or pd.isna(value):
        return "-"
    v = float(value)
    return f"{v * 1000:.3g} ms" if abs(v) < 1 else f"{v:.4g} s"


def _gloss(cause: str, duplicate: bool) -> str:
    """A plain-words reading of a checker cause."""
    m = re.fullmatch(r"(drop|partition):(\S+?)->(\S+)", cause)
    if m:
        kind, a, b = m.groups()
        what = "dropped a message" if kind == "drop" else "cut (partition) a message"
        if duplicate:
            return f"the network {what} on {a}->{b} (an acknowledgement), so {b} sent it again and another copy was applied"
        return f"the network {what} on {a}->{b} that carried its last copy"
    m = re.fullmatch(r"duplicate:(\S+)", cause)
    if m:
        return f"the network delivered a message on {m.group(1)} twice"
    m = re.fullmatch(r"redelivery after crash:(\S+)", cause)
    if m:
        return f"{m.group(1)} crashed after receiving it but before its offset was committed, so it was delivered again after the restart"
    m = re.fullmatch(r"redelivery to (\S+)", cause)
    if m:
        return f"it was delivered again (to {m.group(1)}) before its offset was committed"
    m = re.fullmatch(r"crash:(\S+) after ack", cause)
    if m:
        return f"{m.group(1)} crashed after committing (acknowledging) it but before applying its effect"
    m = re.fullmatch(r"crash:(\S+)", cause)
    if m:
        return f"{m.group(1)} crashed while holding its last copy"
    m = re.fullmatch(r"disk-loss:(\S+)", cause)
    if m:
        return f"{m.group(1)} lost its unflushed writes in a crash"
    m = re.fullmatch(r"skipped:(\S+)", cause)
    if m:
        return f"the committed offset at {m.group(1)} moved past it before any consumer received it"
    m = re.fullmatch(r"timeout:(\S+) \(late ack\)", cause)
    if m:
        return f"an acknowledgement came after {m.group(1)}'s request timeout, so the request was resent"
    return ""


def _why(info: dict[str, Any]) -> str:
    fate = _present(info.get("fate")) or "unknown"
    effects = int(info["effects"]) if _present(info.get("effects")) is not None else 0
    parts: list[str] = []
    if fate == "lost":
        cause = _present(info.get("loss_cause")) or "unknown"
        gloss = _gloss(cause, duplicate=False)
        parts.append(f"it was lost, cause: {cause}" + (f" ({gloss})" if gloss else ""))
        if _present(info.get("producer_outcome")) == "ok":
            parts.append("yet its producer's application was told ok")
    elif fate == "pending":
        parts.append("still pending at the end of the run: a copy is still held somewhere (a log, a producer, "
                     "a consumer) and could still be delivered")
    elif fate == "processed":
        parts.append("processed" + (" once" if effects == 1 else f", applied {effects} times"))
    elif fate == "aborted":
        parts.append("its business transaction did not commit, so the event does not exist"
                     + (f"; yet its effect was applied {effects} time(s): a phantom" if effects else ""))
    elif fate == "dead_lettered":
        parts.append(f"dead-lettered, cause: {_present(info.get('loss_cause')) or 'unknown'} (its processing kept failing)")
    elif fate == "expired":
        parts.append(f"expired, cause: {_present(info.get('loss_cause')) or 'ttl'} (older than the TTL when it would have been delivered)")
    else:
        parts.append(f"fate {fate}")
    grouped: dict[str, list[int]] = {}
    for i, cause in enumerate(_causes(info.get("duplicate_cause")), start=2):
        grouped.setdefault(cause, []).append(i)
    for cause, which in grouped.items():
        gloss = _gloss(cause, duplicate=True)
        names = f"effect {which[0]} is a duplicate" if len(which) == 1 else \
            f"effects {', '.join(map(str, which))} are duplicates"
        parts.append(f"{names}, cause: {cause}" + (f" ({gloss})" if gloss else ""))
    if fate == "processed" and effects == 1:
        parts.append("no fault changed its fate")
    return "Why: " + "; ".join(parts) + "."


def _header(story: _Story) -> list[str]:
    info = story.info
    lines = [f"Event {story.message_id} in run {story.run} ({story.how_chosen})"]
    others = [r for r in story.runs_with_id if r != story.run]
    if others:
        shown = ", ".join(f"--run {r}" for r in others[:8])
        more = f" and {len(others) - 8} more" if len(others) > 8 else ""
        lines.append(f"  also in {len(others)} other run(s): {shown}{more}")
    if info:
        effects = int(info["effects"]) if _present(info.get("effects")) is not None else 0
        extra = f" ({effects - 1} duplicate{'s' if effects > 2 else ''})" if effects > 1 else ""
        lines.append(
            f"fate: {info.get('fate')} | effects: {effects}{extra} | deliveries: {info.get('deliveries')} | "
            f"latency: {_fmt_seconds(info.get('latency'))} | loss_cause: {_present(info.get('loss_cause')) or '-'} | "
            f"duplicate_cause: {_present(info.get('duplicate_cause')) or '-'}"
        )
        lines.append(
            f"created by {info.get('producer')} at t={float(info.get('created_at', float('nan'))):.6f}, "
            f"key {info.get('key')}, partition {info.get('partition')}; producer outcome: {info.get('producer_outcome')}"
        )
    else:
        lines.append("fate: unknown (no messages.parquet row for it)")
    if story.faults:
        lines.append("faults on its nodes and links meanwhile: " + "; ".join(f.describe() for f in story.faults))
    else:
        lines.append("faults on its nodes and links meanwhile: none")
    return lines


def _text(story: _Story) -> str:
    lines = _header(story)
    steps = story.steps
    lines.append(f"Journey ({len(steps)} steps, nodes: {', '.join(story.nodes)}):")
    width = len(str(len(steps)))
    for i, (time, step, text) in enumerate(steps[["time", "step", "text"]].itertuples(index=False), start=1):
        lines.append(f"  {i:>{width}}. t={time:.6f}  {step:<12} {text}")
    lines.append(_why(story.info) if story.info else "Why: unknown (no messages.parquet row for it).")
    return "\n".join(lines) + "\n"


def explain_text(results: Results, message_id: str, run: str | None = None) -> str:
    """The story of one event: a header (run, fate, effects, deliveries, latency, causes),
    one line per step, and a closing line naming the cause(s)."""
    return _text(_story(results, message_id, run))


# --------------------------------------------------------------------------- diagram


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
_ARROW_COLOUR = {"produce": "#0072B2", "fetch-response": "#0072B2", "sink-txn": "#0072B2"}
_ACK_COLOUR = "#8a8a8a"


def _select(steps: pd.DataFrame, cap: int) -> pd.DataFrame:
    """At most ``cap`` steps: the telling ones first (faults, stores, deliveries, effects),
    then the messages carrying the event, then acknowledgements and releases; a message's
    send, copy, drop and delivery are kept or left out together."""
    if len(steps) <= cap:
        return steps
    units = steps.groupby("unit", sort=False).agg(prio=("prio", "min"), first=("seq", "min"), size=("seq", "size"))
    units = units.sort_values(["prio", "first"], kind="stable")
    chosen: set[str] = set()
    total = 0
    for unit, size in units["size"].items():
        if total + int(size) > cap:
            break
        chosen.add(str(unit))
        total += int(size)
    return steps[steps["unit"].isin(chosen)]


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
    info: str
    kind: str
    unit: str
    prio: int
    mark: str
    label: str


def _records(steps: pd.DataFrame) -> list[_Step]:
    return [_Step(**{str(k): v for k, v in r.items()}) for r in steps.to_dict("records")]


def _shade(ax: Axes, x: float, y0: float, y1: float, colour: str, hatch: str) -> None:
    ax.add_patch(Rectangle((x - 0.09, y0), 0.18, y1 - y0, facecolor=colour, edgecolor=colour, alpha=0.28,
                           hatch=hatch, linewidth=0.0, zorder=1))


def _diagram(story: _Story, cap: int = MAX_DIAGRAM_STEPS) -> Figure:
    all_steps = story.steps
    steps = _select(all_steps, cap).reset_index(drop=True)
    records = _records(steps)
    n = len(steps)
    xs = {name: float(i) for i, name in enumerate(story.nodes)}
    width = max(9.0, 2.3 * len(xs) + 4.5)
    height = max(5.0, 0.3 * n + 2.6)
    with _style():
        fig = Figure(figsize=(width, height), dpi=DPI, layout="tight")
        ax = fig.add_subplot()
        ax.grid(False)
        top, bottom = -0.8, n - 0.3
        for x in xs.values():
            ax.plot([x, x], [top, bottom], color="#444444", linewidth=1.2, zorder=1)
        for r in range(n):
            ax.axhline(r, color="#e6e6e6", linewidth=0.6, zorder=0)
        rank = {row.seq: float(r) for r, row in enumerate(records)}

        seqs = [row.seq for row in records]

        def y_of(seq: int | None) -> float:
            """The row of a history seq; between rows when that step is not shown."""
            if seq is None:
                return n - 0.5
            if seq in rank:
                return rank[seq]
            return bisect.bisect_right(seqs, seq) - 0.5

        # fault windows on links (and partitions) that the event's messages travelled
        legend_faults: dict[str, tuple[str, str]] = {}
        for f in story.faults:
            ends = [xs[nd] for nd in f.nodes if nd in xs]
            if f.kind in ("crash", "pause") or not ends:
                continue
            y0, y1 = y_of(f.start_seq), y_of(f.end_seq)
            if y1 <= y0:
                continue
            lo, hi = min(ends), max(ends)
            if hi - lo < 0.3:
                lo, hi = lo - 0.15, hi + 0.15
            colour, hatch = FAULT_STYLE.get(f.kind, ("#7f7f7f", "||"))
            ax.add_patch(Rectangle((lo, y0), hi - lo, y1 - y0, facecolor=colour, edgecolor=colour, alpha=0.08,
                                   hatch=hatch, linewidth=0.0, zorder=0))
            legend_faults[f"{f.kind} window: {f.target}"[:48]] = (colour, hatch)

        # crash and pause spans on the lifelines
        down: dict[str, tuple[str, float]] = {}
        for row in records:
            if row.node not in xs:
                continue
            y = rank[row.seq]
            if row.op in ("crash", "pause"):
                down[row.node] = (row.op, y)
            elif row.op in ("restart", "resume"):
                what, since = down.pop(row.node, ("crash" if row.op == "restart" else "pause", -0.5))
                colour, hatch = FAULT_STYLE[what]
                _shade(ax, xs[row.node], since, y, colour, hatch)
        for name, (what, since) in down.items():
            colour, hatch = FAULT_STYLE[what]
            _shade(ax, xs[name], since, n - 0.5, colour, hatch)

        # messages: arrows from send (or network copy) to delivery, drops end in a red X
        parts: dict[int, dict[str, _Step]] = {}
        for row in records:
            if row.op in ("send", "dup", "deliver", "drop"):
                parts.setdefault(row.num, {}).setdefault("send" if row.op == "dup" else row.op, row)
        for num, msg in parts.items():
            first = msg.get("send") or msg.get("drop") or msg["deliver"]
            if first.op == "deliver":  # its send is not shown: start the arrow on the same row
                src, dst = first.peer, first.node
            else:
                src, dst = first.node, first.peer
            if src not in xs or dst not in xs:
                continue
            y_src = rank[first.seq]
            x0, x1 = xs[src], xs[dst]
            kind = first.kind
            colour = _ARROW_COLOUR.get(kind, _ACK_COLOUR)
            style = "--" if first.op == "dup" else "-"
            if "deliver" in msg:
                y1 = rank[msg["deliver"].seq]
                ax.annotate("", xy=(x1, y1), xytext=(x0, y_src),
                            arrowprops=dict(arrowstyle="-|>", color=colour, linewidth=1.4, linestyle=style,
                                            shrinkA=0, shrinkB=0, mutation_scale=14), zorder=3)
                xm, ym = (x0 + x1) / 2, (y_src + y1) / 2
            else:
                drop = msg.get("drop")
                y1 = rank[drop.seq] if drop is not None else y_src + 0.5
                xm, ym = (x0 + x1) / 2, y1
                ax.plot([x0, xm], [y_src, ym], color="#d62728" if drop is not None else colour,
                        linewidth=1.4, linestyle="--", zorder=3)
                if drop is not None:
                    ax.plot([xm], [ym], marker="X", color="#d62728", markersize=13, linestyle="none", zorder=5)
                    ax.annotate(drop.info, (xm, ym), xytext=(9, 0), textcoords="offset points",
                                ha="left", va="center", fontsize=8, color="#d62728", fontweight="bold", zorder=6,
                                bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none", alpha=0.85))
                else:  # still in flight at the end, or its delivery is not shown
                    ax.annotate("?", (xm, ym), xytext=(6, 0), textcoords="offset points", ha="left",
                                va="center", fontsize=9, color=colour)
            if "deliver" not in msg:  # label the dashed stretch, not the X
                xm, ym = (x0 + xm) / 2, (y_src + ym) / 2
            ax.annotate(f"{kind} #{num}", (xm, ym), xytext=(0, 3), textcoords="offset points",
                        ha="center", va="bottom", fontsize=7, color=colour, zorder=4,
                        bbox=dict(boxstyle="round,pad=0.1", facecolor="white", edgecolor="none", alpha=0.7))

        # local steps: markers and labels on the lifelines
        for row in records:
            if not row.mark or row.mark == "drop":
                continue
            y = rank[row.seq]
            if row.mark == "fault":
                f_nodes = [nd for f in story.faults if f.start_seq == row.seq or f.end_seq == row.seq
                           for nd in f.nodes if nd in xs]
                places = sorted({xs[nd] for nd in f_nodes}) or [0.0]
                x = min(places)
            elif row.node in xs:
                x = xs[row.node]
            else:
                continue
            st = _MARK_STYLE.get(row.mark, _MARK_STYLE["minor"])
            ax.plot([x], [y], marker=st["marker"], color=st["color"], markersize=st["ms"], linestyle="none",
                    markeredgecolor="black" if row.mark in ("effect", "dup-effect") else st["color"],
                    markeredgewidth=0.6, zorder=5)
            minor = row.mark in ("minor", "fault")
            ax.annotate(row.label, (x, y), xytext=(9, 0), textcoords="offset points", ha="left",
                        va="center", fontsize=7 if minor else 8, color="#555555" if minor else "black",
                        fontweight="bold" if row.mark in ("crash", "dup-effect", "loss") else "normal",
                        zorder=6, bbox=dict(boxstyle="round,pad=0.12", facecolor="white", edgecolor="none", alpha=0.8))

        ax.set_xlim(-0.6, max(len(xs) - 0.4, 0.6) + 0.6)
        ax.set_ylim(bottom, top)
        ax.xaxis.tick_top()
        ax.set_xticks(list(xs.values()), list(xs))
        ax.tick_params(axis="x", length=0, labelsize=11)
        for tick in ax.get_xticklabels():
            tick.set_fontweight("bold")
        ax.set_yticks([float(r) for r in range(n)], [f"{t:.5f}" for t in steps["time"]])
        ax.tick_params(axis="y", labelsize=8)
        ax.set_ylabel("simulated time (s), one row per step, downward")
        for side in ("right", "bottom"):
            ax.spines[side].set_visible(False)
        info = story.info
        fate = str(info.get("fate", "unknown"))
        effects = int(info["effects"]) if _present(info.get("effects")) is not None else 0
        causes = [c for c in (_present(info.get("loss_cause")), *dict.fromkeys(_causes(info.get("duplicate_cause")))) if c]
        title = f"{story.message_id} in {story.run}: {fate}, {effects} effect{'s' if effects != 1 else ''}"
        if causes:
            title += " - cause: " + "; ".join(causes)
        ax.set_title("\n".join(textwrap.wrap(title, width=int(12 * width))), loc="left", fontsize=12, pad=28)
        if n < len(all_steps):
            ax.set_xlabel(
                f"showing {n} of {len(all_steps)} steps (acknowledgements and releases left out first; "
                "`msgsim explain` prints them all)", fontsize=9)
        kinds = {r.kind for r in records if r.op in ("send", "dup", "deliver")}
        handles: list[Any] = []
        if kinds & set(_ARROW_COLOUR):
            handles.append(Line2D([], [], color=_ARROW_COLOUR["produce"], linewidth=1.4, label="message carrying it"))
        if kinds - set(_ARROW_COLOUR):
            handles.append(Line2D([], [], color=_ACK_COLOUR, linewidth=1.4, label="acknowledgement"))
        if any(r.op == "dup" for r in records):
            handles.append(Line2D([], [], color=_ACK_COLOUR, linewidth=1.4, linestyle="--", label="network copy"))
        if any(r.op == "drop" for r in records):
            handles.append(Line2D([], [], color="#d62728", linestyle="--", marker="X", markersize=9,
                                  label="dropped message"))
        used = set(steps["mark"])
        for mark, text in (("create", "created"), ("append", "stored in a log"), ("receive", "delivered to a consumer"),
                           ("effect", "effect applied"), ("dup-effect", "duplicate effect"), ("commit", "offset committed"),
                           ("crash", "crash"), ("pause", "pause"), ("restart", "restart / resume"), ("loss", "record lost")):
            if mark in used:
                st = _MARK_STYLE[mark]
                handles.append(Line2D([], [], marker=st["marker"], color=st["color"], markersize=min(st["ms"], 11),
                                      linestyle="none", label=text))
        if "crash" in used or "crash" in set(steps["op"]) or "restart" in set(steps["op"]):
            handles.append(Patch(facecolor=FAULT_STYLE["crash"][0], alpha=0.3, hatch=FAULT_STYLE["crash"][1], label="node down"))
        if "pause" in set(steps["op"]) or "resume" in set(steps["op"]):
            handles.append(Patch(facecolor=FAULT_STYLE["pause"][0], alpha=0.3, hatch=FAULT_STYLE["pause"][1], label="node paused"))
        for text, (colour, hatch) in legend_faults.items():
            handles.append(Patch(facecolor=colour, alpha=0.2, hatch=hatch, label=text))
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=9)
        if n == 0:
            ax.text(0.5, 0.5, "no steps", transform=ax.transAxes, ha="center", va="center")
        return fig


def sequence_diagram(results: Results, message_id: str, run: str | None = None) -> Figure:
    """The sequence (Lamport) diagram of one event's journey over the nodes it touched."""
    return _diagram(_story(results, message_id, run))


# --------------------------------------------------------------------------- the command


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def explain(
    results_dir: str | Path,
    message_id: str,
    run: str | None = None,
    out_dir: str | Path | None = None,
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
    story = _story(results, message_id, run)
    text = _text(story)
    fig = _diagram(story)
    name = f"explain-{_safe_name(story.run)}-{_safe_name(story.message_id)}"
    paths = save_figure(fig, Path(out_dir) if out_dir is not None else folder / "charts", name)
    return text, paths
