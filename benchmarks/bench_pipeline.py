"""Benchmark: msgsim against a hand-written SimPy pipeline of the same scenario.

Goal: a run of msgsim's ``at-most-once`` strategy costs at most **25x** the wall time of the
hand-written SimPy baseline below, per simulated business event (the ratio
``msgsim / baseline`` of wall seconds per 10,000 events, best of R repeats). The goal is a
ratio, not an absolute time, so it holds on any machine; the script reports the measured
ratio and whether the goal is met. ``at-least-once`` is measured too, for information.

The scenario (no faults): one producer with Poisson arrivals at 1000 events/s; a network hop
producer -> broker with exponential latency (mean 1 ms, FIFO link); a broker with one
partition that appends to a list; one long-polling consumer that commits on receipt
(at-most-once), takes an exponential processing time (mean 0.5 ms) and applies the event's
effect to a dict (the sink). With rho = 0.5 the consumer is an M/M/1 server, so both
pipelines should report a mean creation-to-effect latency near 1 ms (hop) + 1 ms (sojourn).

* The **baseline** is the least SimPy code that simulates that: arrays of random numbers
  drawn up front from seeded numpy Generators, one producer process, timeout callbacks
  for the hop, one consumer process.
* **msgsim** runs the same scenario through its public config and its experiment layer:
  ``sim.ExperimentConfig.model_validate({...})`` (1 producer, 1 broker, 1 partition,
  1 consumer, trace ``summary``), ``sim.experiment.plan(cfg)``, then
  ``sim.experiment.execute_spec(spec)`` in this process (no process pool). msgsim's other
  links (consumer <-> broker, consumer <-> sink, broker -> producer acks) get zero latency so
  the simulated system matches the baseline's; msgsim still exchanges every protocol message
  (fetch, offset commit, sink transaction, acks), records the history and checks it, and
  that bookkeeping is what the ratio measures. The timed part is ``execute_spec`` (config
  validation, world construction, simulation, history check); ``plan`` is not timed.

Both pipelines must process (almost) every event they generate, and their mean latencies
must agree, or the comparison is reported as unfair and the script exits with status 1.

Usage::

    python benchmarks/bench_pipeline.py [--events N] [--repeat R] [--json FILE] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import simpy

import sim
from sim.experiment import execute_spec, plan

RATE = 1000.0  # events per second (Poisson)
LATENCY_MEAN = 0.001  # producer -> broker hop, exponential
PROCESS_MEAN = 0.0005  # consumer processing time, exponential
DRAIN = 1.0  # simulated seconds after the last arrival, so the consumer empties the log
SEED = 7
PER = 10_000  # timings are reported per this many events
GOAL_RATIO = 25.0  # msgsim at-most-once / baseline, at most
MIN_PROCESSED = 0.999  # fraction of generated events each pipeline must process
LATENCY_TOLERANCE = 0.25  # relative gap allowed between the pipelines' mean latencies
LATENCY_MIN_EVENTS = 1000  # below this, the latency comparison is skipped (sample too small)
STRATEGIES = ("at-most-once", "at-least-once")


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
    gc_seconds: float = field(default=0.0)
    """Of ``seconds``, the wall time spent in Python's cyclic garbage collector."""

    @property
    def per_10k(self) -> float:
        return self.seconds / self.events * PER if self.events else float("nan")


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
    """The hand-written SimPy pipeline, at-most-once, timed from drawing the numbers to the end."""
    with gc_timer() as gc_seconds:
        started = time.perf_counter()
        result = _baseline(events, seed)
        result.seconds = time.perf_counter() - started
    result.gc_seconds = gc_seconds[0]
    return result


def _baseline(events: int, seed: int) -> RunResult:
    arrival_rng, latency_rng, process_rng = (
        np.random.Generator(np.random.PCG64(s)) for s in np.random.SeedSequence(seed).spawn(3)
    )
    duration = events / RATE
    times = poisson_times(arrival_rng, RATE, duration).tolist()
    n = len(times)
    hop = latency_rng.exponential(LATENCY_MEAN, size=n).tolist()
    work = process_rng.exponential(PROCESS_MEAN, size=n).tolist()

    env = simpy.Environment()
    partition: list[tuple[int, float]] = []  # the broker's one partition: (event id, created at)
    parked: list[simpy.Event] = []  # a consumer's long poll, waiting for an append
    sink: dict[int, int] = {}  # event id -> effects applied
    latency_total = [0.0]

    def append(record: tuple[int, float]) -> None:
        partition.append(record)
        if parked:
            parked.pop().succeed()

    def producer() -> Any:
        last_arrival = 0.0
        for eid, created in enumerate(times):
            yield env.timeout(created - env.now)
            # send once, no ack wait; the link is FIFO, as msgsim's links are
            last_arrival = max(created + hop[eid], last_arrival)
            env.timeout(last_arrival - created).callbacks.append(
                lambda _ev, rec=(eid, created): append(rec)
            )

    def consumer() -> Any:
        offset = 0  # committed offset
        while True:
            if offset == len(partition):
                wake = env.event()
                parked.append(wake)
                yield wake
                continue
            eid, created = partition[offset]
            offset += 1  # at-most-once: commit on receipt, then process
            yield env.timeout(work[eid])
            sink[eid] = sink.get(eid, 0) + 1
            latency_total[0] += env.now - created

    env.process(producer())
    env.process(consumer())
    env.run(until=duration + DRAIN)
    processed = len(sink)
    return RunResult(
        "baseline (hand-written SimPy)",
        n,
        processed,
        0.0,
        latency_total[0] / processed if processed else float("nan"),
    )


# --------------------------------------------------------------------------- msgsim


def msgsim_config(events: int, strategy: str, seed: int = SEED) -> dict[str, Any]:
    """The baseline's scenario as an msgsim experiment config (one run)."""
    return {
        "name": "bench-pipeline",
        "seed": seed,
        "replications": 1,
        "duration": events / RATE,
        "drain": DRAIN,
        "trace": "summary",
        "strategies": [strategy],
        "workload": {
            "producers": 1,
            "rate": RATE,
            "process_time": {"dist": "exponential", "mean": PROCESS_MEAN},
        },
        "topology": {
            "brokers": 1,
            "partitions": 1,
            "consumers": 1,
            "network": {
                "latency": 0,  # consumer <-> broker and consumer <-> sink: no hop in the baseline
                "links": {
                    "producer-*<->broker-*": {
                        "latency": {"dist": "exponential", "mean": LATENCY_MEAN},
                    },
                },
            },
        },
    }


def run_msgsim(events: int, strategy: str = "at-most-once", seed: int = SEED) -> RunResult:
    """The same scenario through msgsim; only ``execute_spec`` is timed."""
    cfg = sim.ExperimentConfig.model_validate(msgsim_config(events, strategy, seed))
    specs, _faults = plan(cfg)
    if len(specs) != 1:
        raise UnfairComparison(f"expected one planned run, got {len(specs)}")
    with gc_timer() as gc_seconds:
        started = time.perf_counter()
        out = execute_spec(specs[0])
        seconds = time.perf_counter() - started
    row = out.rows[0]
    return RunResult(
        f"msgsim {strategy}",
        int(row["intended"]),
        int(row["processed"]),
        seconds,
        float(row["latency_mean"]),
        gc_seconds[0],
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


def measure(events: int, repeat: int, seed: int = SEED) -> dict[str, Any]:
    """Run every pipeline, check the comparison is fair, and return the figures."""
    runs: list[Callable[[], RunResult]] = [lambda: run_baseline(events, seed)]
    runs += [lambda s=strategy: run_msgsim(events, s, seed) for strategy in STRATEGIES]
    results = best_of(runs, repeat)
    check_fair(results)
    base = results[0].per_10k
    ratios = {r.pipeline: r.per_10k / base for r in results}
    ratio = results[1].per_10k / base
    return {
        "events_requested": events,
        "repeat": repeat,
        "seed": seed,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "simpy": simpy.__version__,
            "numpy": np.__version__,
        },
        "results": [
            {**asdict(r), "seconds_per_10k": r.per_10k, "ratio": ratios[r.pipeline]}
            for r in results
        ],
        "goal_ratio": GOAL_RATIO,
        "ratio": ratio,
        "goal_met": ratio <= GOAL_RATIO,
    }


def table(report: dict[str, Any]) -> str:
    lines = [
        f"{'pipeline':<30} {'events':>7} {'processed':>9} {'best s':>8} {'of it GC':>8} "
        f"{'s/10k events':>12} {'latency ms':>10} {'ratio':>7}"
    ]
    for r in report["results"]:
        lines.append(
            f"{r['pipeline']:<30} {r['events']:>7} {r['processed']:>9} {r['seconds']:>8.3f} "
            f"{r['gc_seconds']:>8.3f} {r['seconds_per_10k']:>12.4f} "
            f"{r['latency_mean'] * 1e3:>10.3f} {r['ratio']:>6.1f}x"
        )
    verdict = "met" if report["goal_met"] else "NOT met"
    lines.append(
        f"goal: msgsim at-most-once within {report['goal_ratio']:g}x of the baseline; "
        f"measured {report['ratio']:.1f}x ({verdict})"
    )
    return "\n".join(lines)


def profile(events: int, strategy: str = "at-most-once", top: int = 10) -> str:
    """cProfile of one msgsim run: the ``top`` functions by cumulative time."""
    cfg = sim.ExperimentConfig.model_validate(msgsim_config(events, strategy))
    (spec,), _faults = plan(cfg)
    prof = cProfile.Profile()
    prof.runcall(execute_spec, spec)
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).strip_dirs().sort_stats("cumulative").print_stats(top)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--events", type=int, default=20_000, help="business events per run (default 20000)"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per pipeline; the best counts (default 3)"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also print a cProfile of one msgsim at-most-once run (top cumulative)",
    )
    args = parser.parse_args(argv)
    if args.events < 1 or args.repeat < 1:
        parser.error("--events and --repeat must be positive")
    try:
        report = measure(args.events, args.repeat)
    except UnfairComparison as exc:
        print(f"bench_pipeline: unfair comparison: {exc}", file=sys.stderr)
        return 1
    print(table(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")
    if args.profile:
        print()
        print(profile(args.events))
    return 0


if __name__ == "__main__":
    sys.exit(main())
