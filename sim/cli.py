"""The command line: ``msgsim run / validate / plot`` (also ``python -m sim``).

Exit codes: 0 success; 1 a run failed; 2 bad input; 3 a promise broken (``run --check``).
Bad input never prints a traceback: one paragraph says what is wrong, where, and what is
allowed.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from .config import PROTOCOL_STEPS, ConfigError, ConfigWarning, limits
from .core.workers import default_workers, warm_up


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # exit 2 with usage, never a traceback
        self.print_usage(sys.stderr)
        print(f"msgsim: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} must be at least {minimum}")
        return value

    return parse


_positive_int = _whole_number(1)
_seed = _whole_number(0)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="msgsim", description="Simulate message-delivery guarantees under faults."
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run an experiment and write its results folder")
    run.add_argument("config", help="experiment config (YAML)")
    run.add_argument("--out", help="results folder (default results/<name>)")
    run.add_argument("--force", action="store_true", help="replace an existing results folder")
    run.add_argument(
        "--resume",
        action="store_true",
        help="finish an interrupted experiment: skip the runs already in DIR/runs/",
    )
    run.add_argument(
        "--workers", type=_positive_int, help="processes to use (default: number of cores)"
    )
    run.add_argument("--dask", metavar="ADDRESS", help="run on a Dask cluster (scheduler address)")
    run.add_argument("--seed", type=_seed, help="override the master seed")
    run.add_argument(
        "--replications", type=_positive_int, help="override the number of replications"
    )
    run.add_argument("--strategies", help="comma-separated strategies to run (override)")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    run.add_argument("--no-charts", action="store_true", help="do not draw charts")
    run.add_argument(
        "--check",
        action="store_true",
        help="exit 3 if a strategy broke a promise it makes under the run's conditions",
    )

    val = sub.add_parser("validate", help="check a config and print its fault schedule")
    val.add_argument("config")

    plot = sub.add_parser("plot", help="redraw the charts of a results folder")
    plot.add_argument("dir")
    plot.add_argument(
        "--metrics",
        help="comma-separated summary columns the sweep chart plots (default: the config's "
        "sweep.metrics, else loss_rate,duplicate_rate)",
    )

    exp = sub.add_parser(
        "explain", help="tell one event's journey and draw its sequence diagram (needs trace: full)"
    )
    exp.add_argument("dir", help="results folder")
    exp.add_argument("--message", required=True, metavar="ID", help="business event id, e.g. p0-42")
    exp.add_argument(
        "--run", help="run label c<cell>-<strategy>-r<replication> (default: the most telling run)"
    )
    exp.add_argument(
        "--group",
        help="with several consumer groups: the group whose view to tell (default: the first "
        "where the event was lost, pending or duplicated)",
    )
    exp.add_argument("--out", help="folder for the diagram (default DIR/charts)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("always", ConfigWarning)
        warnings.showwarning = _show_warning(set(), warnings.showwarning)
        try:
            return _COMMANDS[args.command](args)
        except ConfigError as exc:
            print(f"msgsim: error: {exc}", file=sys.stderr)
            return 2
        except BrokenPipeError:  # the reader of our output went away (`| head`): stop quietly
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 141
        except OSError as exc:  # a path the user gave that cannot be read or written
            where = exc.filename or "a file"
            print(
                f"msgsim: error: {where}: {exc.strerror or exc} "
                f"({exc.__class__.__name__}). Check the path and its permissions.",
                file=sys.stderr,
            )
            return 2
        except KeyboardInterrupt:
            print("msgsim: interrupted", file=sys.stderr)
            return 130


def _show_warning(shown: set[str], other: Callable[..., None]) -> Callable[..., None]:
    """Print each config warning once, as ``msgsim: warning: FILE, line N, key K: ...``;
    pass any other warning to ``other``."""

    def show(message: Warning | str, category: type[Warning], *args: Any, **kw: Any) -> None:
        if not issubclass(category, ConfigWarning):
            other(message, category, *args, **kw)
            return
        text = str(message)
        if text not in shown:
            shown.add(text)
            print(f"msgsim: warning: {text}", file=sys.stderr)

    return show


def _run(args: argparse.Namespace) -> int:
    from .config import resolve

    strategies = (
        [s.strip() for s in args.strategies.split(",") if s.strip()] if args.strategies else None
    )
    overrides = dict(seed=args.seed, replications=args.replications, strategies=strategies)
    cfg = resolve(args.config, **overrides)  # first: a bad config is told before pandas loads
    if _uses_workers(cfg, args):
        warm_up()  # the workers' fork server imports while this process does (below)

    from .api import run_experiment
    from .experiment.folder import CLI_WORDS, check_out, default_out
    from .report.table import format_table

    if args.out is not None:
        check_out(args.out)  # --out '' is refused, not read as the working directory
    out = Path(args.out) if args.out is not None else default_out(cfg.name)
    try:
        res = run_experiment(
            args.config,
            overrides,
            workers=args.workers,
            dask=args.dask,
            progress=False if args.no_progress else None,
            out=out,
            force=args.force,
            charts=not args.no_charts,
            resume=args.resume,
            words=CLI_WORDS,
        )
    except KeyboardInterrupt:
        print(
            f"\nmsgsim: interrupted. {_finished(out)} To finish it: {_resume(args, out)}",
            file=sys.stderr,
        )
        return 130
    if res.resumed:
        print(
            f"resumed: {res.resumed} of {len(res.summary)} runs were already finished in "
            f"{out}/runs/ and were not run again"
        )
    metrics = [str(m) for m in cfg.sweep.get("metrics", [])]
    print(format_table(res.summary, metrics))
    if res.errors:
        print(
            f"results: {out}/ is not complete: {len(res.errors)} run(s) failed (errors.json). "
            f"`{_resume(args, out)}` reruns only them."
        )
    else:
        print(f"results: {out}/ ({', '.join(_written(out))})")
    for err in res.errors:
        print(f"msgsim: {err}", file=sys.stderr)
    if res.errors:
        return 1
    return _check(res.summary) if args.check else 0


def _uses_workers(cfg: Any, args: argparse.Namespace) -> bool:
    """Whether ``msgsim run`` will start local worker processes: more than one run, more than
    one worker, no Dask (runs a resumed experiment finished already are counted too: at
    worst the server is started for nothing)."""
    workers = args.workers or default_workers()
    return workers > 1 and limits.run_count(cfg) > 1 and not args.dask


def _check(summary: Any) -> int:
    """``--check``: 3 if any run broke a promise where it applies (each one printed), else 0."""
    if "promises_broken" not in summary.columns:
        return 0
    broken = summary[summary["promises_broken"].fillna("none") != "none"]
    grouped = "group" in summary.columns and summary["group"].nunique() > 1
    for _, row in broken.iterrows():
        group = f", group {row['group']}" if grouped else ""
        print(
            f"msgsim: promise broken: {row['strategy']} (cell {row['cell']}, replication "
            f"{row['replication']}{group}): {row['promises_broken']}",
            file=sys.stderr,
        )
    if len(broken):
        return 3
    if "promise_no_loss" in summary.columns:
        undecided = summary[summary["promise_no_loss"] == "undecided"]
        if len(undecided):
            print(
                f"msgsim: no-loss undecided in {len(undecided)} run(s): nothing was lost, but "
                f"{int(undecided['pending'].sum()):,} events were still pending when they "
                "ended (a longer drain tells)",
                file=sys.stderr,
            )
    print("check: every promise held wherever its conditions applied and could be decided")
    return 0


def _finished(out: Path) -> str:
    n = len(list((out / "runs").glob("*.json"))) if (out / "runs").is_dir() else 0
    if n == 0:
        return "No run had finished."
    return f"{n} finished run{'s are' if n != 1 else ' is'} kept in {out}/runs/."


def _resume(args: argparse.Namespace, out: Path) -> str:
    """The command that finishes an interrupted run (same config and overrides)."""
    import shlex

    parts = ["msgsim", "run", args.config, "--out", str(out), "--resume"]
    for flag in ("seed", "replications", "strategies", "workers", "dask"):
        value = getattr(args, flag)
        if value is not None:
            parts += [f"--{flag}", str(value)]
    return " ".join(shlex.quote(p) for p in parts)


def _written(out: Path) -> list[str]:
    """The main files of a results folder that exist."""
    names = ["report.html", "summary.csv", "messages.parquet", "faults.csv", "lag.parquet"]
    found = [n for n in names if (out / n).exists()]
    if (out / "charts").is_dir() and any((out / "charts").iterdir()):
        found.append("charts/")
    return found


SHOWN_FAULTS = 200
"""Rows of the materialised fault schedule ``msgsim validate`` prints (a schedule of many
replications is tens of thousands of rows)."""


def _validate(args: argparse.Namespace) -> int:
    from .config import load_config

    cfg = load_config(args.config)  # first: a bad config is told before pandas is imported

    import pandas as pd

    from .config.strategies import describe_roles
    from .experiment import cells, plan

    cs = cells(cfg)
    specs, faults = plan(cfg, cs)
    print(
        f"{args.config}: valid. {len(cs)} cell(s) x {len(cfg.strategy_names)} strategies x "
        f"{cfg.replications} replications = {len(specs)} runs."
    )
    for line in limits.experiment_size(cfg, [c.config for c in cs]).lines():
        print(line)
    print(f"nodes: {', '.join(cfg.node_names())}")
    if cfg.consumer_groups is not None:
        topo = cfg.node_topology()
        shown = [
            f"{g.name} ({', '.join(topo.consumers_of(g.name))} -> {topo.sink_of(g.name)}; "
            f"{g.settings.assignor})"
            for g in cfg.groups
        ]
        print(f"consumer groups, each reading every event: {'; '.join(shown)}")
    print("strategies:")
    for strategy in cfg.strategy_objects():
        print(f"  {strategy.name}: {describe_roles(strategy)}")
    if len(faults):
        head = faults.drop(columns=["source"]).head(SHOWN_FAULTS)
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print(head.to_string(index=False))
        if len(faults) > SHOWN_FAULTS:
            runs = faults[["cell", "replication"]].drop_duplicates()
            print(
                f"... and {len(faults) - SHOWN_FAULTS:,} more faults: {len(faults):,} in all, over "
                f"{len(runs):,} (cell, replication)s; each run's results keep its own "
                "(faults.csv)"
            )
    else:
        print("fault schedule: empty")
    print("protocol steps for `crash ... on:`:")
    for step, text in PROTOCOL_STEPS.items():
        print(f"  {step}: {text}")
    return 0


def _explain(args: argparse.Namespace) -> int:
    from .report.explain import ExplainError, explain

    if args.out is not None and not args.out.strip():
        raise ConfigError("explain --out '': give a folder for the diagram, or leave --out out.")
    try:
        text, paths = explain(args.dir, args.message, args.run, args.out, args.group)
    except ExplainError as exc:
        print(f"msgsim: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        folder = args.out if args.out is not None else f"{args.dir}/charts"
        raise ConfigError(_cannot_write(folder, "the diagram", exc)) from None
    print(text)
    for p in paths:
        print(f"diagram: {p}")
    return 0


def _plot(args: argparse.Namespace) -> int:
    from .core.metrics import METRICS
    from .report.results import load_results

    res = load_results(args.dir)
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    unknown = [m for m in metrics or [] if m not in METRICS]
    if unknown:
        raise ConfigError(
            f"--metrics: unknown metric {unknown[0]!r}; allowed: {', '.join(METRICS)}"
        )

    from .report.charts import draw_all  # matplotlib: only once there is something to draw

    charts = Path(args.dir) / "charts"
    try:
        paths = draw_all(
            res.summary,
            res.messages,
            res.fault_log,
            charts,
            lag=res.lag,
            config=res.config,
            metrics=metrics,
        )
    except OSError as exc:
        raise ConfigError(_cannot_write(str(charts), "the charts", exc)) from None
    for p in paths:
        print(p)
    return 0


def _cannot_write(folder: str, what: str, exc: OSError) -> str:
    from .experiment.folder import why_not_writable

    why = why_not_writable(exc)
    return (
        f"{folder}: cannot write {what} there ({why}: {exc.filename}). Choose a folder you may "
        "write to."
    )


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": _run,
    "validate": _validate,
    "plot": _plot,
    "explain": _explain,
}


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
