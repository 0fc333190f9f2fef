"""Smoke test of benchmarks/bench_pipeline.py: the pipelines run and agree; no timing assertions."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_pipeline.py"
EVENTS = 300


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_pipeline", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(spec.name, None)
    return module


def test_baseline_processes_every_event(bench: ModuleType) -> None:
    r = bench.run_baseline(EVENTS)
    assert r.events > 0.8 * EVENTS  # Poisson: close to, not exactly, the requested count
    assert r.processed == r.events
    assert r.seconds > 0 and r.per_second > 0
    assert 0 < r.latency_mean < 0.05


@pytest.mark.parametrize("trace", ["summary", "messages", "full"])
def test_msgsim_processes_every_event(bench: ModuleType, trace: str) -> None:
    r = bench.run_msgsim(EVENTS, trace)
    assert r.pipeline == f"msgsim trace {trace}"
    assert r.events > 0.8 * EVENTS
    assert r.processed == r.events
    assert r.seconds > 0 and r.per_second > 0
    assert 0 < r.latency_mean < 0.05


def test_main_prints_the_table_and_writes_json(
    bench: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench.json"
    assert bench.main(["--events", str(EVENTS), "--repeat", "1", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "baseline" in printed and "msgsim trace summary" in printed and "goal" in printed
    report = json.loads(out.read_text())
    assert [r["pipeline"] for r in report["results"]][1:] == [
        "msgsim trace summary",
        "msgsim trace messages",
        "msgsim trace full",
    ]
    assert all(r["processed"] == r["events"] and r["seconds"] > 0 for r in report["results"])
    assert report["ratio"] > 0 and report["goal_ratio"] == bench.GOAL_RATIO


def test_a_child_process_reports_its_peak_memory(bench: ModuleType) -> None:
    r = bench.in_child(EVENTS, "summary")
    assert r["events"] > 0.8 * EVENTS and r["seconds"] > 0
    assert r["peak_mb"] >= r["peak_mb_before_run"] > 0


def test_an_unfair_comparison_is_refused(bench: ModuleType) -> None:
    good = bench.RunResult("baseline", 5000, 5000, 0.1, 0.002)
    starved = bench.RunResult("msgsim trace summary", 5000, 2500, 0.1, 0.002)
    other_system = bench.RunResult("msgsim trace messages", 5000, 5000, 0.1, 0.010)
    bench.check_fair([good, good])
    with pytest.raises(bench.UnfairComparison, match="processed 2500 of 5000"):
        bench.check_fair([good, starved])
    with pytest.raises(bench.UnfairComparison, match="mean latency"):
        bench.check_fair([good, other_system])


def test_kernel_events_are_counted_exactly_and_the_count_is_undone(bench: ModuleType) -> None:
    import heapq

    import simpy
    import simpy.core

    env = simpy.Environment()

    def three() -> object:
        for _ in range(3):
            yield env.timeout(1)

    with bench.counting_kernel_events() as count:
        env.process(three())
        env.run()
    assert count[0] == 5  # the process's start, three timers, its end
    assert simpy.core.heappop is heapq.heappop

    import sim.experiment.run
    from sim.model.clock import Clock

    with bench.counting_kernel_events() as count:  # a clock a run makes counts its own steps
        env = sim.experiment.run.Clock()
        env.process(three())
        env.run(until=10)
    assert count[0] == 6  # and the entry that stops the run at 10, as SimPy's run(until) has
    assert sim.experiment.run.Clock is Clock


def test_kernel_share_counts_both_pipelines(bench: ModuleType) -> None:
    k = bench.kernel(EVENTS, baseline_us=10.0)
    # the baseline: an arrival, a request hop, a resend timer, an acknowledgement hop and a
    # processing step per event, plus fetches; msgsim also sends each effect to the sink and
    # waits for its acknowledgement (two hops more)
    assert 4 < k["baseline_steps_per_event"] < 8
    assert k["msgsim_steps_per_event"] > k["baseline_steps_per_event"] + 2
    assert k["step_us"] > 0
    assert k["best_possible_ratio"] == pytest.approx(10.0 / k["msgsim_kernel_us_per_event"])


def test_scaling_keeps_the_run_of_least_cpu_time_per_size(
    bench: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    cpu = iter([30.0, 50.0, 20.0, 40.0])  # sizes 10 and 100, two interleaved rounds

    def fake(n: int, trace: str) -> dict[str, object]:
        return {"trace": trace, "requested": n, "us_per_event": 1.0, "cpu_us_per_event": next(cpu)}

    monkeypatch.setattr(bench, "in_child", fake)
    rows = bench.scaling((10, 100), repeat=2)
    assert [r["cpu_us_per_event"] for r in rows] == [20.0, 40.0]


def test_the_sweep_table_splits_slower_runs_from_time_outside_them(bench: ModuleType) -> None:
    rows = [
        {"how": "1 worker(s)", "round": 1, "workers": 1, "seconds": 10.5, "run_seconds": 10.0},
        {"how": "2 worker(s)", "round": 1, "workers": 2, "seconds": 7.5, "run_seconds": 12.0},
        {"how": "1 worker(s)", "round": 2, "workers": 1, "seconds": 12.0, "run_seconds": 11.5},
        {"how": "2 worker(s)", "round": 2, "workers": 2, "seconds": 6.0, "run_seconds": 11.0},
    ]
    lines = bench.sweep_table(rows, 1000).splitlines()
    first, second = lines[3], lines[5]
    # 10.5 / 7.5; runs 20% slower side by side; 7.5 - 12 / 2 - (10.5 - 10) = 1.0 s outside
    assert "1.40x" in first and "+20%" in first and "+1.0 s" in first
    # 12 / 6 (against its own round's single worker); 11 / 11.5 - 1; 6 - 5.5 - 0.5
    assert "2.00x" in second and "-4%" in second and "+0.0 s" in second
    assert "2 worker(s): median speed-up 1.70x" in lines
    # the command line's rows count against the command line's single worker
    cli = [
        {
            "how": "msgsim run, 1 worker(s)",
            "round": 1,
            "workers": 1,
            "seconds": 4.0,
            "run_seconds": 3.0,
        },
        {
            "how": "msgsim run, 2 worker(s)",
            "round": 1,
            "workers": 2,
            "seconds": 2.5,
            "run_seconds": 3.0,
        },
    ]
    assert "1.60x" in bench.sweep_table(rows + cli, 1000).splitlines()[-4]


def test_the_sweep_runs_on_one_and_two_workers(
    bench: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench, "SWEEP_RUNS", 2)
    rows = bench.sweep(EVENTS)
    assert [r["workers"] for r in rows][:2] == [1, 2]
    assert [r["how"] for r in rows][-2:] == ["msgsim run, 1 worker(s)", "msgsim run, 2 worker(s)"]
    assert all(r["seconds"] > 0 and 0 < r["run_seconds"] for r in rows)
    assert "goal" in bench.sweep_table(rows, EVENTS)
