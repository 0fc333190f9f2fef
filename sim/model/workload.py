"""The workload: business events drawn from the seed before a run, made as the run goes.

Arrival times, keys and processing times depend only on the replication seed and the
workload config, never on the strategy, so every strategy sees the same events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NamedTuple

import numpy as np

from ..config.models import ExperimentConfig
from ..core.eids import name as event_name
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


_new_tuple = tuple.__new__
"""Makes a named tuple without its ``__new__`` (a Python function, even compiled)."""


def materialise_workload(cfg: ExperimentConfig, streams: Streams) -> list[Iterator[Arrival]]:
    """One stream of arrivals per producer, in time order.

    Nothing is drawn ahead of the run more than a block at a time: arrival times, keys and
    poison and abort flags are drawn in blocks of :data:`BLOCK` events as the run reaches
    them, each :class:`Arrival` and its processing time when it is due, so a day of events
    costs the memory of one block, not a few bytes an event. Each quantity comes from a
    stream of its own, one draw per event in order, and a numpy generator gives the same
    values whether asked for them one block at a time or all at once (tested): the events do
    not depend on the block size."""
    w = cfg.workload
    out: list[Iterator[Arrival]] = []
    for i in range(w.producers):
        if w.arrivals is not None:
            explicit = np.array([t for t in w.arrivals if t < cfg.duration], dtype=float)
            times = iter([explicit] if len(explicit) else [])
        else:
            times = poisson_blocks(streams(f"workload/arrivals/producer-{i}"), w.rate, cfg.duration)
        out.append(
            _arrivals(
                i,
                times,
                key_sampler(streams(f"workload/keys/producer-{i}"), w.keys, w.key_skew),
                w.process_time.sampler(streams(f"workload/process/producer-{i}")),
                streams(f"workload/poison/producer-{i}"),
                w.poison_probability,
                streams(f"workload/abort/producer-{i}"),
                w.abort_probability,
            )
        )
    return out


BLOCK = 8192
"""Events drawn at a time."""


def _arrivals(
    i: int,
    times: Iterator[np.ndarray],
    keys: Callable[[int], np.ndarray],
    process_time: Callable[[], float],
    poison_rng: np.random.Generator,
    poison_probability: float,
    abort_rng: np.random.Generator,
    abort_probability: float,
) -> Iterator[Arrival]:
    """Producer ``i``'s arrivals, made one at a time from blocks of arrival times."""
    j = 0
    for block in times:
        n = len(block)
        poison = (poison_rng.random(n) < poison_probability).tolist()
        aborts = (abort_rng.random(n) < abort_probability).tolist()
        for t, key, bad, abort in zip(
            block.tolist(), keys(n).tolist(), poison, aborts, strict=True
        ):
            arrival = (event_name(i, j), i, t, key, float(process_time()), bad, abort)
            yield _new_tuple(Arrival, arrival)  # (Arrival(*arrival), without its Python frame)
            j += 1


def poisson_blocks(
    rng: np.random.Generator, rate: float, duration: float, chunk: int | None = None
) -> Iterator[np.ndarray]:
    """Poisson arrival times in ``[0, duration)``, a block at a time.

    The times are those of drawing ``chunk`` exponential gaps at once (by default 10% more
    than the expected count: one chunk, almost always) and adding their running sum to the
    last time of the chunk before; a chunk is drawn :data:`BLOCK` gaps at a time, its running
    sum carried from block to block, which adds the same numbers in the same order."""
    if rate <= 0:
        return
    if chunk is None:
        chunk = max(16, int(rate * duration * 1.1) + 16)
    t = 0.0
    while True:
        carry = 0.0
        left = chunk
        while left:
            n = min(BLOCK, left)
            sums = np.cumsum(np.concatenate(([carry], rng.exponential(1.0 / rate, size=n))))[1:]
            times = t + sums
            if times[-1] >= duration:
                yield times[times < duration]
                return  # times only grow: every later one is past the end too
            yield times
            carry = float(sums[-1])
            left -= n
        t = t + carry


def key_sampler(
    rng: np.random.Generator, keys: int, skew: float | None
) -> Callable[[int], np.ndarray]:
    """Draws of ``n`` keys at a time: uniform over ``keys``, or Zipf-like with ``skew``."""
    if skew is None:
        return lambda n: rng.integers(0, keys, size=n)
    weights = 1.0 / np.arange(1, keys + 1) ** skew
    p = weights / weights.sum()
    return lambda n: rng.choice(keys, size=n, p=p)
