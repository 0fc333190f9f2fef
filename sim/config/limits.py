"""The limits of an experiment: what msgsim refuses before anything runs, and why.

A config can be valid key by key and still ask for a run that never ends or that exhausts
memory: a timer of 1e-300 s, 10^12 events per second, a sweep of 10^4 cells, a YAML alias
bomb. Each is refused with exit 2 before anything runs, and the message names the key and the
limit. ``msgsim validate`` prints an experiment's expected size next to these limits.

The limits sit far above a sensible experiment (the ready configs in ``experiments/`` stay
at least 50 times below each, except ``retry_timeout.yaml``'s resends: 3,001 per event at
worst, and ``day_at_scale.yaml``, a simulated day of 10 million events at trace ``summary``,
half its limit) and below what would hang. Measured on a 2-core machine (issue 13):

- a run simulates about 6,000 to 10,000 business events per wall-clock second (a simulated
  day's pipeline about 6,500); the checker folds the history as the run goes and settles
  each event whose copies are all gone, so a run holds about 0.1 KB per event at ``summary``
  (the broker's log, a packed state per settled event, the tables keyed by event number;
  about 65 bytes an event in a long run), 0.6 KB at ``messages`` and about 11 KB with
  ``trace: full``; each event kept in the results is a 170-byte row of the messages frame
  (plus 2.3 KB of history with ``trace: full``);
- an idle timer costs 10 to 100 us (a heartbeat is a round trip to the coordinator).

So the largest run allowed at ``messages`` takes about 6 minutes and 1.3 GB, and at
``summary`` about an hour and 2 GB (a simulated day of 10 million events takes about 26
minutes and under 1 GB: see the README's performance section); anything bigger is almost
surely a typo (a rate in events per hour, a timeout in microseconds).
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass, field
from typing import Any

MAX_EVENTS_PER_RUN = 2_000_000
"""Expected business events in one run: producers x rate x duration (or scripted arrivals),
with ``trace: messages`` (every run's rows are kept until the results are assembled)."""

MAX_EVENTS_PER_RUN_SUMMARY = 20_000_000
"""... with ``trace: summary``: the checker folds the history as the run goes and keeps no
history and no rows, so a run of a simulated day at 116 events/s (10 million) fits."""

MAX_EVENTS_PER_RUN_FULL_TRACE = 100_000
"""... with ``trace: full``, which keeps every operation of the run."""

MAX_KEPT_EVENTS = 10_000_000
"""Expected rows of the messages frame of an experiment (events of every run, with ``trace:
messages`` or ``full``): they are all held in memory when the results are assembled.
``trace: summary`` keeps none."""

MAX_KEPT_EVENTS_FULL_TRACE = 1_000_000
"""... with ``trace: full``, whose history of every run is kept too."""

MAX_TIMER_WAKEUPS = 5_000_000
"""Expected wake-ups of the periodic timers of one run while it is idle: consumers' heartbeats
and long polls, the coordinator's session checks, broker flushes, relay polls, poison retries,
over ``duration + drain``. This is what bounds the simulated time of a run: ``duration: 1e12``
with ``rate: 0`` would still wake every consumer every few seconds for 10^12 seconds."""

MAX_ATTEMPTS_PER_EVENT = 10_000
"""Attempts one event may make, at worst, in a loop that retries until an answer comes:
a producer's resends (``request_timeout`` + ``backoff.initial`` apart, within
``delivery_timeout`` or the run, at most ``retries`` + 1), a 2PC participant's status requests
while in doubt (``prepare_timeout`` apart) and queue-mode redeliveries (``visibility_timeout``
apart, at most ``max_receives``). So such a loop's interval is at least 1/10,000 of the run
(9 ms in a run of 90 s): a resend every 1e-4 s for 90 s is 900,000 sends of one event, and
with every acknowledgement lost (a partition), a run that never ends."""

MIN_INTERVAL = 1e-4
"""Every interval and timeout the simulation loops on is at least 0.1 ms: flush_interval,
fetch_max_wait, visibility_timeout, heartbeat_interval, session_timeout, auto_commit_interval,
request_timeout, poll_interval, prepare_timeout. A timer of 1e-300 s fires at the same
simulated instant forever."""

MIN_INTERVAL_FRACTION = 1e-9
"""... and at least this fraction of ``duration + drain``: a float time near 10^12 s cannot
resolve a step of 1e-4 s, so such a timer would fire at the same instant forever too."""

MAX_PER_ROLE = 1_000
"""Producers, brokers, consumers and partitions, each."""

MAX_LINKS = 10_000
"""Directed network links (each client has two with each broker)."""

MAX_KEYS = 10_000_000
"""Distinct keys (``workload.keys``): a skewed key choice holds one weight per key."""

MAX_CELLS = 1_000
"""Sweep cells: the product of the lengths of the sweep's value lists."""

MAX_RUNS = 50_000
"""Runs of an experiment: cells x strategies x replications."""

MAX_FAULT_ENTRIES = 1_000
"""Entries of ``faults:`` and patterns of ``topology.network.links``, each."""

MAX_FAULTS_PER_RUN = 100_000
"""Concrete faults of one (cell, replication) once node globs are expanded and ``random``
generators are drawn (expected count: rate x window)."""

MAX_CONFIG_BYTES = 4 * 1024 * 1024
"""Size of a config file."""

MAX_YAML_NODES = 1_000_000
"""Values in a config once its aliases are expanded: an alias bomb (9 aliases of 9 aliases
of ...) is a few lines that expand to 9^8 values."""

MAX_YAML_DEPTH = 64
"""Nesting depth of a config (a config is about 5 deep)."""

DASK_CONNECT_SECONDS = 5.0
"""How long ``--dask ADDRESS`` waits for the scheduler to answer."""

#: Every config key that sets an interval or a timeout the simulation loops on.
INTERVAL_KEYS = (
    "broker.flush_interval",
    "broker.fetch_max_wait",
    "broker.visibility_timeout",
    "broker.visibility_heartbeat",
    "consumer_group.heartbeat_interval",
    "consumer_group.session_timeout",
    "consumer_group.auto_commit_interval",
    "producer.request_timeout",
    "outbox.poll_interval",
    "outbox.offset_flush_interval",
    "two_phase_commit.prepare_timeout",
)
"""(Those that are null, such as ``broker.visibility_heartbeat`` by default, are not timers.)"""

LAG_SAMPLES = 400
"""Lag samples per run (``sim/model/world.py``): a timer of its own."""


def number(x: float) -> str:
    """A count or a size for a message: 1,000,000 up to 10^15, then 1e+18."""
    if math.isfinite(x) and abs(x) < 1e15 and float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:.3g}"


def product(a: float, b: float) -> float:
    """``a * b`` where 0 times anything (even infinity) is 0."""
    return 0.0 if a == 0 or b == 0 else a * b


@dataclass(frozen=True)
class Loop:
    """A timer a run keeps firing while idle."""

    what: str
    key: str
    interval: float
    per_second: float


@dataclass
class Size:
    """The expected size of one run of a config, and of the experiment."""

    horizon: float
    events: float
    loops: list[Loop]
    nodes: dict[str, int]
    links: int
    faults: float
    cells: int
    runs: int
    trace: str = "messages"
    kept: float = 0.0
    """Events the experiment keeps in its results (every run's; 0 with trace: summary)."""
    attempts: list[tuple[str, str, float]] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)

    @property
    def wakeups(self) -> float:
        return LAG_SAMPLES + sum(product(loop.per_second, self.horizon) for loop in self.loops)

    def lines(self) -> list[str]:
        """The size and the limits, for ``msgsim validate``."""
        nodes = ", ".join(f"{n} {k}" for k, n in self.nodes.items())
        kept = event_limits(self.trace)[1]
        return [
            f"expected size per run: {number(self.events)} events (limit "
            f"{number(event_limits(self.trace)[0])}), {number(self.wakeups)} timer wake-ups over "
            f"{number(self.horizon)} s (limit {number(MAX_TIMER_WAKEUPS)}), "
            f"{number(self.faults)} faults (limit {number(MAX_FAULTS_PER_RUN)})",
            f"topology: {nodes}, {number(self.links)} links (limits {number(MAX_PER_ROLE)} per "
            f"role, {number(MAX_LINKS)} links)",
            f"experiment: {number(self.cells)} cells (limit {number(MAX_CELLS)}), "
            f"{number(self.runs)} runs (limit {number(MAX_RUNS)}), {number(self.kept)} events "
            f"kept in its results (trace: {self.trace}; limit "
            f"{number(kept) if kept is not None else 'none'})",
        ] + (
            [
                "at worst, every answer lost, one event makes "
                + ", ".join(f"{number(round(n))} {what}" for what, _, n in self.attempts)
                + f" (limit {number(MAX_ATTEMPTS_PER_EVENT)} each)"
            ]
            if self.attempts
            else []
        )


def event_limits(trace: str) -> tuple[int, int | None]:
    """The limits on events per run and on events kept by an experiment, for ``trace``."""
    if trace == "full":
        return MAX_EVENTS_PER_RUN_FULL_TRACE, MAX_KEPT_EVENTS_FULL_TRACE
    if trace == "summary":
        return MAX_EVENTS_PER_RUN_SUMMARY, None
    return MAX_EVENTS_PER_RUN, MAX_KEPT_EVENTS


def kept_events(cfg: Any, cell_configs: list[Any]) -> float:
    """Events an experiment keeps in its results: every run's, summed over its cells."""
    if cfg.trace == "summary":
        return 0.0
    per_cell = len(cfg.strategies) * cfg.replications
    return sum(product(expected_events(c), per_cell) for c in cell_configs)


def experiment_problems(cfg: Any, cell_configs: list[Any]) -> list[tuple[str, str]]:
    """What only the whole experiment can break (its cells built): the events it keeps."""
    kept, limit = kept_events(cfg, cell_configs), event_limits(cfg.trace)[1]
    if limit is None or kept <= limit:
        return []
    return [
        (
            "trace",
            f"the experiment would keep about {number(kept)} events in its results "
            f"({len(cell_configs)} cell(s) x {len(cfg.strategies)} strategies x "
            f"{cfg.replications} replications, trace: {cfg.trace}); at most {number(limit)}, "
            "which is what fits in memory: use trace: summary (one row per run), or fewer "
            "runs or events",
        )
    ]


def experiment_size(cfg: Any, cell_configs: list[Any]) -> Size:
    """The size of the experiment ``cfg``: its largest cell's run (by events, then timer
    wake-ups), with the experiment's cells, runs and kept events."""
    sizes = [measure(c) for c in cell_configs]
    size = max(sizes, key=lambda z: (z.events, z.wakeups))
    size.cells = len(cell_configs)
    size.runs = run_count(cfg, size.cells)
    size.kept = kept_events(cfg, cell_configs)
    return size


def get(cfg: Any, key: str) -> Any:
    value = cfg
    for part in key.split("."):
        value = getattr(value, part)
    return value


def sweep_cells(sweep: dict[str, list[Any]]) -> int:
    """The number of cells of a sweep (the product of its lengths), counted without
    building them; past MAX_CELLS it stops multiplying."""
    cells = 1
    for values in sweep.values():
        cells *= len(values)
        if cells > MAX_CELLS:
            return cells
    return cells


def link_count(
    producers: int, brokers: int, consumers: int, relays: bool, coordinator: bool
) -> int:
    """Directed links of a topology (as ``sim/core/topology.py`` draws them), counted."""
    clients = producers + consumers + (producers if relays else 0)
    return 2 * clients * brokers + 2 * consumers + (2 * (producers + brokers) if coordinator else 0)


def _every(what: str, key: str, interval: float, timers: int) -> Loop:
    """``timers`` timers, each firing every ``interval`` seconds."""
    return Loop(what, key, interval, timers / interval)


def timer_loops(cfg: Any) -> list[Loop]:
    """The periodic timers of a run of ``cfg`` (an ``ExperimentConfig``) while it is idle."""
    b, g, t, o = cfg.broker, cfg.consumer_group, cfg.topology, cfg.outbox
    producers, relays = cfg.workload.producers, cfg.node_topology().relays
    consumers = cfg.consumer_count
    loops = [_every("consumer long polls", "broker.fetch_max_wait", b.fetch_max_wait, consumers)]
    if b.mode == "log":
        tick = min(0.5, g.session_timeout / 10)
        loops += [
            _every(
                "consumer heartbeats",
                "consumer_group.heartbeat_interval",
                g.heartbeat_interval,
                consumers,
            ),
            _every("session checks", "consumer_group.session_timeout", tick, 1),
        ]
    if b.durability == "interval":
        loops.append(_every("broker flushes", "broker.flush_interval", b.flush_interval, t.brokers))
    if relays:
        loops.append(
            _every("outbox relay polls", "outbox.poll_interval", o.poll_interval, producers)
        )
    if relays and o.relay == "cdc":
        key = "outbox.offset_flush_interval"
        loops.append(_every("relay offset flushes", key, o.offset_flush_interval, producers))
    if b.mode == "queue" and b.visibility_heartbeat is not None:
        key = "broker.visibility_heartbeat"
        loops.append(_every("visibility extensions", key, b.visibility_heartbeat, consumers))
    poison = _poison_loop(cfg)
    return loops if poison is None else [*loops, poison]


def _poison_loop(cfg: Any) -> Loop | None:
    """In log mode a consumer retries a failing event in place, once per process time, up to
    ``max_receives`` times (forever with null), blocking its partition meanwhile: a poison
    event fails every attempt (so does every event with ``failure_probability: 1``), a
    transient failure makes f / (1 - f) extra attempts per event on average."""
    w, b = cfg.workload, cfg.broker
    retrying = any(
        s.consumer.commit == "in-sink" or s.consumer.dead_letter for s in cfg.strategy_objects()
    )
    f = w.failure_probability
    stuck = w.poison_probability + (1 - w.poison_probability) * (f >= 1)
    transient = 0.0 if f >= 1 else (1 - w.poison_probability) * f / (1 - f)
    if b.mode != "log" or not retrying or stuck + transient == 0:
        return None
    horizon = cfg.duration + cfg.drain
    pace = w.process_time.mean_value
    per_second = cfg.topology.partitions / pace if pace > 0 else math.inf
    if stuck == 0 or b.max_receives is not None:  # every event's attempts, at most
        cap = product(expected_events(cfg), product(stuck, b.max_receives or 0) + transient)
        per_second = min(per_second, cap / horizon)
    return Loop("retries in place of failing events", "workload.process_time", pace, per_second)


def attempts_per_event(cfg: Any) -> list[tuple[str, str, float]]:
    """(what, key, attempts) of each retry loop one event may run at worst (every answer
    lost), as :data:`MAX_ATTEMPTS_PER_EVENT` counts them."""
    horizon = cfg.duration + cfg.drain
    p, out = cfg.producer, []
    strategies = cfg.strategy_objects()
    if any(s.producer.publisher != "fire-and-forget" or s.needs_database for s in strategies):
        gap = p.request_timeout + min(p.backoff.initial, p.backoff.max)
        n = min(p.delivery_timeout, horizon) / gap + 1
        if p.retries is not None:
            n = min(n, p.retries + 1)
        out.append(("resends", "producer.request_timeout", n))
    if any(s.producer.coupling == "two-phase-commit" for s in strategies):
        n = horizon / cfg.two_phase_commit.prepare_timeout + 1
        out.append(("status requests in doubt", "two_phase_commit.prepare_timeout", n))
    if cfg.broker.mode == "queue":
        n = horizon / cfg.broker.visibility_timeout + 1
        if cfg.broker.max_receives is not None:
            n = min(n, cfg.broker.max_receives)
        out.append(("redeliveries", "broker.visibility_timeout", n))
    return out


def expected_events(cfg: Any) -> float:
    """Expected business events of one run (every producer)."""
    w = cfg.workload
    if w.arrivals is not None:
        return w.producers * sum(1 for t in w.arrivals if t < cfg.duration)
    return product(product(w.rate, cfg.duration), w.producers)


def expected_faults(cfg: Any, horizon: float) -> tuple[float, str]:
    """Expected concrete faults of one (cell, replication), and the key of the biggest part."""
    names = list(cfg.node_topology().nodes)
    total, worst, key = 0.0, -1.0, "faults"
    for i, f in enumerate(cfg.faults):
        if f.kind == "random":
            n, where = product(f.rate, max(0.0, min(f.at + f.duration, horizon) - f.at)), "rate"
        elif f.kind in ("crash", "pause", "disk-loss"):
            n, where = float(len(fnmatch.filter(names, f.node))), "node"
        else:
            n, where = 1.0, "kind"
        total += n
        if n > worst:
            worst, key = n, f"faults.{i}.{where}"
    return total, key


def run_count(cfg: Any, cells: int | None = None) -> int:
    """The runs of ``cfg``: cells x strategies x replications (``cells``: counted from its
    sweep unless given)."""
    if cells is None:
        cells = sweep_cells(cfg.sweep_paths())
    return cells * len(cfg.strategies) * cfg.replications


def measure(cfg: Any) -> Size:
    """The expected size of ``cfg`` (an ``ExperimentConfig``), and every limit it breaks."""
    w, t = cfg.workload, cfg.topology
    horizon = cfg.duration + cfg.drain
    nodes = {
        "producers": w.producers,
        "brokers": t.brokers,
        "consumers": cfg.consumer_count,
        "partitions": t.partitions,
    }
    cells = sweep_cells(cfg.sweep_paths())
    runs = run_count(cfg, cells)
    size = Size(horizon, expected_events(cfg), [], nodes, 0, 0.0, cells, runs, cfg.trace)
    size.kept = 0.0 if cfg.trace == "summary" else product(size.events, runs)
    size.problems = _role_problems(cfg, size) + _experiment_problems(cfg, size)
    if size.problems:
        return size
    topo = cfg.node_topology()
    size.links = link_count(w.producers, t.brokers, topo.consumers, topo.relays, topo.coordinator)
    size.problems = _interval_problems(cfg, MIN_INTERVAL)
    if size.problems:
        return size
    size.loops = timer_loops(cfg)
    size.faults, fault_key = expected_faults(cfg, horizon)
    size.attempts = attempts_per_event(cfg)
    size.problems = _run_problems(cfg, size, fault_key)
    if not size.problems:
        size.problems = _interval_problems(cfg, horizon * MIN_INTERVAL_FRACTION)
    return size


def _role_problems(cfg: Any, size: Size) -> list[tuple[str, str]]:
    keys = {
        "producers": "workload.producers",
        "brokers": "topology.brokers",
        "consumers": "topology.consumers",
        "partitions": "topology.partitions",
    }
    return [
        (
            keys[role],
            f"{number(n)} {role} is more than msgsim simulates: at most "
            f"{number(MAX_PER_ROLE)} each of producers, brokers, consumers and partitions",
        )
        for role, n in size.nodes.items()
        if n > MAX_PER_ROLE
    ]


def _experiment_problems(cfg: Any, size: Size) -> list[tuple[str, str]]:
    problems = []
    if size.cells > MAX_CELLS:
        lengths = " x ".join(str(len(v)) for v in cfg.sweep_paths().values())
        problems.append(
            (
                "sweep",
                f"{lengths} values make {number(size.cells)} or more cells; at most "
                f"{number(MAX_CELLS)} per experiment: sweep fewer values, or split the sweep "
                "into several experiments",
            )
        )
    elif size.runs > MAX_RUNS:
        problems.append(
            (
                "replications",
                f"{size.cells} cell(s) x {len(cfg.strategies)} strategies x "
                f"{number(cfg.replications)} replications = {number(size.runs)} runs; at most "
                f"{number(MAX_RUNS)} per experiment",
            )
        )
    for key, n in (
        ("faults", len(cfg.faults)),
        ("topology.network.links", len(cfg.topology.network.links)),
    ):
        if n > MAX_FAULT_ENTRIES:
            problems.append((key, f"{number(n)} entries; at most {number(MAX_FAULT_ENTRIES)}"))
    if cfg.workload.keys > MAX_KEYS:
        problems.append(
            ("workload.keys", f"{number(cfg.workload.keys)} keys; at most {number(MAX_KEYS)}")
        )
    return problems


def _interval_problems(cfg: Any, floor: float) -> list[tuple[str, str]]:
    floor = max(MIN_INTERVAL, floor)
    why = (
        f"{MIN_INTERVAL:g} s"
        if floor == MIN_INTERVAL
        else f"{floor:.3g} s, {MIN_INTERVAL_FRACTION:g} of duration + drain"
    )
    return [
        (
            key,
            f"{get(cfg, key):.3g} s is shorter than the shortest interval msgsim simulates "
            f"({why}): a timer that short fires at the same simulated instant over and over",
        )
        for key in INTERVAL_KEYS
        if get(cfg, key) is not None and get(cfg, key) < floor
    ]


def _run_problems(cfg: Any, size: Size, fault_key: str) -> list[tuple[str, str]]:
    problems = []
    w = cfg.workload
    limit = event_limits(cfg.trace)[0]
    if size.events > limit:
        how = (
            f"{number(w.producers)} producer(s) x {len(w.arrivals)} arrivals"
            if w.arrivals is not None
            else f"{w.rate:.3g} events/s x {cfg.duration:.3g} s (duration) x "
            f"{number(w.producers)} producer(s)"
        )
        problems.append(
            (
                "workload.arrivals" if w.arrivals is not None else "workload.rate",
                f"{how} = {number(size.events)} expected events per run; at most "
                f"{number(limit)} with trace: {cfg.trace} (a run holds 0.1 to 11 KB per event): "
                "lower the rate, the duration or the producers",
            )
        )
    if size.links > MAX_LINKS:
        problems.append(
            (
                "topology.brokers",
                f"{number(size.links)} network links (two between each client and each "
                f"broker); at most {number(MAX_LINKS)}",
            )
        )
    if size.faults > MAX_FAULTS_PER_RUN:
        problems.append(
            (
                fault_key,
                f"about {number(size.faults)} concrete faults per run (node globs expanded, "
                f"random rates x their window); at most {number(MAX_FAULTS_PER_RUN)}",
            )
        )
    for what, key, n in size.attempts:
        if n > MAX_ATTEMPTS_PER_EVENT:
            problems.append(
                (
                    key,
                    f"an event may make about {number(n)} {what} at worst (every answer lost, "
                    f"{get(cfg, key):.3g} s apart over the run); at most "
                    f"{number(MAX_ATTEMPTS_PER_EVENT)} per event: lengthen {key}"
                    + (", or set producer.retries" if key.startswith("producer.") else ""),
                )
            )
    if size.wakeups > MAX_TIMER_WAKEUPS:
        loop = max(size.loops, key=lambda lp: lp.per_second)
        problems.append(
            (
                "duration",
                f"a run of {size.horizon:.3g} s (duration + drain) wakes its timers about "
                f"{number(size.wakeups)} times, mostly {loop.what} every {loop.interval:.3g} s "
                f"({loop.key}); at most {number(MAX_TIMER_WAKEUPS)} per run: shorten the run or "
                f"lengthen {loop.key}",
            )
        )
    return problems
