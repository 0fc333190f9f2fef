"""Executing runs: in-process, in a local process pool, or on a Dask cluster, identically.

A run that fails does not stop the others: its traceback is captured with its key and seed.
Outputs come back keyed by run, so their order never depends on completion order.

Progress is shown in simulated seconds (a bar over every run's ``duration + drain``, with an
ETA), so one long run moves the bar too. A run reports its simulated time through a callback
(``sim/experiment/run.py``); in a process pool the callback puts it on a queue the parent
drains between completions. Reporting only reads the clock: results are identical with and
without it. Dask runs report when they finish.
"""

from __future__ import annotations

import multiprocessing
import queue as queues
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd

from ..config import ConfigError, ExperimentConfig, limits
from ..core.workers import start_method, warm_up
from .plan import RunSpec
from .progress import ProgressBar
from .run import Progress, RunOutput, run_one


def execute_spec(spec: RunSpec, progress: Progress | None = None) -> RunOutput:
    """Run one planned run (in whatever process receives it)."""
    cfg = ExperimentConfig.model_validate(spec.config)
    kw: dict[str, Any] = {"progress": progress} if progress is not None else {}
    return run_one(
        cfg,
        spec.strategy,
        spec.cell,
        spec.replication,
        spec.seed,
        list(spec.schedule),
        spec.params,
        **kw,
    )


class RunError(RuntimeError):
    def __init__(self, spec: RunSpec, detail: str) -> None:
        super().__init__(f"run {spec.key} (seed {spec.seed}) failed: {detail}")
        self.spec = spec
        self.detail = detail


def _safe_execute(spec: RunSpec, progress: Progress | None = None) -> RunOutput | str:
    try:
        return execute_spec(spec, progress if progress is not None else _queued(spec.key))
    except Exception:  # reported with its config and seed, not raised in the worker
        return traceback.format_exc()


_QUEUE: Any = None
"""In a pool worker with progress on: the queue to the parent."""


def _init_worker(queue: Any) -> None:
    """A pool worker: report progress on ``queue``; leave Ctrl-C to the parent."""
    global _QUEUE
    _QUEUE = queue
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _queued(key: str) -> Progress | None:
    """A progress callback that puts ``(key, time)`` on the parent's queue, at most 4 a
    second (None outside a pool worker with progress on)."""
    q = _QUEUE
    if q is None:
        return None
    last = [0.0]

    def report(now: float) -> None:
        t = time.monotonic()
        if t - last[0] >= 0.25:
            last[0] = t
            try:
                q.put_nowait((key, now))
            except (queues.Full, OSError, ValueError):
                pass

    return report


def connect(address: str) -> Any:
    """A client of the Dask scheduler at ``address``, or a :class:`ConfigError` within
    ``DASK_CONNECT_SECONDS`` when none answers there."""
    from distributed import Client

    if not address.strip():
        raise ConfigError("--dask '': give the address of a Dask scheduler, e.g. tcp://host:8786.")
    seconds = limits.DASK_CONNECT_SECONDS
    try:
        return Client(address, timeout=f"{seconds}s")
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise ConfigError(
            f"--dask {address}: no Dask scheduler answered within {seconds:g} s "
            f"({exc.__class__.__name__}: {exc}). Start one (`dask scheduler`) and give its "
            "address, e.g. tcp://host:8786, or leave --dask out to run locally. Nothing was "
            "run or written."
        ) from None


def _map(
    specs: list[RunSpec], workers: int, dask: Any, bar: ProgressBar
) -> Iterator[tuple[RunSpec, RunOutput | str]]:
    if dask is not None:
        from distributed import as_completed

        client = connect(dask) if isinstance(dask, str) else dask
        try:
            futures = {client.submit(_safe_execute, s, pure=False): s for s in specs}
            for fut in as_completed(futures):
                yield futures[fut], fut.result()
        finally:
            if client is not dask:
                client.close()
        return
    if workers <= 1 or len(specs) <= 1:
        for s in specs:
            yield s, _safe_execute(s, bar.reporter(s.key) if bar.enabled else None)
        return
    yield from _pool(specs, workers, bar)


def _pool(
    specs: list[RunSpec], workers: int, bar: ProgressBar
) -> Iterator[tuple[RunSpec, RunOutput | str]]:
    """Runs in a local process pool; progress comes back on a queue drained between
    completions. Ctrl-C stops the workers at once (they ignore it; the parent ends them)."""
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    warm_up()  # workers forked with the simulator imported (sim/core/workers.py)
    context = multiprocessing.get_context(start_method())
    queue = context.Queue() if bar.enabled else None
    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(specs)),
        mp_context=context,
        initializer=_init_worker,
        initargs=(queue,),
    )
    try:
        futs = {pool.submit(_safe_execute, s): s for s in specs}
        pending = set(futs)
        while pending:
            finished, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            _drain(queue, bar)
            for fut in finished:
                yield futs[fut], fut.result()
    except BaseException:
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def _drain(queue: Any, bar: ProgressBar) -> None:
    while queue is not None:
        try:
            key, now = queue.get_nowait()
        except (queues.Empty, OSError, ValueError):
            return
        bar.advance(key, now)


def execute(
    specs: list[RunSpec],
    workers: int = 1,
    dask: Any = None,
    progress: bool | None = None,
    on_done: Callable[[RunSpec, RunOutput], None] | None = None,
) -> tuple[dict[str, RunOutput], list[RunError]]:
    """Run every spec; return outputs by run key and the runs that failed (not raised).

    ``dask`` is a scheduler address or a client from :func:`connect`; ``progress``: None shows
    it on a terminal and in a notebook."""
    done: dict[str, RunOutput] = {}
    errors: list[RunError] = []
    horizons = {s.key: float(s.config["duration"]) + float(s.config["drain"]) for s in specs}
    with ProgressBar(horizons, progress) as bar, _ctrl_c() as pressed:
        for spec, out in _map(specs, workers, dask, bar):
            if pressed:  # a Ctrl-C whose KeyboardInterrupt was swallowed (raised in a finalizer)
                raise KeyboardInterrupt
            if isinstance(out, str):
                errors.append(RunError(spec, out.strip().splitlines()[-1]))
                errors[-1].__notes__ = [out]
            else:
                done[spec.key] = out
                if on_done is not None:
                    on_done(spec, out)
            bar.finish(spec.key)
    return done, errors


@contextmanager
def _ctrl_c() -> Iterator[list[bool]]:
    """Remember a Ctrl-C as well as raising it: Python drops an exception raised while it runs
    a finalizer (a generator closed by the collector), and a run would then go on to the end;
    :func:`execute` checks the flag after every run. Only in the main thread (signals)."""
    pressed: list[bool] = []
    if threading.current_thread() is not threading.main_thread():
        yield pressed
        return
    before = signal.getsignal(signal.SIGINT)

    def on_sigint(signum: int, frame: Any) -> None:
        if before is signal.SIG_IGN:
            return
        pressed.append(True)
        if callable(before):
            before(signum, frame)
        else:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, before)


def assemble(
    cfg: ExperimentConfig, specs: Iterable[RunSpec], outputs: dict[str, RunOutput]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Summary, messages, events and lag frames in plan order (whatever the completion order)."""
    rows, messages, events, lags = [], [], [], []
    for spec in specs:
        out = outputs.get(spec.key)
        if out is None:
            continue
        rows.extend(out.rows)
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


def assemble_fired(specs: Iterable[RunSpec], outputs: dict[str, RunOutput]) -> pd.DataFrame:
    """When each fault started and ended in each run, in plan order."""
    frames = [
        outputs[s.key].fired for s in specs if s.key in outputs and outputs[s.key].fired is not None
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
