"""Consumer groups: one checker per group, each fed the history as that group sees it.

Every group reads every event, so an event has a fate per group. Each group's checker gets
the operations shared by all groups (producers, logs, brokers, relays, 2PC) and its own
(its consumers, its sink, and the broker's operations on its state: commits, rebalances and
offset resets, whose ``peer`` names the consumer or ``group:<name>``), never another group's.
What a group's checker concludes is then exactly what the single checker would conclude of a
run in which that group were the only one. With one group every operation goes to its checker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..core.topology import GROUP_TAG, Topology
from ..history.ops import Op, Row
from .fold import Checker
from .state import Verdict


def owner(node: str, peer: str, group_of: Mapping[str, str]) -> str | None:
    """The group an operation of ``node`` with ``peer`` belongs to (None: every group's)."""
    group = group_of.get(node) or group_of.get(peer)
    if group is None and peer.startswith(GROUP_TAG):
        group = peer[len(GROUP_TAG) :]
    return group


class GroupedChecker:
    """Routes each operation to the checker of its group, or to every checker."""

    def __init__(
        self, duration: float, topology: Topology, settle: bool = True, every: int = 4096
    ) -> None:
        self.checkers = {g: Checker(duration, settle, every) for g in topology.group_names}
        self.group_of = topology.group_of_node
        self.sends = 0
        self.fired: list[Row] = []
        """The ``fault-start`` and ``fault-end`` operations: when each fault fired."""
        if len(self.checkers) == 1:
            only = next(iter(self.checkers.values()))
            self.feed = only.feed  # type: ignore[method-assign]
            self.feed_many = only.feed_many  # type: ignore[method-assign]
            self.fired = only.fired

    def feed(self, row: Row) -> None:
        """Fold one operation into the checker(s) of the group(s) it concerns."""
        op = row[1]
        if op is Op.SEND:
            self.sends += 1
        elif op is Op.FAULT_START or op is Op.FAULT_END:
            self.fired.append(row)
        group = owner(row[2], row[3], self.group_of)
        if group is None:
            for checker in self.checkers.values():
                checker.feed(row)
        else:
            self.checkers[group].feed(row)

    def feed_many(self, rows: Iterable[Row]) -> None:
        """:meth:`feed` each of ``rows``."""
        for row in rows:
            self.feed(row)

    def verdicts(self, sim_time: float) -> dict[str, Verdict]:
        """Each group's verdict; ``network_messages`` counts every send of the run."""
        out = {g: c.verdict(sim_time) for g, c in self.checkers.items()}
        if len(out) > 1:
            for v in out.values():
                v.counts["network_messages"] = self.sends
        return out


def check_groups(
    ops: Iterable[Row], duration: float, sim_time: float, topology: Topology, settle: bool = False
) -> dict[str, Verdict]:
    """Each group's verdict on a stored history (every event kept as an object unless
    ``settle``, as :func:`~sim.check.fold.check`)."""
    checker = GroupedChecker(duration, topology, settle)
    for row in ops:
        checker.feed(row)
    return checker.verdicts(sim_time)
