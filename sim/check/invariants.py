"""Protocol invariants: rules every run must keep whatever its strategy and faults.

- at most one live owner per partition per generation: a consumer is never granted a
  partition another consumer holds from the same generation;
- accepted commits never move backwards within a leader epoch (unless the offsets were lost
  and reset), neither the coordinator's nor the offsets a sink stores with the effects;
- a producer id is never given to two producers.

A violation is a bug in the simulator, not a result: the run fails with the evidence.
"""

from __future__ import annotations

from ..history.ops import Op, Row
from .part import Part, on


class Invariants(Part):
    def __init__(self) -> None:
        self.violations: list[str] = []
        self.holders: dict[int, dict[str, int]] = {}
        """Partition -> consumer holding it -> the generation it was granted in."""
        self.commits: dict[tuple[str, int], tuple[int, int]] = {}
        """(leader, partition) -> (leader epoch, offset) last accepted."""
        self.pids: dict[int, str] = {}

    def _say(self, row: Row, text: str) -> None:
        self.violations.append(f"t={row[0]:.6f}: {text}")

    @on(Op.ASSIGN)
    def _assign(self, seq: int, row: Row) -> None:
        consumer, generation = row[2], row[6]
        for p in row[7]:
            holders = self.holders.setdefault(p, {})
            for other, held_in in holders.items():
                if other != consumer and held_in == generation:
                    self._say(
                        row,
                        f"partition {p} granted to {consumer} in generation "
                        f"{generation} while {other} holds it in the same generation",
                    )
            holders[consumer] = generation

    @on(Op.REVOKE)
    def _revoke(self, seq: int, row: Row) -> None:
        for p in row[7]:
            self.holders.get(p, {}).pop(row[2], None)

    @on(Op.ABANDON)
    def _abandon(self, seq: int, row: Row) -> None:
        for p in row[7][1]:
            self.holders.get(p, {}).pop(row[2], None)

    @on(Op.CRASH)
    def _crash(self, seq: int, row: Row) -> None:
        for holders in self.holders.values():
            holders.pop(row[2], None)

    @on(Op.COMMIT)
    def _commit(self, seq: int, row: Row) -> None:
        leader, epoch = row[7]
        offset = row[6]
        back = self._moves_back((leader, row[5]), epoch, offset)
        if back is not None:
            self._say(
                row,
                f"commit of {leader}/p{row[5]} moved back from {back} to "
                f"{offset} within leader epoch {epoch} (by {row[3]})",
            )

    @on(Op.SINK_COMMIT)
    def _sink_commit(self, seq: int, row: Row) -> None:
        sink, leader, p, offset, epoch = row[2], row[3], row[5], row[6], row[7]
        back = self._moves_back((f"{sink}:{leader}", p), epoch, offset)
        if back is not None:
            self._say(
                row,
                f"offset stored in {sink} for {leader}/p{p} moved back from {back} to "
                f"{offset} within leader epoch {epoch}",
            )

    def _moves_back(self, key: tuple[str, int], epoch: int, offset: int) -> int | None:
        """Accept ``offset`` in ``epoch`` as the last commit of ``key``; the one before it if
        this moves back from it within the same epoch (None: it does not)."""
        before = self.commits.get(key)
        self.commits[key] = (epoch, offset)
        if before is not None and before[0] == epoch and offset < before[1]:
            return before[1]
        return None

    @on(Op.OFFSET_RESET)
    def _reset(self, seq: int, row: Row) -> None:
        self.commits.pop((row[7][0], row[5]), None)

    @on(Op.PRODUCER_ID)
    def _producer_id(self, seq: int, row: Row) -> None:
        pid, producer = row[6], row[3]
        owner = self.pids.setdefault(pid, producer)
        if owner != producer:
            self._say(row, f"producer id {pid} given to {producer}, already {owner}'s")
