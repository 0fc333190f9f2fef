"""Named random streams derived from the run seed.

Every random draw in a run comes from a stream named for its purpose
(``"net/loss/producer-0->broker-0"``, ``"workload/arrivals/producer-0"``, ...). A stream's
generator is seeded from the run seed and a stable hash (BLAKE2b) of its name, never Python's
per-process salted string hash, so the same seed gives the same draws in every process, under
every ``PYTHONHASHSEED`` and on every machine.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np


def stable_words(text: str, n: int = 4) -> list[int]:
    """``n`` 32-bit words of the BLAKE2b digest of ``text``: a process-independent hash."""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=4 * n).digest()
    return [int.from_bytes(digest[4 * i : 4 * i + 4], "little") for i in range(n)]


def derive_seed(seed: int, name: str) -> int:
    """A 63-bit child seed of ``seed`` for ``name`` (used for replication seeds)."""
    ss = np.random.SeedSequence([seed & 0xFFFFFFFF, seed >> 32, *stable_words(name)])
    return int(ss.generate_state(2, np.uint64)[0] >> np.uint64(1))


@lru_cache(maxsize=1 << 16)
def stable_index(text: str, modulo: int) -> int:
    """A stable bucket of ``text`` in ``range(modulo)`` (the broker's key partitioner; a pure
    function, so the buckets of the most recent keys are remembered rather than rehashed)."""
    return (
        int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")
        % modulo
    )


class Streams:
    """A factory of named generators for one run; asking for a name again returns the same one."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._streams: dict[str, np.random.Generator] = {}

    def __call__(self, name: str) -> np.random.Generator:
        gen = self._streams.get(name)
        if gen is None:
            ss = np.random.SeedSequence(
                [self.seed & 0xFFFFFFFF, self.seed >> 32, *stable_words(name)]
            )
            gen = np.random.Generator(np.random.PCG64(ss))
            self._streams[name] = gen
        return gen

    def uniform_of(self, name: str) -> float:
        """A U[0,1) value fixed by the run seed and ``name`` alone: the same in every strategy
        however many other draws it made (``workload/failure/<event>/<attempt>``)."""
        digest = hashlib.blake2b(f"{self.seed}/{name}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "little") / 2.0**64
