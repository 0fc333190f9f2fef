"""The Python API: ``sim.run`` runs an experiment and returns its :class:`~sim.results.Results`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import ExperimentConfig
from .experiment import assemble, default_workers, execute, plan, resolve
from .results import Results, prepare_folder, write_frames, write_parquet, write_text


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
) -> Results:
    """Run every cell, strategy and replication of an experiment.

    Keyword overrides replace the config's values (validated like the file). With ``out``,
    each finished run is written under ``out/runs/`` at once and the whole folder at the end.
    A run that fails does not stop the others; its error is in ``Results.errors``.
    """
    if isinstance(strategies, str):
        strategies = [s.strip() for s in strategies.split(",") if s.strip()]
    cfg = resolve(config, seed=seed, replications=replications, strategies=strategies)
    specs, faults = plan(cfg)
    folder = Path(out) if out is not None else None
    on_done = None
    if folder is not None:
        prepare_folder(folder, force)

        def on_done(spec, output):  # type: ignore[no-untyped-def]
            import json

            write_text(folder / "runs" / f"{spec.key}.json", json.dumps(output.row, default=float))
            if output.messages is not None:
                write_parquet(folder / "runs" / f"{spec.key}.messages.parquet", output.messages)

    outputs, errors = execute(specs, workers=workers or default_workers(), dask=dask, progress=progress, on_done=on_done)
    summary, messages, events = assemble(cfg, specs, outputs)
    res = Results(summary, messages, events, faults, cfg.model_dump(mode="json"),
                  [f"{e}\n{''.join(getattr(e, '__notes__', []))}" for e in errors])
    if folder is not None:
        write_frames(folder, res, charts=charts)
    return res
