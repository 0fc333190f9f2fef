"""Random draws on a run's hot path, a block at a time (compiled with the run: ``sim/compiled.py``;
the distributions themselves are config models, ``distributions.py``)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np


class BlockDraws:
    """Draws from ``draw(size)`` a block at a time: the same sequence as one draw per call
    of a fresh generator, at a fraction of the per-call cost."""

    __slots__ = ("_draw", "_block", "_i")

    def __init__(
        self, rng: np.random.Generator, draw: Callable[..., np.ndarray], size: int = 512
    ) -> None:
        self._draw = partial(draw, size=size)
        self._block: list[float] = []
        self._i = 0

    def draw(self) -> float:
        """The next value (hold the bound method: calling the object itself is slower)."""
        if self._i >= len(self._block):
            self._block = self._draw().tolist()
            self._i = 0
        x = self._block[self._i]
        self._i += 1
        return x

    __call__ = draw


def scaled_exponential(rng: np.random.Generator, mean: float) -> Callable[[], float]:
    """Draws of an exponential of mean ``mean`` (> 0): the same values as
    ``mean * rng.standard_exponential()`` one at a time."""
    block = BlockDraws(rng, rng.standard_exponential).draw
    return lambda: mean * block()
