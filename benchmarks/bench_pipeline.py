"""Benchmark: msgsim against a hand-written SimPy pipeline of the same scenario.

The scenario (issue 13): one producer, one partition, one consumer, at-least-once. Poisson
arrivals at 1,000 events/s; processing takes an exponential time of mean 0.5 ms (2,000/s);
every network link takes 1 ms, except the consumer's hop to the sink, which is free; 1% of
produce requests and 1% of their acknowledgements are dropped, and the producer resends a
request that is not acknowledged within 50 ms (so about 1% of the events are appended twice
and applied twice).

* The **baseline** is the least SimPy code that simulates that: random numbers drawn up
  front from seeded numpy Generators, timeout callbacks for the hops and the resend timers,
  one consumer process that fetches (1 ms there, long poll, 1 ms back), processes each record
  of the batch and applies its effect to a dict.
* **msgsim** runs the same scenario through its public config and experiment layer
  (``sim.ExperimentConfig.model_validate``, ``sim.experiment.plan``, then
  ``sim.experiment.execute_spec`` in this process), once per trace level (``summary``,
  ``messages``, ``full``). It exchanges every protocol message (fetch, sink transaction,
  offset commit, acks), records the history, checks it and, from ``messages`` on, builds the
  messages frame; that is what the ratio measures. Only ``execute_spec`` is timed.

The figure is events per wall second, best of R, and the ratio msgsim / baseline (1.0 would
be as fast as the hand-written pipeline); the CPU seconds of each run are kept too (the time
the machine gave elsewhere is not in them). Both pipelines must process (almost) every event
and agree on the mean creation-to-effect latency, or the comparison is unfair: exit status 1.

``--kernel`` counts the SimPy steps each pipeline takes per event and prices a step alone: the
cost of msgsim's steps with no model, recording or checking at all, and so the best ratio any
model with that many steps could reach.

The heavier parts run in fresh child processes, one per figure, so each one's peak memory is
its own: ``--memory`` (peak memory of a run at each trace level), ``--scaling`` (cost per event
at 1e4, 1e5 and 1e6 events, each size ``--scaling-repeat`` times, the run of least CPU time
per event kept). ``--sweep`` times 8 equal runs on 1 and 2 worker processes, and on a Dask
LocalCluster of 2 workers, ``--sweep-rounds`` times in turn, with the runs' own seconds beside
the wall time (how much slower runs went side by side, and the time outside them). ``--all``
runs everything (``make bench``).

Usage::

    python benchmarks/bench_pipeline.py [--events N] [--repeat R] [--json FILE] [--profile]
        [--memory] [--memory-events N] [--scaling] [--scaling-repeat R] [--kernel] [--sweep]
        [--sweep-events N] [--sweep-rounds R] [--all]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib
import io
import json
import os
import platform
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import simpy

import sim
from sim.experiment import execute_spec, plan

RATE = 1000.0  # events per second (Poisson)
PROCESS_MEAN = 0.0005  # consumer processing time, exponential (2,000 events/s)
LINK = 0.001  # every link but consumer -> sink
DROP = 0.01  # produce requests and acknowledgements
RETRY = 0.05  # resend a request not acknowledged within this long
MAX_POLL = 100  # records per fetch
DRAIN = 1.0  # simulated seconds after the last arrival, so the consumer empties the log
SEED = 7
TRACES = ("summary", "messages", "full")
GOAL_RATIO = 0.7  # msgsim at trace summary / baseline, events per second (floor 0.5)
FLOOR_RATIO = 0.5
MIN_PROCESSED = 0.999  # fraction of generated events each pipeline must process
LATENCY_TOLERANCE = 0.25  # relative gap allowed between the pipelines' mean latencies
LATENCY_MIN_EVENTS = 1000  # below this, the latency comparison is skipped (sample too small)
MEMORY_EVENTS = 1_000_000
FULL_TRACE_EVENTS = 100_000  # trace: full keeps every operation: limited to 100,000 per run
SCALING_EVENTS = (10_000, 100_000, 1_000_000)
SWEEP_RUNS = 8
SWEEP_EVENTS = 20_000


@dataclass
class RunResult:
    """One timed run of one pipeline."""

    pipeline: str
    events: int
    """Business events generated (Poisson, so close to, not exactly, the requested count)."""
    processed: int
    """Distinct events whose effect reached the sink."""
    seconds: float
    """Wall seconds of the timed part (perf_counter)."""
    latency_mean: float
    """Mean simulated creation-to-effect latency (seconds): both must simulate the same system."""
    duplicates: int = 0
    """Effects beyond the first (lost acknowledgements): about 1% in both."""
    gc_seconds: float = field(default=0.0)
    """Of ``seconds``, the wall time spent in Python's cyclic garbage collector."""
    cpu_seconds: float = field(default=0.0)
    """CPU seconds of this process over the same span (``time.process_time``): time the
    machine gave to other guests or processes is not in it, so it varies less than ``seconds``."""

    @property
    def per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("nan")


class UnfairComparison(RuntimeError):
    """The pipelines did not simulate the same thing, so their timings cannot be compared."""


@contextmanager
def gc_timer() -> Iterator[list[float]]:
    """Wall seconds spent in the cyclic garbage collector while the block runs (``[total]``)."""
    total = [0.0]
    began = [0.0]

    def callback(phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            began[0] = time.perf_counter()
        else:
            total[0] += time.perf_counter() - began[0]

    gc.callbacks.append(callback)
    try:
        yield total
    finally:
        gc.callbacks.remove(callback)


# --------------------------------------------------------------------------- the baseline


def poisson_times(rng: np.random.Generator, rate: float, duration: float) -> np.ndarray:
    """Arrival times of a Poisson process on [0, duration)."""
    chunks: list[np.ndarray] = []
    t = 0.0
    size = int(rate * duration * 1.1) + 16
    while True:
        times = t + np.cumsum(rng.exponential(1.0 / rate, size=size))
        chunks.append(times[times < duration])
        if times[-1] >= duration:
            return np.concatenate(chunks)
        t = float(times[-1])


def run_baseline(events: int, seed: int = SEED) -> RunResult:
    """The hand-written SimPy pipeline, timed from drawing the numbers to the end."""
    with gc_timer() as gc_seconds:
        started, cpu = time.perf_counter(), time.process_time()
        result = _baseline(events, seed)
        result.seconds = time.perf_counter() - started
        result.cpu_seconds = time.process_time() - cpu
    result.gc_seconds = gc_seconds[0]
    return result


class _Baseline:
    """The producer, the broker's partition and the consumer of the hand-written pipeline."""

    def __init__(self, events: int, seed: int) -> None:
        arrival_rng, drop_rng, process_rng = (
            np.random.Generator(np.random.PCG64(s)) for s in np.random.SeedSequence(seed).spawn(3)
        )
        self.times = poisson_times(arrival_rng, RATE, events / RATE).tolist()
        n = len(self.times)
        self.work = process_rng.exponential(PROCESS_MEAN, size=n).tolist()
        self.drop_rng = drop_rng
        self.draws: list[float] = []
        self.env = simpy.Environment()
        self.acked = bytearray(n)
        self.log: list[int] = []  # the partition: event ids
        self.parked: list[simpy.Event] = []  # the consumer's long poll
        self.sink: dict[int, int] = {}  # event id -> effects applied
        self.latency_total = 0.0

    def dropped(self) -> bool:
        if not self.draws:
            self.draws = self.drop_rng.random(4096).tolist()
        return self.draws.pop() < DROP

    def send(self, eid: int) -> None:
        """A produce request, and its resend timer."""
        timeout = self.env.timeout
        if not self.dropped():
            timeout(LINK).callbacks.append(lambda _e: self.append(eid))
        timeout(RETRY).callbacks.append(lambda _e: self.unless_acked(eid))

    def unless_acked(self, eid: int) -> None:
        """The resend timer: resend unless the acknowledgement came."""
        if not self.acked[eid]:
            self.send(eid)

    def append(self, eid: int) -> None:
        self.log.append(eid)
        if self.parked:
            self.parked.pop().succeed()
        if not self.dropped():  # the acknowledgement
            self.env.timeout(LINK).callbacks.append(lambda _e: self.acked.__setitem__(eid, 1))

    def producer(self) -> Any:
        env = self.env
        for eid, created in enumerate(self.times):
            yield env.timeout(created - env.now)
            self.send(eid)

    def consumer(self) -> Any:
        env, log, sink, work, times = self.env, self.log, self.sink, self.work, self.times
        position = 0
        while True:
            yield env.timeout(LINK)  # the fetch request
            while position == len(log):
                wake = env.event()
                self.parked.append(wake)
                yield wake
            batch = log[position : position + MAX_POLL]
            position += len(batch)
            yield env.timeout(LINK)  # the fetch response
            for eid in batch:  # process, then apply the effect (the sink hop is free)
                yield env.timeout(work[eid])
                if eid in sink:
                    sink[eid] += 1
                else:
                    sink[eid] = 1
                    self.latency_total += env.now - times[eid]


def _baseline(events: int, seed: int) -> RunResult:
    b = _Baseline(events, seed)
    b.env.process(b.producer())
    b.env.process(b.consumer())
    b.env.run(until=events / RATE + DRAIN)
    processed = len(b.sink)
    return RunResult(
        "baseline (hand-written SimPy)",
        len(b.times),
        processed,
        0.0,
        b.latency_total / processed if processed else float("nan"),
        sum(b.sink.values()) - processed,
    )


# --------------------------------------------------------------------------- msgsim


def msgsim_config(events: int, trace: str = "summary", seed: int = SEED) -> dict[str, Any]:
    """The baseline's scenario as an msgsim experiment config (one run)."""
    window = {"at": 0, "duration": events / RATE + DRAIN}
    return {
        "name": "bench-pipeline",
        "seed": seed,
        "replications": 1,
        "duration": events / RATE,
        "drain": DRAIN,
        "trace": trace,
        "strategies": ["at-least-once"],
        "workload": {
            "producers": 1,
            "rate": RATE,
            "process_time": {"dist": "exponential", "mean": PROCESS_MEAN},
        },
        "producer": {"request_timeout": RETRY, "backoff": {"initial": 0}},
        "broker": {"max_poll_records": MAX_POLL},
        "topology": {
            "brokers": 1,
            "partitions": 1,
            "consumers": 1,
            "network": {"latency": LINK, "links": {"consumer-*<->sink": {"latency": 0}}},
        },
        "faults": [
            {"kind": "drop", "link": "producer-0->broker-0", "probability": DROP, **window},
            {"kind": "drop", "link": "broker-0->producer-0", "probability": DROP, **window},
        ],
    }


def run_msgsim(events: int, trace: str = "summary", seed: int = SEED) -> RunResult:
    """The same scenario through msgsim; only ``execute_spec`` is timed."""
    cfg = sim.ExperimentConfig.model_validate(msgsim_config(events, trace, seed))
    specs, _faults = plan(cfg)
    if len(specs) != 1:
        raise UnfairComparison(f"expected one planned run, got {len(specs)}")
    with gc_timer() as gc_seconds:
        started, cpu = time.perf_counter(), time.process_time()
        out = execute_spec(specs[0])
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu
    row = out.rows[0]
    return RunResult(
        f"msgsim trace {trace}",
        int(row["intended"]),
        int(row["processed"]),
        seconds,
        float(row["latency_mean"]),
        int(row["duplicates"]),
        gc_seconds[0],
        cpu_seconds,
    )


# --------------------------------------------------------------------------- measuring


def best_of(runs: list[Callable[[], RunResult]], repeat: int) -> list[RunResult]:
    """The fastest of ``repeat`` runs of each pipeline (same seed, so the same simulated work
    every time). Rounds are interleaved (A B C, A B C, ...) so that no pipeline alone gets the
    cold first run or a quiet or busy spell of the machine."""
    rounds = [[run() for run in runs] for _ in range(max(1, repeat))]
    return [min(column, key=lambda r: r.seconds) for column in zip(*rounds, strict=True)]


def check_fair(results: list[RunResult]) -> None:
    """Raise :class:`UnfairComparison` unless every pipeline processed (almost) all its events
    and the mean latencies agree (so they simulated the same system; checked from
    ``LATENCY_MIN_EVENTS`` events on)."""
    problems = []
    for r in results:
        if r.events == 0 or r.processed < MIN_PROCESSED * r.events:
            problems.append(f"{r.pipeline} processed {r.processed} of {r.events} events")
    base = results[0].latency_mean
    for r in results[1:]:
        if min(r.events, results[0].events) < LATENCY_MIN_EVENTS:
            continue  # too few events for the sample means to be comparable
        if not abs(r.latency_mean - base) <= LATENCY_TOLERANCE * base:
            problems.append(
                f"{r.pipeline} mean latency {r.latency_mean * 1e3:.3f} ms vs "
                f"baseline {base * 1e3:.3f} ms"
            )
    if problems:
        raise UnfairComparison("; ".join(problems))


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "simpy": simpy.__version__,
        "numpy": np.__version__,
        "msgsim_build": msgsim_build(),
    }


def msgsim_build() -> str:
    """``compiled`` (the run's modules compiled by Cython: sim/compiled.py), or ``pure``
    (``MSGSIM_PURE=1``, or no compiler at install)."""
    importlib.import_module("sim.experiment.run")
    return sim.compiled.build()


def measure(events: int, repeat: int, seed: int = SEED) -> dict[str, Any]:
    """Run the baseline and msgsim at every trace level, check the comparison is fair, and
    return the figures."""
    runs: list[Callable[[], RunResult]] = [lambda: run_baseline(events, seed)]
    runs += [
        lambda t=trace: run_msgsim(min(events, FULL_TRACE_EVENTS), t, seed) for trace in TRACES
    ]
    results = best_of(runs, repeat)
    check_fair(results)
    base = results[0].per_second
    ratio = results[1].per_second / base
    return {
        "events_requested": events,
        "repeat": repeat,
        "seed": seed,
        "machine": machine(),
        "results": [
            {**asdict(r), "events_per_second": r.per_second, "ratio": r.per_second / base}
            for r in results
        ],
        "goal_ratio": GOAL_RATIO,
        "floor_ratio": FLOOR_RATIO,
        "ratio": ratio,
        "goal_met": ratio >= GOAL_RATIO,
        "floor_met": ratio >= FLOOR_RATIO,
    }


def table(report: dict[str, Any]) -> str:
    lines = [
        f"msgsim build: {report['machine']['msgsim_build']} (MSGSIM_PURE=1 runs it as pure Python)",
        f"{'pipeline':<30} {'events':>7} {'processed':>9} {'dups':>5} {'best s':>8} "
        f"{'of it GC':>8} {'events/s':>9} {'latency ms':>10} {'ratio':>6}",
    ]
    for r in report["results"]:
        lines.append(
            f"{r['pipeline']:<30} {r['events']:>7} {r['processed']:>9} {r['duplicates']:>5} "
            f"{r['seconds']:>8.3f} {r['gc_seconds']:>8.3f} {r['events_per_second']:>9,.0f} "
            f"{r['latency_mean'] * 1e3:>10.3f} {r['ratio']:>5.2f}x"
        )
    verdict = "met" if report["goal_met"] else "NOT met"
    floor = "met" if report["floor_met"] else "NOT met"
    lines.append(
        f"goal: msgsim at trace summary at least {report['goal_ratio']:g}x the baseline's "
        f"events/s (floor {report['floor_ratio']:g}x); measured {report['ratio']:.2f}x "
        f"(goal {verdict}, floor {floor})"
    )
    return "\n".join(lines)


def profile(events: int, trace: str = "summary", top: int = 15) -> str:
    """cProfile of one msgsim run: the ``top`` functions by own time."""
    cfg = sim.ExperimentConfig.model_validate(msgsim_config(events, trace))
    (spec,), _faults = plan(cfg)
    prof = cProfile.Profile()
    prof.runcall(execute_spec, spec)
    buf = io.StringIO()
    if msgsim_build() != "pure":
        buf.write("(compiled functions are invisible to cProfile: MSGSIM_PURE=1 profiles them)\n")
    pstats.Stats(prof, stream=buf).strip_dirs().sort_stats("tottime").print_stats(top)
    return buf.getvalue()


# --------------------------------------------------------------------------- in child processes


def peak_mb() -> float:
    """This process's peak resident memory so far, in MB: ``VmHWM`` of ``/proc/self/status``
    (``ru_maxrss`` would do, but a child started by a large parent inherits its figure)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_run(events: int, trace: str) -> dict[str, Any]:
    """One msgsim run in this (fresh) process: its speed and this process's peak memory."""
    before = peak_mb()
    r = run_msgsim(events, trace)
    return {
        "trace": trace,
        "requested": events,
        "events": r.events,
        "seconds": r.seconds,
        "events_per_second": r.per_second,
        "us_per_event": r.seconds / r.events * 1e6,
        "cpu_us_per_event": r.cpu_seconds / r.events * 1e6,
        "peak_mb": peak_mb(),
        "peak_mb_before_run": before,
    }


def in_child(events: int, trace: str) -> dict[str, Any]:
    """:func:`child_run` in a fresh Python process (so its peak memory is its own)."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(events), trace],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def memory(events: int) -> list[dict[str, Any]]:
    """Peak memory of one run of ``events`` at each trace level (``full`` at most
    ``FULL_TRACE_EVENTS``, its limit per run)."""
    return [in_child(events if t != "full" else min(events, FULL_TRACE_EVENTS), t) for t in TRACES]


def scaling(
    sizes: tuple[int, ...] = SCALING_EVENTS, repeat: int = 1, known: Sequence[dict[str, Any]] = ()
) -> list[dict[str, Any]]:
    """Cost per event at trace summary for runs of each size, each size ``repeat`` times in
    interleaved rounds, the run of least CPU time per event kept (a run of ``known`` of the
    same size and trace counts as one of them)."""
    repeat = max(1, repeat)
    runs: dict[int, list[dict[str, Any]]] = {n: [] for n in sizes}
    for r in known:
        if r["trace"] == "summary" and r["requested"] in runs:
            runs[r["requested"]].append(r)
    for _ in range(repeat):
        for n in sizes:
            if len(runs[n]) < repeat:
                runs[n].append(in_child(n, "summary"))
    return [min(runs[n], key=lambda r: r["cpu_us_per_event"]) for n in sizes]


def figures_table(title: str, rows: list[dict[str, Any]]) -> str:
    lines = [
        title,
        f"{'trace':<9} {'events':>10} {'wall s':>8} {'events/s':>9} {'us/event':>9} "
        f"{'CPU us/ev':>9} {'peak MB':>8} {'MB before run':>13} {'bytes/event':>11}",
    ]
    for r in rows:
        per = (r["peak_mb"] - r["peak_mb_before_run"]) * 2**20 / r["events"]
        lines.append(
            f"{r['trace']:<9} {r['events']:>10,} {r['seconds']:>8.1f} "
            f"{r['events_per_second']:>9,.0f} {r['us_per_event']:>9.1f} "
            f"{r['cpu_us_per_event']:>9.1f} {r['peak_mb']:>8.0f} "
            f"{r['peak_mb_before_run']:>13.0f} {per:>11,.0f}"
        )
    if title.startswith("cost"):
        for key, what in (("us_per_event", "wall"), ("cpu_us_per_event", "CPU")):
            costs = [r[key] for r in rows]
            lines.append(
                f"{what} cost per event, highest over lowest across the sizes: "
                f"{max(costs) / min(costs) - 1:+.0%} (goal: within 20%)"
            )
    return "\n".join(lines)


# --------------------------------------------------------------------------- the kernel's share


@contextmanager
def counting_kernel_events() -> Iterator[list[int]]:
    """Count every entry the kernel pops off its queue while the block runs (``[count]``, once
    the block is over): each is one step (its callbacks run). A plain SimPy environment's
    are counted as SimPy pops them (``heappop``); msgsim's clock counts its own (its agenda's
    ``popped``: SimPy events and msgsim's plain timer entries alike), read from every clock
    a run made in the block. Slows the plain SimPy run: never inside a timed one."""
    import simpy.core

    import sim.experiment.run
    from sim.model.clock import Clock

    count = [0]
    original_pop, original_clock = simpy.core.heappop, sim.experiment.run.Clock
    clocks: list[Clock] = []

    def counting(queue: list[Any], pop: Callable[[list[Any]], Any] = original_pop) -> Any:
        entry = pop(queue)  # (an empty queue raises: not a step)
        count[0] += 1
        return entry

    class CountedClock(Clock):
        def __init__(self, initial_time: float = 0) -> None:
            super().__init__(initial_time)
            clocks.append(self)

    simpy.core.heappop = counting  # type: ignore[attr-defined]
    sim.experiment.run.Clock = CountedClock  # type: ignore[misc]
    try:
        yield count
    finally:
        simpy.core.heappop = original_pop  # type: ignore[attr-defined]
        sim.experiment.run.Clock = original_clock  # type: ignore[misc]
        count[0] += sum(clock._queue.popped for clock in clocks)


def kernel_step_seconds(steps: int = 200_000, repeat: int = 3) -> float:
    """Wall seconds of one SimPy step doing nothing else: a process that, each round, starts a
    timer with an empty callback and waits on another (the two kinds of step both pipelines are
    made of). Best of ``repeat``."""

    def one() -> float:
        env = simpy.Environment()

        def nothing(_event: Any) -> None:
            pass

        def rounds() -> Any:
            for _ in range(steps // 2):
                env.timeout(0.001).callbacks.append(nothing)
                yield env.timeout(0.0001)

        env.process(rounds())
        started = time.perf_counter()
        env.run()
        return (time.perf_counter() - started) / steps

    return min(one() for _ in range(repeat))


def kernel(events: int, baseline_us: float) -> dict[str, Any]:
    """SimPy steps per business event in each pipeline, what a step costs alone, and so the
    cost of msgsim's steps alone against the baseline's whole cost per event: the best ratio
    msgsim could reach if its model, recording and checking cost nothing."""
    with counting_kernel_events() as count:
        base = _baseline(events, SEED)
    base_steps = count[0] / base.events
    with counting_kernel_events() as count:
        mine = run_msgsim(events, "summary")
    steps = count[0] / mine.events
    step_us = kernel_step_seconds() * 1e6
    return {
        "baseline_steps_per_event": base_steps,
        "msgsim_steps_per_event": steps,
        "step_us": step_us,
        "baseline_us_per_event": baseline_us,
        "msgsim_kernel_us_per_event": steps * step_us,
        "best_possible_ratio": baseline_us / (steps * step_us),
    }


def kernel_table(k: dict[str, Any]) -> str:
    return "\n".join(
        [
            "SimPy steps per event: baseline "
            f"{k['baseline_steps_per_event']:.1f}, msgsim {k['msgsim_steps_per_event']:.1f}; "
            f"one step alone costs {k['step_us']:.2f} us",
            f"msgsim's steps alone: {k['msgsim_kernel_us_per_event']:.1f} us an event, against "
            f"{k['baseline_us_per_event']:.1f} us for the whole baseline: with no model, "
            f"recording or checking at all msgsim would reach {k['best_possible_ratio']:.2f}x",
        ]
    )


# --------------------------------------------------------------------------- the sweep


def sweep_config(events: int) -> dict[str, Any]:
    cfg = msgsim_config(events, "summary")
    cfg["replications"] = SWEEP_RUNS
    return cfg


def sweep(events: int, rounds: int = 1) -> list[dict[str, Any]]:
    """8 equal runs (replications), ``rounds`` times in turn (a noisy machine moves a single
    measurement a lot), each round timing:

    * ``sim.run`` with 1 and 2 worker processes, wall seconds including starting the workers.
      The workers are forked by a server that imports the simulator first
      (``sim/core/workers.py``); it starts with the first pool of the process and stays, so
      round 1 is *cold* (the server's imports are timed) and later rounds *warm*, as a
      notebook's second sweep is;
    * a Dask LocalCluster of 2 single-threaded workers with their profiler off (as the README
      advises), started before its timing (warm) and closed after it, so that its scheduler
      does not share the parent's core with the single worker;
    * the command line, ``msgsim run`` with ``--workers 1`` and ``2``, each a new process:
      what a user waits for, its own start and imports included.

    Beside each wall time, the runs' own seconds (their ``wall_seconds``, summed), which tell
    a run slowed by another beside it from time spent outside the runs."""
    try:
        import dask
        from dask.distributed import LocalCluster
    except ImportError:
        LocalCluster = None
    out: list[dict[str, Any]] = []

    def add(how: str, round_: int, workers: int, seconds: float, summary: Any) -> None:
        assert len(summary) == SWEEP_RUNS
        run_seconds = float(summary["wall_seconds"].sum())
        out.append(
            {
                "how": how,
                "round": round_,
                "workers": workers,
                "seconds": seconds,
                "run_seconds": run_seconds,
            }
        )

    def api(how: str, round_: int, parallel: int, **where: Any) -> None:
        started = time.perf_counter()
        res = sim.run(sweep_config(events), progress=False, charts=False, **where)
        seconds = time.perf_counter() - started
        assert not res.errors
        add(how, round_, parallel, seconds, res.summary)

    def cli(round_: int, workers: int, folder: Path) -> None:
        config = folder / "sweep.yaml"
        results = folder / f"r{round_}w{workers}"
        command = [sys.executable, "-m", "sim", "run", str(config), "--workers", str(workers)]
        command += ["--no-charts", "--no-progress", "--out", str(results)]
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        add(
            f"msgsim run, {workers} worker(s)",
            round_,
            workers,
            seconds,
            pd.read_csv(results / "summary.csv"),
        )

    with tempfile.TemporaryDirectory(prefix="msgsim-bench-") as tmp:
        (Path(tmp) / "sweep.yaml").write_text(json.dumps(sweep_config(events)))  # JSON is YAML
        for round_ in range(1, rounds + 1):
            api("1 worker(s)", round_, 1, workers=1)
            api(f"2 worker(s), {'cold' if round_ == 1 else 'warm'}", round_, 2, workers=2)
            if LocalCluster is not None:
                # as the README advises: a worker's profiler samples the task's stack every 10 ms
                with dask.config.set({"distributed.worker.profile.enabled": False}):
                    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster:
                        address = cluster.scheduler_address
                        api("Dask LocalCluster, 2 workers", round_, 2, dask=address)
            cli(round_, 1, Path(tmp))
            cli(round_, 2, Path(tmp))
    return out


def sweep_table(rows: list[dict[str, Any]], events: int) -> str:
    """The sweep's wall times and speed-ups (each against the single worker of its round and
    kind: ``sim.run`` or the command line), the median of each over the rounds, and where a
    parallel sweep's time went: how much longer its runs took side by side than one at a time
    (the cores share caches and memory, and on a virtual machine perhaps one physical core),
    and the seconds spent outside the runs (starting workers, importing, handing results
    back) beyond the single worker's."""
    lines = [
        f"sweep: {SWEEP_RUNS} runs of {events:,} events, trace summary",
        f"{'':<30} {'round':>5} {'wall':>8} {'runs own':>9}  speed-up  runs slower  outside",
    ]
    speedups: dict[str, list[float]] = {}
    single: dict[bool, dict[str, Any]] = {}
    for r in rows:
        command_line = r["how"].startswith("msgsim run")
        if r["workers"] == 1:
            single[command_line] = r
        one = single[command_line]
        speedup = one["seconds"] / r["seconds"]
        line = (
            f"{r['how']:<30} {r.get('round', 1):>5} {r['seconds']:>6.1f} s"
            f" {r['run_seconds']:>7.1f} s  {speedup:>7.2f}x"
        )
        if r is not one:
            speedups.setdefault(r["how"], []).append(speedup)
            slower = r["run_seconds"] / one["run_seconds"] - 1
            outside_one = one["seconds"] - one["run_seconds"]
            outside = r["seconds"] - r["run_seconds"] / r["workers"] - outside_one
            line += f"  {slower:>+10.0%}  {outside:>+5.1f} s"
        lines.append(line)
    for how, values in speedups.items():
        if len(values) > 1:
            lines.append(f"{how}: median speed-up {statistics.median(values):.2f}x")
    lines.append(
        "(runs slower: the runs' own seconds against the single worker's; outside: seconds not"
        " in any run, beyond the single worker's)"
    )
    lines.append("goal: 2 workers at least 1.7x faster than 1")
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=20_000, help="events per run (20000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per pipeline, best counts")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--profile", action="store_true", help="cProfile one msgsim run")
    parser.add_argument("--memory", action="store_true", help="peak memory per trace level")
    parser.add_argument("--memory-events", type=int, default=MEMORY_EVENTS)
    parser.add_argument("--scaling", action="store_true", help="cost per event at 1e4..1e6")
    parser.add_argument(
        "--scaling-repeat", type=int, default=2, help="runs per size for --scaling, best counts"
    )
    parser.add_argument(
        "--kernel", action="store_true", help="SimPy events per event and their price alone"
    )
    parser.add_argument("--sweep", action="store_true", help="8 runs on 1 and 2 workers, Dask")
    parser.add_argument("--sweep-events", type=int, default=SWEEP_EVENTS)
    parser.add_argument(
        "--sweep-rounds", type=int, default=1, help="measure the sweep this many times in turn"
    )
    parser.add_argument("--all", action="store_true", help="everything (make bench)")
    parser.add_argument("--child", nargs=2, metavar=("EVENTS", "TRACE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.events < 1 or args.repeat < 1 or args.sweep_rounds < 1:
        parser.error("--events, --repeat and --sweep-rounds must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.child:
        print(json.dumps(child_run(int(args.child[0]), args.child[1])))
        return 0
    try:
        report = measure(args.events, args.repeat)
    except UnfairComparison as exc:
        print(f"bench_pipeline: unfair comparison: {exc}", file=sys.stderr)
        return 1
    print(table(report))
    if args.memory or args.all:
        report["memory"] = memory(args.memory_events)
        print("\n" + figures_table("peak memory of one run per trace level", report["memory"]))
    if args.scaling or args.all:
        report["scaling"] = scaling(repeat=args.scaling_repeat, known=report.get("memory", []))
        print("\n" + figures_table("cost per event by run size", report["scaling"]))
    if args.kernel or args.all:
        base = report["results"][0]
        report["kernel"] = kernel(args.events, base["seconds"] / base["events"] * 1e6)
        print("\n" + kernel_table(report["kernel"]))
    if args.sweep or args.all:
        report["sweep"] = sweep(args.sweep_events, args.sweep_rounds)
        print("\n" + sweep_table(report["sweep"], args.sweep_events))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")
    if args.profile:
        print()
        print(profile(args.events))
    return 0


if __name__ == "__main__":
    sys.exit(main())
