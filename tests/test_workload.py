"""The workload is drawn a block at a time as the run goes, and gives the events a draw of
everything up front gives (the stored outputs were made that way)."""

from __future__ import annotations

import itertools
import tracemalloc

import numpy as np
import pytest

from sim.config import load_config
from sim.core.rng import Streams
from sim.model import workload
from sim.model.workload import materialise_workload, poisson_blocks


def _upfront_poisson(rng: np.random.Generator, rate: float, duration: float, chunk: int):
    """How the times were drawn before blocks: a chunk of gaps at once, its running sum
    added to the last time of the chunk before."""
    parts, t = [], 0.0
    while True:
        times = t + np.cumsum(rng.exponential(1.0 / rate, size=chunk))
        parts.append(times[times < duration])
        if times[-1] >= duration:
            return np.concatenate(parts)
        t = float(times[-1])


@pytest.mark.parametrize(
    ("rate", "duration", "chunk", "block"),
    [
        (58.0, 300.0, None, 8192),  # one chunk, several blocks
        (58.0, 300.0, None, 7),  # blocks of a few gaps
        (10.0, 50.0, 37, 5),  # several chunks, a block boundary inside each
        (10.0, 50.0, 40, 8),  # chunks a whole number of blocks
        (1000.0, 0.01, None, 8192),  # fewer gaps than a block
    ],
)
def test_blocks_give_the_times_of_one_draw(monkeypatch, rate, duration, chunk, block) -> None:
    monkeypatch.setattr(workload, "BLOCK", block)
    size = chunk if chunk is not None else max(16, int(rate * duration * 1.1) + 16)
    upfront = _upfront_poisson(np.random.default_rng(5), rate, duration, size)
    blocks = list(poisson_blocks(np.random.default_rng(5), rate, duration, chunk))
    got = np.concatenate(blocks)
    assert len(upfront) > 0
    assert got.tobytes() == upfront.tobytes()  # to the last bit
    assert all(len(b) <= block for b in blocks)


def _config(**workload_overrides):
    return load_config(
        {
            "duration": 200,
            "workload": {"producers": 2, "rate": 50, "keys": 100, **workload_overrides},
        }
    )


@pytest.mark.parametrize(
    "overrides",
    [{}, {"key_skew": 1.1, "poison_probability": 0.1}, {"arrivals": [0.25, 0.5, 3.0, 150.0]}],
)
def test_the_events_do_not_depend_on_the_block_size(monkeypatch, overrides) -> None:
    cfg = _config(**overrides)

    def events(block: int) -> list:
        monkeypatch.setattr(workload, "BLOCK", block)
        return [list(s) for s in materialise_workload(cfg, Streams(11))]

    big, small = events(1 << 20), events(3)
    assert big == small
    assert sum(len(s) for s in big) > 0


def test_a_day_of_events_is_not_drawn_ahead() -> None:
    """Ten million events' workload holds one block of each producer's, not the day."""
    cfg = load_config(
        {
            "duration": 86400,
            "trace": "summary",
            "strategies": ["at-least-once"],
            "workload": {"producers": 2, "rate": 58},
        }
    )
    tracemalloc.start()
    try:
        streams = materialise_workload(cfg, Streams(3))
        first = [list(itertools.islice(s, 10)) for s in streams]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [len(f) for f in first] == [10, 10]
    assert peak < 2_000_000, peak  # drawing the day up front took about 140 MB
