"""Partition assignors, as Kafka's: pure functions of members, partitions and (for the sticky
ones) the previous assignment. Members beyond the partition count get nothing, as in Kafka.

``range`` and ``round-robin`` follow ``RangeAssignor`` and ``RoundRobinAssignor`` (one topic);
``sticky`` follows ``StickyAssignor``: balanced like round-robin, and on a change it keeps
every surviving member's partitions and hands the orphans to the least-loaded members.
``cooperative-sticky`` computes the same assignment; what differs is the protocol (only the
moved partitions stop), which the group coordinator implements.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

Assignment = dict[str, list[int]]


def range_assign(
    members: Sequence[str],
    partitions: Sequence[int],
    previous: Mapping[str, Sequence[int]] | None = None,
) -> Assignment:
    ms, ps = sorted(members), sorted(partitions)
    out: Assignment = {m: [] for m in ms}
    if not ms:
        return out
    per, extra = divmod(len(ps), len(ms))
    start = 0
    for i, m in enumerate(ms):
        n = per + (1 if i < extra else 0)
        out[m] = ps[start : start + n]
        start += n
    return out


def round_robin_assign(
    members: Sequence[str],
    partitions: Sequence[int],
    previous: Mapping[str, Sequence[int]] | None = None,
) -> Assignment:
    ms, ps = sorted(members), sorted(partitions)
    out: Assignment = {m: [] for m in ms}
    for i, p in enumerate(ps):
        if ms:
            out[ms[i % len(ms)]].append(p)
    return out


def sticky_assign(
    members: Sequence[str],
    partitions: Sequence[int],
    previous: Mapping[str, Sequence[int]] | None = None,
) -> Assignment:
    ms, ps = sorted(members), sorted(partitions)
    if not previous or not any(previous.get(m) for m in ms):
        return round_robin_assign(ms, ps)
    valid = set(ps)
    out: Assignment = {m: [p for p in previous.get(m, []) if p in valid] for m in ms}
    taken = {p for assigned in out.values() for p in assigned}
    # a partition claimed twice keeps its first (sorted member) owner
    seen: set[int] = set()
    for m in ms:
        out[m] = [p for p in out[m] if not (p in seen or seen.add(p))]  # type: ignore[func-returns-value]
    orphans = [p for p in ps if p not in taken]
    for p in orphans:
        least = min(ms, key=lambda m: (len(out[m]), m))
        out[least].append(p)
    # balance: move from the most to the least loaded until they differ by at most one
    while ms:
        most = max(ms, key=lambda m: (len(out[m]), m))
        least = min(ms, key=lambda m: (len(out[m]), m))
        if len(out[most]) - len(out[least]) <= 1:
            break
        out[least].append(out[most].pop())
    return out


ASSIGNORS: dict[str, Callable[..., Assignment]] = {
    "range": range_assign,
    "round-robin": round_robin_assign,
    "sticky": sticky_assign,
    "cooperative-sticky": sticky_assign,
}
COOPERATIVE = {"cooperative-sticky"}
