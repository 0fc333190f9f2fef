"""Results: the frames of an experiment, and the results folder they are written to.

A results folder is complete only when ``summary.csv`` exists: it is written last (through a
temporary name and a rename, as every file: ``sim/experiment/folder.py``).

``faults.csv`` is the materialised schedule (``Results.faults``, identical for every
strategy) with two more columns, ``strategy`` and ``fired_at``: a fault with a time holds
for every strategy (``strategy`` empty, ``fired_at`` = ``at``); a crash on a protocol step
fires when the node reaches the step, at a different time in each strategy's run, so it has
one row per strategy with the time it fired (empty: the step was never reached). That frame
is ``Results.fault_log``; reading the folder back splits it again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ..config import ConfigError, ExperimentConfig, config_yaml, validate_dict
from ..experiment.folder import prepare_folder, write_csv, write_parquet, write_text
from .frames import duplicates_frame, question_text, schedule_of


class Results:
    """The frames of an experiment (columns: ``docs/frames.md``)."""

    def __init__(
        self,
        summary: pd.DataFrame,
        messages: pd.DataFrame,
        events: pd.DataFrame,
        faults: pd.DataFrame,
        config: ExperimentConfig | dict[str, Any],
        errors: list[str] | None = None,
        lag: pd.DataFrame | None = None,
        fault_log: pd.DataFrame | None = None,
        question: str = "",
    ) -> None:
        self.summary = summary
        self.messages = messages
        self.events = events
        self.faults = faults
        """The materialised fault schedule, one row per fault per (cell, replication)."""
        self.config: ExperimentConfig = _validated(config)
        """The validated config (``res.config.workload.rate``; ``res.config["seed"]`` works
        too)."""
        self.errors = errors or []
        self.lag = lag if lag is not None else pd.DataFrame()
        """Consumer lag and backlog per partition over time
        (``strategy, cell, replication, time, partition, lag, backlog``)."""
        self.fault_log = fault_log if fault_log is not None else faults
        """``faults.csv``: the schedule with ``strategy`` and ``fired_at`` (when each fault
        fired; a step-triggered crash once per strategy)."""
        self.question = question
        """The config file's leading comment: the question the experiment asks."""
        self.resumed = 0
        """Runs read back from an interrupted experiment's folder instead of being run again."""

    def aggregate(self) -> pd.DataFrame:
        """Mean and 95% CI half-width per (cell, strategy) across replications
        (see :func:`sim.aggregate`)."""
        from .stats import aggregate

        return aggregate(self.summary)

    @property
    def duplicates(self) -> pd.DataFrame:
        """One row per duplicate effect: (strategy, cell, replication, id, effect, cause),
        ``effect`` 2 being the first extra application (from ``duplicate_cause``)."""
        return duplicates_frame(self.messages)

    def table(self) -> pd.DataFrame:
        """The summary table as ``msgsim run`` prints it (``sim/report/table.py``)."""
        from .table import summary_table

        return summary_table(self.summary, _sweep_metrics(self.config))

    def plot(self, *names: str, metrics: list[str] | None = None) -> Charts:
        """Every chart (or those ``names``: loss_duplicates, throughput_timeline, latency_cdf,
        costs, lag_timeline, causes, sweep), by name; a notebook shows them all. A chart the
        results cannot support (no sweep, no messages) is left out; an unknown name or metric
        is a ValueError."""
        from ..core.metrics import METRICS
        from .charts import CHARTS, figures

        for name in names:
            if name not in CHARTS:
                raise ValueError(f"unknown chart {name!r}; allowed: {', '.join(CHARTS)}")
        for metric in metrics or []:
            if metric not in METRICS:
                raise ValueError(f"unknown metric {metric!r}; allowed: {', '.join(METRICS)}")

        drawn = figures(
            self.summary,
            self.messages,
            self.fault_log,
            lag=self.lag,
            config=self.config,
            metrics=metrics,
            names=names,
        )
        return Charts(dict(drawn))

    def __repr__(self) -> str:
        return (
            f"<Results {self.config.name!r}: {len(self.summary)} runs, "
            f"{len(self.messages)} message rows, {len(self.faults)} faults>"
        )

    def save(self, path: str | Path, force: bool = False, charts: bool = True) -> Path:
        out = Path(path)
        prepare_folder(out, force, words=API_WORDS)
        write_frames(out, self, charts=charts)
        return out


class Charts(dict):  # type: ignore[type-arg]
    """Charts by name (matplotlib figures); a notebook shows every one of them as an image."""

    def _ipython_display_(self) -> None:
        from IPython.display import display

        for fig in self.values():
            display(fig)

    def _repr_html_(self) -> str:
        import base64

        parts = []
        for name, fig in self.items():
            data = base64.b64encode(fig.png_bytes(dpi=90)).decode("ascii")
            parts.append(f'<p><b>{name}</b></p><img src="data:image/png;base64,{data}"/>')
        return "\n".join(parts)


#: How the Python API names the options of ``prepare_folder``'s messages.
API_WORDS: Mapping[str, str] = {"force": "force=True", "out": "out=", "resume": "resume=True"}


def _validated(config: ExperimentConfig | dict[str, Any]) -> ExperimentConfig:
    if isinstance(config, ExperimentConfig):
        return config
    return validate_dict(dict(config), origin="results config")


def _sweep_metrics(config: ExperimentConfig) -> list[str]:
    return [str(m) for m in config.sweep.get("metrics", [])]


def config_text(config: ExperimentConfig, question: str) -> str:
    """``config.yaml``: the question as a leading comment, then the config as run."""
    comment = "".join(f"# {line}".rstrip() + "\n" for line in question.splitlines())
    return comment + config_yaml(config)


def write_frames(out: Path, res: Results, charts: bool = True) -> None:
    """Write the results folder. When a run failed, the folder says so: ``errors.json`` and
    no ``summary.csv`` (nor aggregate, charts, report or ``summary.parquet``), so it is not
    complete and ``msgsim run --resume`` finishes it."""
    write_text(out / "config.yaml", config_text(res.config, res.question))
    write_csv(out / "faults.csv", res.fault_log)
    if len(res.messages.columns):  # the trace keeps it, even with no event (rate 0)
        write_parquet(out / "messages.parquet", res.messages)
    if len(res.events.columns):
        write_parquet(out / "events.parquet", res.events)
    if len(res.lag):
        write_parquet(out / "lag.parquet", res.lag)
    if res.errors:
        write_text(out / "errors.json", json.dumps(res.errors, indent=2))
        return
    if len(res.summary):
        from .stats import aggregate

        write_csv(out / "aggregate.csv", aggregate(res.summary))
    if charts and len(res.summary):
        from .charts import draw_all

        draw_all(
            res.summary,
            res.messages,
            res.fault_log,
            out / "charts",
            lag=res.lag,
            config=res.config,
        )
    if len(res.summary):
        from .html import write_report

        write_report(out, res.summary, res.messages, res.fault_log, res.config, res.question)
    (out / "errors.json").unlink(missing_ok=True)  # of an earlier attempt, now resumed
    write_parquet(out / "summary.parquet", res.summary)
    write_csv(out / "summary.csv", res.summary)  # last: marks the folder complete


def _read(path: Path, read: Callable[[Path], Any], default: Any) -> Any:
    if not path.exists():
        return default
    try:
        return read(path)
    except Exception as exc:  # a damaged file: pyarrow, pandas, yaml and json errors alike
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ConfigError(
            f"{path}: cannot be read ({exc.__class__.__name__}: {first}). The results folder "
            "is damaged: run the experiment again (msgsim run CONFIG --out DIR --force)."
        ) from None


FAULT_TEXT_COLUMNS = {
    "extra": "object",
    "on": "object",
    "target": "object",
    "source": "object",
    "strategy": "object",
}


def _config(path: Path) -> tuple[ExperimentConfig, str]:
    if not path.exists():
        return ExperimentConfig(), ""
    text, data = _read(path, _yaml_file, ("", {}))
    return validate_dict(data or {}, origin=str(path)), question_text(text)


def _yaml_file(path: Path) -> tuple[str, Any]:
    text = path.read_text(encoding="utf-8")
    return text, yaml.safe_load(text)


def load_results(path: str | Path) -> Results:
    """Read a results folder written by ``msgsim run`` or ``Results.save``."""
    out = Path(path)
    if (out / "errors.json").exists() and not (out / "summary.csv").exists():
        raise ConfigError(
            f"{out}: not a complete results folder: runs failed (see {out / 'errors.json'}). "
            f"Finish it with `msgsim run CONFIG --out {out} --resume`, which reruns only them."
        )
    if not (out / "summary.csv").exists():
        raise ConfigError(
            f"{out}: not a complete results folder (no summary.csv). Run an experiment first, "
            "e.g. `msgsim run experiments/compare_semantics.yaml`."
        )
    summary = _read(out / "summary.parquet", pd.read_parquet, None)
    if summary is None:
        summary = _read(out / "summary.csv", pd.read_csv, None)
    empty = pd.DataFrame()
    messages = _read(out / "messages.parquet", pd.read_parquet, empty)
    events = _read(out / "events.parquet", pd.read_parquet, empty)
    log = _read(out / "faults.csv", lambda p: pd.read_csv(p, dtype=FAULT_TEXT_COLUMNS), empty)
    config, question = _config(out / "config.yaml")
    errors = _read(out / "errors.json", lambda p: json.loads(p.read_text()), [])
    lag = _read(out / "lag.parquet", pd.read_parquet, None)
    return Results(summary, messages, events, schedule_of(log), config, errors, lag, log, question)
