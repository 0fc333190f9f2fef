"""The Python API: ``sim.run`` runs an experiment and returns its results
(:class:`~sim.report.results.Results`).

Errors speak the API's words (``force=True``, ``out=``), the command line's speak its own
(``--force``). A script that calls ``sim.run`` at its top level, without the
``if __name__ == "__main__":`` guard, cannot start worker processes (each would run the
script again): the runs then happen in this process, with a one-line warning.
"""

from __future__ import annotations

import ast
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .config import ExperimentConfig
from .experiment import (
    RunOutput,
    RunSpec,
    assemble,
    assemble_fired,
    default_workers,
    execute,
    plan,
    resolve,
)
from .experiment.dispatch import connect
from .experiment.folder import (
    check_out,
    finished_runs,
    prepare_folder,
    resumable,
    write_run,
    write_text,
)
from .report.frames import fault_log, question_text
from .report.results import API_WORDS, Results, config_text, write_frames


def run(
    config: str | Path | dict[str, Any] | ExperimentConfig,
    *,
    seed: int | None = None,
    replications: int | None = None,
    strategies: list[str] | str | None = None,
    workers: int | None = None,
    dask: str | None = None,
    progress: bool | None = None,
    out: str | Path | None = None,
    force: bool = False,
    charts: bool = True,
    resume: bool = False,
) -> Results:
    """Run every cell, strategy and replication of an experiment.

    Keyword overrides replace the config's values (validated like the file). With ``out``,
    each finished run is written under ``out/runs/`` at once and the whole folder at the end
    (with ``report.html``). A run that fails does not stop the others; its error is in
    ``Results.errors``, and the folder then has ``errors.json`` and no ``summary.csv`` (it is
    not complete). With ``resume``, runs already finished in ``out/runs/`` (by the same
    config) are not run again. ``progress`` (default: on a terminal or in a notebook) shows a
    bar in simulated seconds with an ETA.

    ``out`` is a folder of its own (never the working or home directory or a parent of them);
    ``force`` replaces only a results folder msgsim wrote (marker ``.msgsim-results``). Bad
    input (config, ``out``, an unreachable ``dask``) raises :class:`~sim.config.ConfigError`
    before anything runs or is written.
    """
    return run_experiment(
        config,
        dict(seed=seed, replications=replications, strategies=strategies),
        workers=workers,
        dask=dask,
        progress=progress,
        out=out,
        force=force,
        charts=charts,
        resume=resume,
        words=API_WORDS,
    )


def run_experiment(
    config: str | Path | dict[str, Any] | ExperimentConfig,
    overrides: dict[str, Any],
    *,
    workers: int | None,
    dask: str | None,
    progress: bool | None,
    out: str | Path | None,
    force: bool,
    charts: bool,
    resume: bool,
    words: Mapping[str, str],
) -> Results:
    """:func:`run`, with the words its messages use for options (the API's or the CLI's)."""
    if isinstance(overrides.get("strategies"), str):
        text = overrides["strategies"]
        overrides["strategies"] = [s.strip() for s in text.split(",") if s.strip()]
    cfg = resolve(config, **overrides)
    question = _question(config)
    specs, faults = plan(cfg)
    workers = workers or default_workers()
    if workers > 1 and not dask and len(specs) > 1 and _unguarded_caller():
        print(f"msgsim: warning: {_UNGUARDED.format(workers=workers)}", file=sys.stderr)
        workers = 1
    client = connect(dask) if dask else None  # before any folder is made
    folder: Path | None = None
    created = False
    try:
        folder, finished, created = _open_folder(out, cfg, specs, force, resume, question, words)
        outputs, errors = _execute(specs, finished, folder, workers, client, progress)
    except Exception:
        if created and folder is not None and not any((folder / "runs").glob("*.json")):
            shutil.rmtree(folder, ignore_errors=True)  # nothing finished: leave no half folder
        raise
    except KeyboardInterrupt as exc:
        if folder is not None and words is API_WORDS:
            exc.add_note(
                f"msgsim: interrupted; the finished runs are kept in {folder}/runs/. To finish "
                f"the experiment: sim.run(<the same config and overrides>, out={str(folder)!r}, "
                f"{words['resume']})"
            )
        raise
    finally:
        if client is not None:
            client.close()
    return _results(cfg, specs, faults, outputs, errors, finished, folder, charts, question)


def _open_folder(
    out: str | Path | None,
    cfg: ExperimentConfig,
    specs: list[RunSpec],
    force: bool,
    resume: bool,
    question: str,
    words: Mapping[str, str],
) -> tuple[Path | None, dict[str, RunOutput], bool]:
    """The results folder, checked, created and marked (or reopened to resume), with its
    ``config.yaml``; the runs an interrupted experiment already finished there; and whether
    the folder was made now."""
    if out is None:
        return None, {}, False
    text = config_text(cfg, question)
    if resume and resumable(out, words):
        folder = check_out(out, words)
        finished = finished_runs(folder, text, specs, cfg.trace, words)
        write_text(folder / "config.yaml", text)
        return folder, finished, False
    folder = prepare_folder(out, force, words)
    write_text(folder / "config.yaml", text)
    return folder, {}, True


_UNGUARDED = (
    "sim.run() is called at the top level of a script without "
    '`if __name__ == "__main__":`, so worker processes cannot start (each would run the '
    "script again); running in this process instead of {workers} workers. Put the call "
    "under the guard to use them."
)


def _execute(
    specs: list[RunSpec],
    finished: dict[str, RunOutput],
    folder: Path | None,
    workers: int,
    dask: Any,
    progress: bool | None,
) -> tuple[dict[str, RunOutput], list[Any]]:
    on_done = None
    if folder is not None:
        target = folder

        def on_done(spec: RunSpec, output: RunOutput) -> None:
            write_run(target, spec, output)

    todo = [s for s in specs if s.key not in finished]
    outputs, errors = execute(todo, workers=workers, dask=dask, progress=progress, on_done=on_done)
    outputs.update(finished)
    return outputs, errors


def _results(
    cfg: ExperimentConfig,
    specs: list[RunSpec],
    faults: Any,
    outputs: dict[str, RunOutput],
    errors: list[Any],
    finished: dict[str, RunOutput],
    folder: Path | None,
    charts: bool,
    question: str,
) -> Results:
    summary, messages, events, lag = assemble(cfg, specs, outputs)
    log = fault_log(faults, assemble_fired(specs, outputs), cfg.strategy_names)
    res = Results(
        summary,
        messages,
        events,
        faults,
        cfg,
        [f"{e}\n{''.join(getattr(e, '__notes__', []))}" for e in errors],
        lag=lag,
        fault_log=log,
        question=question,
    )
    res.resumed = len(finished)
    if folder is not None:
        write_frames(folder, res, charts=charts)
    return res


def _question(config: Any) -> str:
    """The leading comment of a config file (the question it asks); "" for other sources."""
    if isinstance(config, str | Path):
        try:
            return question_text(Path(config).read_text(encoding="utf-8"))
        except OSError:
            return ""
    return ""


def _unguarded_caller() -> bool:
    """Whether ``sim.run`` was called from a script's top-level code outside an
    ``if __name__ == "__main__":`` block (worker processes would re-run the script)."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or not path or not str(path).endswith(".py"):
        return False  # a notebook, the REPL, python -c, or the msgsim command
    if str(getattr(getattr(main, "__spec__", None), "name", "")).endswith("__main__"):
        return False  # python -m package: workers do not run a package's __main__ again
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals is not main.__dict__:
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None or frame.f_code.co_name != "<module>":
        return False
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return False
    return not _in_main_guard(tree, frame.f_lineno)


def _in_main_guard(tree: ast.Module, line: int) -> bool:
    for node in tree.body:
        if isinstance(node, ast.If) and _is_main_test(node.test):
            end = node.end_lineno or node.lineno
            if node.lineno <= line <= end:
                return True
    return False


def _is_main_test(test: ast.expr) -> bool:
    """``__name__ == "__main__"`` (either way round)."""
    if not isinstance(test, ast.Compare) or len(test.comparators) != 1:
        return False
    sides = [test.left, test.comparators[0]]
    names = [s.id for s in sides if isinstance(s, ast.Name)]
    texts = [s.value for s in sides if isinstance(s, ast.Constant)]
    return names == ["__name__"] and texts == ["__main__"]
