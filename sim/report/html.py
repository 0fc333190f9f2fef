"""``report.html``: one self-contained page per results folder that answers the experiment's
question.

It holds the question (the config's leading comment), what ran, the fault schedule (with
the time each step-triggered crash fired), the summary table, each strategy's promises kept
or broken, the top causes of its losses and duplicates in words, what the rates would mean
per day at the configured rate, and every chart. Nothing is fetched: the charts are inlined
as PNG data, the style sheet is inline, and there is no script, so the page opens offline
(tested in headless Chromium by ``tests/test_report.py``).
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ..config import ExperimentConfig
from ..experiment.folder import write_text
from .findings import per_day, promise_lines, top_causes
from .table import RATES, replications_note, summary_table

CHART_ORDER = (
    "sweep",
    "loss_duplicates",
    "throughput_timeline",
    "lag_timeline",
    "latency_cdf",
    "costs",
    "causes",
)
CHART_TEXT = {
    "sweep": "the chosen metrics against the swept parameter (95% confidence bands)",
    "loss_duplicates": "loss and duplicate rate per strategy",
    "throughput_timeline": "processed events per second, with the fault windows shaded",
    "lag_timeline": "backlog: records appended and not yet consumed",
    "latency_cdf": "latency from creation to first effect",
    "costs": "what each strategy costs",
    "causes": "why events were lost or applied twice",
}
MAX_FAULT_ROWS = 40
#: Headers of the summary table's second half: what the strategies cost.
COST_HEADERS = frozenset(header for _, header in RATES)

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
  color: #1d1d1f; background: #fafafa; line-height: 1.45; }
main { max-width: 1360px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; }
h1 { font-size: 1.7em; margin: 0.2em 0 0.1em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 1.8em; }
.question { font-size: 1.1em; background: #eef4fb; border-left: 4px solid #0072B2;
  padding: 10px 14px; white-space: pre-wrap; }
.muted { color: #666; font-size: 0.92em; }
.wide { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.86em; margin: 8px 0; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 4px 8px; text-align: right;
  white-space: nowrap; }
td.prose { white-space: normal; }
th { background: #f3f3f3; }
td.text, th.text { text-align: left; }
.kept { color: #fff; background: #009E73; padding: 1px 8px; border-radius: 9px; }
.broken { color: #fff; background: #D55E00; padding: 1px 8px; border-radius: 9px; }
.na { color: #333; background: #ddd; padding: 1px 8px; border-radius: 9px; }
figure { margin: 18px 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.92em; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 0.88em; }
pre { background: #f6f6f6; padding: 8px 12px; overflow-x: auto; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px;
  margin-right: 6px; vertical-align: -1px; }
"""


def _e(text: Any) -> str:
    return html.escape(str(text))


def _table(frame: pd.DataFrame, text_columns: tuple[str, ...] = ()) -> str:
    if frame.empty:
        return '<p class="muted">(none)</p>'
    cols = list(frame.columns)
    head = "".join(f'<th class="{"text" if c in text_columns else ""}">{_e(c)}</th>' for c in cols)
    body = []
    for row in frame.itertuples(index=False):
        cells = "".join(
            f'<td class="{"text" if c in text_columns else ""}">{_e(_show(v))}</td>'
            for c, v in zip(cols, row, strict=True)
        )
        body.append(f"<tr>{cells}</tr>")
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    return f'<div class="wide">{table}</div>'


def _show(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    text = str(value)
    return "" if text in ("nan", "None", "<NA>") else text


def _section(title: str, body: str) -> str:
    return f"<section><h2>{_e(title)}</h2>\n{body}\n</section>"


def _header(config: ExperimentConfig, question: str, summary: pd.DataFrame) -> str:
    asked = (
        f'<div class="question">{_e(question)}</div>'
        if question
        else '<p class="muted">The config has no leading comment saying what it asks.</p>'
    )
    cells = int(summary["cell"].nunique()) if "cell" in summary.columns else 1
    ran = (
        f"{cells} cell(s) x {len(config.strategies)} strategies "
        f"({', '.join(config.strategy_names)}) x {config.replications} replications; "
        f"{config.duration:g} s of traffic at {config.workload.rate:g} events/s per producer "
        f"({config.workload.producers} producer(s)), then {config.drain:g} s to drain; "
        f"seed {config.seed}."
    )
    return f"<h1>{_e(config.name)}</h1>\n{asked}\n<p>{_e(ran)}</p>"


def _schedule(config: ExperimentConfig, log: pd.DataFrame) -> str:
    listed = [f.model_dump(mode="json", exclude_none=True) for f in config.faults]
    text = yaml.safe_dump(listed, sort_keys=False, default_flow_style=True).strip()
    parts = [f"<p>As configured:</p><pre>{_e(text) if listed else 'no faults'}</pre>"]
    if config.sweep_paths():
        swept = ", ".join(f"{p}: {v}" for p, v in config.sweep_paths().items())
        parts.append(f"<p>Swept: <code>{_e(swept)}</code></p>")
    if not log.empty:
        rows = log[log["replication"] == log["replication"].min()] if "replication" in log else log
        keep = [
            c
            for c in (
                "cell",
                "kind",
                "target",
                "at",
                "duration",
                "restart_after",
                "probability",
                "on",
                "strategy",
                "fired_at",
            )
            if c in rows.columns
        ]
        shown = rows[keep].dropna(axis=1, how="all").head(MAX_FAULT_ROWS)
        more = len(rows) - len(shown)
        parts.append(
            "<p>Materialised (replication 0; the same for every strategy, except the time a "
            "crash on a protocol step fired, given per strategy):</p>"
            + _table(shown, ("kind", "target", "on", "strategy"))
            + (f'<p class="muted">... and {more} more rows in faults.csv</p>' if more else "")
        )
    return _section("The fault schedule", "\n".join(parts))


def _summary(summary: pd.DataFrame, config: ExperimentConfig) -> str:
    """The printed table, as two tables that fit a page: what happened to the events (the
    counts that add up), and what it cost (rates, latency, throughput, messages)."""
    metrics = [str(m) for m in config.sweep.get("metrics", [])]
    table = summary_table(summary, metrics)
    note = (
        f"{replications_note(summary)}. Loss and dup are % of committed events; latencies "
        "(creation to first effect) in ms; events/s is processed events per second of the "
        "production window."
    )
    if table.empty:
        return _section("Summary", '<p class="muted">No runs finished.</p>')
    cols = list(table.columns)
    ident = cols[: cols.index("strategy") + 1]
    costs = [c for c in cols if c in COST_HEADERS or c in {m.replace("_", " ") for m in metrics}]
    counts = [c for c in cols if c not in ident and c not in costs]
    body = _table(table[ident + counts], ("strategy",)) + _table(
        table[ident + costs], ("strategy",)
    )
    return _section("Summary", f'{body}<p class="muted">{_e(note)}</p>')


def _promises(summary: pd.DataFrame, config: ExperimentConfig) -> str:
    lines, source = promise_lines(summary, config)
    if not lines:
        return _section("Promises", f'<p class="muted">Promise verdicts: {_e(source)}.</p>')
    rows = []
    for line in lines:
        badge = {"kept": "kept", "broken": "broken"}.get(line.status, "na")
        rows.append(
            f'<tr><td class="text">{_e(line.strategy)}</td><td class="text">{_e(line.promise)}'
            f'</td><td class="text"><span class="{badge}">{_e(line.status)}</span></td>'
            f'<td class="text prose">{_e(line.detail)}</td></tr>'
        )
    head = '<tr><th class="text">strategy</th><th class="text">promise</th>'
    head += '<th class="text">verdict</th><th class="text">detail</th></tr>'
    table = f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"
    return _section(
        "Promises kept or broken",
        f'{table}<p class="muted">Verdicts '
        f"{_e(source)}; a promise applies only where its conditions hold.</p>",
    )


def _causes(messages: pd.DataFrame, strategies: list[str]) -> str:
    if messages.empty:
        return _section("Why", '<p class="muted">No messages frame (trace: summary).</p>')
    parts = []
    for s in strategies:
        lines = top_causes(messages, s)
        items = "".join(f"<li>{_e(line)}</li>" for line in lines)
        parts.append(f"<h3>{_e(s)}</h3><ul>{items or NOTHING}</ul>")
    note = (
        '<p class="muted">Causes are read from the recorded history by the checker; the counts '
        "are over every replication, sweep cell and consumer group.</p>"
    )
    title = "Why events were lost, applied twice, refused or aborted"
    return _section(title, "".join(parts) + note)


NOTHING = "<li>nothing lost, applied twice, refused or aborted by a fault</li>"


def _per_day(summary: pd.DataFrame, config: ExperimentConfig) -> str:
    frame, note = per_day(summary, config)
    if frame.empty:
        return ""
    if "cell" in frame.columns and frame["cell"].nunique() <= 1:
        frame = frame.drop(columns=["cell"])
    return _section("Per day", f"<p>{_e(note)}</p>" + _table(frame, ("strategy",)))


def _chart_kind(stem: str) -> str:
    """The chart a file shows: ``sweep_1`` is a sweep, ``costs-billing`` the costs (of one
    consumer group)."""
    return "sweep" if stem.startswith("sweep") else stem.split("-")[0]


def _charts(charts: Path) -> str:
    files = sorted(charts.glob("*.png")) if charts.is_dir() else []
    if not files:
        return _section("Charts", '<p class="muted">No charts were drawn (--no-charts).</p>')
    rank = {name: i for i, name in enumerate(CHART_ORDER)}
    files.sort(key=lambda p: (rank.get(_chart_kind(p.stem), len(rank)), p.stem))
    figures = []
    for path in files:
        if path.stem.startswith("explain-"):
            continue
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        key = _chart_kind(path.stem)
        caption = f"{path.stem}: {CHART_TEXT.get(key, '')} (charts/{path.name}, and .svg)"
        figures.append(
            f'<figure><img alt="{_e(path.stem)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>"
        )
    return _section("Charts", "\n".join(figures))


def render(
    out: Path,
    summary: pd.DataFrame,
    messages: pd.DataFrame,
    fault_log: pd.DataFrame,
    config: ExperimentConfig,
    question: str,
) -> str:
    """The page's HTML."""
    ran = set(summary.get("strategy", []))
    strategies = [s for s in config.strategy_names if s in ran]
    body = "\n".join(
        part
        for part in (
            _header(config, question, summary),
            _summary(summary, config),
            _promises(summary, config),
            _causes(messages, strategies),
            _per_day(summary, config),
            _schedule(config, fault_log),
            _charts(out / "charts"),
            '<p class="muted">Files: summary.csv, messages.parquet, faults.csv, lag.parquet, '
            "charts/, config.yaml. Written by msgsim.</p>",
        )
        if part
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(config.name)}: msgsim report</title>"
        f"<style>{STYLE}</style></head>\n<body><main>\n{body}\n</main></body></html>\n"
    )


def write_report(
    out: Path,
    summary: pd.DataFrame,
    messages: pd.DataFrame,
    fault_log: pd.DataFrame,
    config: ExperimentConfig,
    question: str,
) -> Path:
    """Write ``out/report.html`` (after the charts, so it can inline them)."""
    path = out / "report.html"
    write_text(path, render(out, summary, messages, fault_log, config, question))
    return path
