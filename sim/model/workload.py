"""The workload: business events drawn from the seed before a run, made as the run goes.

Arrival times, keys and processing times depend only on the replication seed and the
workload config, never on the strategy, so every strategy sees the same events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NamedTuple

import numpy as np

from ..config.models import ExperimentConfig
from ..core import eids
from ..core.rng import Streams


class Arrival(NamedTuple):
    eid: str
    producer: int
    time: float
    key: int
    process_time: float
    poison: bool = False
    aborts: bool = False
    """Its business transaction rolls back (database strategies only)."""


def materialise_workload(cfg: ExperimentConfig, streams: Streams) -> list[Iterator[Arrival]]:
    """One stream of arrivals per producer, in time order.

    The arrival times, keys and poison and abort flags are drawn up front, as arrays (a few
    bytes per event); each :class:`Arrival` and its processing time are made only when the
    run reaches it, so a long run does not hold every future event as an object. The
    processing times come from a stream of their own, one draw per event in order, so
    drawing them as the run goes (through the distribution's block sampler, which gives the
    same values as one draw at a time) gives the same values as drawing them all first."""
    w = cfg.workload
    out: list[Iterator[Arrival]] = []
    for i in range(w.producers):
        if w.arrivals is not None:
            times = np.array([t for t in w.arrivals if t < cfg.duration], dtype=float)
        else:
            times = _poisson_times(streams(f"workload/arrivals/producer-{i}"), w.rate, cfg.duration)
        n = len(times)
        keys = _keys(streams(f"workload/keys/producer-{i}"), n, w.keys, w.key_skew)
        if n and int(keys.max()) < 2**31:
            keys = keys.astype(np.int32)  # the same values, in half the memory
        prng = streams(f"workload/process/producer-{i}")
        poison = streams(f"workload/poison/producer-{i}").random(n) < w.poison_probability
        aborts = streams(f"workload/abort/producer-{i}").random(n) < w.abort_probability
        out.append(_arrivals(i, times, keys, w.process_time.sampler(prng), poison, aborts))
    return out


def _arrivals(
    i: int,
    times: np.ndarray,
    keys: np.ndarray,
    process_time: Callable[[], float],
    poison: np.ndarray,
    aborts: np.ndarray,
) -> Iterator[Arrival]:
    """Producer ``i``'s arrivals, made one at a time."""
    for j in range(len(times)):
        yield Arrival(
            eids.name(i, j),
            i,
            float(times[j]),
            int(keys[j]),
            float(process_time()),
            bool(poison[j]),
            bool(aborts[j]),
        )


def _poisson_times(rng: np.random.Generator, rate: float, duration: float) -> np.ndarray:
    if rate <= 0:
        return np.empty(0)
    chunks: list[np.ndarray] = []
    t = 0.0
    expected = max(16, int(rate * duration * 1.1) + 16)
    while True:
        gaps = rng.exponential(1.0 / rate, size=expected)
        times = t + np.cumsum(gaps)
        chunks.append(times[times < duration])
        if times[-1] >= duration:
            break
        t = float(times[-1])
    return np.concatenate(chunks)


def _keys(rng: np.random.Generator, n: int, keys: int, skew: float | None) -> np.ndarray:
    if skew is None:
        return rng.integers(0, keys, size=n)
    weights = 1.0 / np.arange(1, keys + 1) ** skew
    return rng.choice(keys, size=n, p=weights / weights.sum())
