"""The Python API: ``sim.run`` runs an experiment and returns its results
(:class:`~sim.report.results.Results`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import ExperimentConfig, config_yaml
from .experiment import RunOutput, RunSpec, assemble, default_workers, execute, plan, resolve
from .experiment.folder import finished_runs, prepare_folder, write_run, write_text
from .report.results import Results, write_frames


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
    each finished run is written under ``out/runs/`` at once and the whole folder at the end.
    A run that fails does not stop the others; its error is in ``Results.errors``. With
    ``resume``, runs already finished in ``out/runs/`` (by the same config) are not run again.
    """
    if isinstance(strategies, str):
        strategies = [s.strip() for s in strategies.split(",") if s.strip()]
    cfg = resolve(config, seed=seed, replications=replications, strategies=strategies)
    specs, faults = plan(cfg)
    folder = Path(out) if out is not None else None
    on_done = None
    finished: dict[str, RunOutput] = {}
    if folder is not None:
        config_text = config_yaml(cfg)
        if resume and (folder / "config.yaml").exists():
            finished = finished_runs(folder, config_text, specs, cfg.trace)
        else:
            prepare_folder(folder, force)
        write_text(folder / "config.yaml", config_text)

        def on_done(spec: RunSpec, output: RunOutput) -> None:
            write_run(folder, spec, output)

    todo = [s for s in specs if s.key not in finished]
    outputs, errors = execute(
        todo, workers=workers or default_workers(), dask=dask, progress=progress, on_done=on_done
    )
    outputs.update(finished)
    summary, messages, events, lag = assemble(cfg, specs, outputs)
    res = Results(
        summary,
        messages,
        events,
        faults,
        cfg.model_dump(mode="json"),
        [f"{e}\n{''.join(getattr(e, '__notes__', []))}" for e in errors],
        lag=lag,
    )
    res.resumed = len(finished)
    if folder is not None:
        write_frames(folder, res, charts=charts)
    return res
