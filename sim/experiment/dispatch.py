"""Executing runs: in-process, in a local process pool, or on a Dask cluster, identically.

A run that fails does not stop the others: its traceback is captured with its key and seed.
Outputs come back keyed by run, so their order never depends on completion order.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator

import pandas as pd

from ..config import ExperimentConfig
from .plan import RunSpec
from .run import RunOutput, run_one


def execute_spec(spec: RunSpec) -> RunOutput:
    """Run one planned run (in whatever process receives it)."""
    cfg = ExperimentConfig.model_validate(spec.config)
    return run_one(
        cfg, spec.strategy, spec.cell, spec.replication, spec.seed, list(spec.schedule), spec.params
    )


class RunError(RuntimeError):
    def __init__(self, spec: RunSpec, detail: str) -> None:
        super().__init__(f"run {spec.key} (seed {spec.seed}) failed: {detail}")
        self.spec = spec
        self.detail = detail


def _safe_execute(spec: RunSpec) -> RunOutput | str:
    try:
        return execute_spec(spec)
    except Exception:  # reported with its config and seed, not raised in the worker
        return traceback.format_exc()


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def _map(
    specs: list[RunSpec], workers: int, dask: str | None
) -> Iterator[tuple[RunSpec, RunOutput | str]]:
    if dask:
        from distributed import Client, as_completed

        with Client(dask) as client:
            futures = {client.submit(_safe_execute, s, pure=False): s for s in specs}
            for fut in as_completed(futures):
                yield futures[fut], fut.result()
        return
    if workers <= 1 or len(specs) <= 1:
        for s in specs:
            yield s, _safe_execute(s)
        return
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures import as_completed as futures_completed

    method = "forkserver" if sys.platform != "win32" else "spawn"
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(max_workers=min(workers, len(specs)), mp_context=context) as pool:
        futs = {pool.submit(_safe_execute, s): s for s in specs}
        for fut in futures_completed(futs):
            yield futs[fut], fut.result()


def execute(
    specs: list[RunSpec],
    workers: int = 1,
    dask: str | None = None,
    progress: bool | None = None,
    on_done: Callable[[RunSpec, RunOutput], None] | None = None,
) -> tuple[dict[str, RunOutput], list[RunError]]:
    """Run every spec; return outputs by run key and the runs that failed (not raised)."""
    from tqdm.auto import tqdm

    if progress is None:
        progress = sys.stderr.isatty()
    done: dict[str, RunOutput] = {}
    errors: list[RunError] = []
    bar = tqdm(total=len(specs), unit="run", disable=not progress, desc="runs", dynamic_ncols=True)
    try:
        for spec, out in _map(specs, workers, dask):
            if isinstance(out, str):
                errors.append(RunError(spec, out.strip().splitlines()[-1]))
                errors[-1].__notes__ = [out]
            else:
                done[spec.key] = out
                if on_done is not None:
                    on_done(spec, out)
            bar.update(1)
    finally:
        bar.close()
    return done, errors


def assemble(
    cfg: ExperimentConfig, specs: Iterable[RunSpec], outputs: dict[str, RunOutput]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Summary, messages, events and lag frames in plan order (whatever the completion order)."""
    rows, messages, events, lags = [], [], [], []
    for spec in specs:
        out = outputs.get(spec.key)
        if out is None:
            continue
        rows.append(out.row)
        if out.messages is not None:
            messages.append(out.messages)
        if out.events is not None:
            events.append(out.events)
        if out.lag is not None:
            lags.append(out.lag)
    summary = pd.DataFrame(rows)
    msgs = pd.concat(messages, ignore_index=True) if messages else pd.DataFrame()
    evs = pd.concat(events, ignore_index=True) if events else pd.DataFrame()
    lag = pd.concat(lags, ignore_index=True) if lags else pd.DataFrame()
    return summary, msgs, evs, lag
