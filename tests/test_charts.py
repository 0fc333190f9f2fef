"""Charts are drawn from hand-built frames: files, skipping, determinism, figure content."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.report.charts import (
    draw_all,
    latency_cdf,
    loss_duplicate_bars,
    nice_bin_width,
    t95,
    throughput_timeline,
)

STRATEGIES = ["at-least-once", "at-most-once"]
REPLICATIONS = [0, 1]
SIM_TIME = 20.0
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def make_summary() -> pd.DataFrame:
    rows = []
    for strategy in STRATEGIES:
        for rep in REPLICATIONS:
            lost = 0 if strategy == "at-least-once" else 3 + rep
            duplicates = 2 + rep if strategy == "at-least-once" else 0
            committed = 100
            rows.append(
                {
                    "experiment": "test",
                    "cell": 0,
                    "strategy": strategy,
                    "replication": rep,
                    "seed": 100 + rep,
                    "intended": committed,
                    "committed": committed,
                    "processed": committed - lost,
                    "lost": lost,
                    "pending": 0,
                    "duplicates": duplicates,
                    "loss_rate": lost / committed,
                    "duplicate_rate": duplicates / committed,
                    "latency_mean": 0.01,
                    "latency_p50": 0.008,
                    "latency_p99": 0.05,
                    "throughput": (committed - lost) / SIM_TIME,
                    "network_messages": 400,
                    "sim_time": SIM_TIME,
                }
            )
    return pd.DataFrame(rows)


def make_messages() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for strategy in STRATEGIES:
        for rep in REPLICATIONS:
            for i in range(100):
                created = i * 0.15
                lost = strategy == "at-most-once" and i % 25 == 3
                latency = float(rng.lognormal(math.log(0.005), 1.5))
                rows.append(
                    {
                        "strategy": strategy,
                        "cell": 0,
                        "replication": rep,
                        "id": f"p0-{i}",
                        "producer": "producer-0",
                        "key": i % 4,
                        "partition": i % 2,
                        "created_at": created,
                        "committed": True,
                        "producer_outcome": "ok",
                        "fate": "lost" if lost else "processed",
                        "effects": 0 if lost else 1,
                        "deliveries": 0 if lost else 1,
                        "first_effect_at": math.nan if lost else created + latency,
                        "latency": math.nan if lost else latency,
                        "loss_cause": "drop:producer-0->broker-0" if lost else None,
                    }
                )
    return pd.DataFrame(rows)


def make_faults() -> pd.DataFrame:
    base = {"probability": math.nan, "extra": None, "on": None, "occurrence": 1, "source": "config"}
    rows = []
    for rep in REPLICATIONS:
        rows.append(
            {
                **base,
                "cell": 0,
                "replication": rep,
                "fault": 0,
                "kind": "crash",
                "target": "consumer-0",
                "at": 5.0,
                "duration": math.nan,
                "restart_after": 2.0,
            }
        )
        rows.append(
            {
                **base,
                "cell": 0,
                "replication": rep,
                "fault": 1,
                "kind": "drop",
                "target": "producer-0->broker-0",
                "at": 10.0,
                "duration": 3.0,
                "restart_after": math.nan,
                "probability": 0.3,
            }
        )
    return pd.DataFrame(rows)


EXPECTED = {
    f"{name}.{ext}"
    for name in ("loss_duplicates", "throughput_timeline", "latency_cdf", "causes")
    for ext in ("png", "svg")
}


def test_draw_all_writes_png_and_svg(tmp_path):
    out = tmp_path / "charts"
    paths = draw_all(make_summary(), make_messages(), make_faults(), out)
    assert {p.name for p in paths} == EXPECTED
    assert {p.name for p in out.iterdir()} == EXPECTED  # no temporary files left behind
    for path in paths:
        data = path.read_bytes()
        assert len(data) > 1000
        if path.suffix == ".png":
            assert data.startswith(PNG_MAGIC)
        else:
            assert b"<svg" in data[:2000]


def test_empty_messages_draws_only_bars(tmp_path):
    messages = make_messages().iloc[0:0]
    paths = draw_all(make_summary(), messages, make_faults(), tmp_path)
    assert sorted(p.name for p in paths) == ["loss_duplicates.png", "loss_duplicates.svg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "loss_duplicates.png",
        "loss_duplicates.svg",
    ]


def test_empty_everything_draws_nothing(tmp_path):
    assert draw_all(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), tmp_path / "x") == []


def test_drawing_twice_is_byte_identical(tmp_path):
    frames = (make_summary(), make_messages(), make_faults())
    first = draw_all(*frames, tmp_path / "a")
    second = draw_all(*frames, tmp_path / "b")
    assert [p.name for p in first] == [p.name for p in second]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_bar_chart_has_two_bars_per_strategy():
    fig = loss_duplicate_bars(make_summary())
    ax = fig.axes[0]
    assert len(ax.patches) == 2 * len(STRATEGIES)
    heights = sorted(round(p.get_height(), 6) for p in ax.patches)
    # at-least-once: 0% loss, 2.5% duplicates; at-most-once: 3.5% loss, 0% duplicates
    assert heights == [0.0, 0.0, 2.5, 3.5]
    assert [t.get_text() for t in ax.get_xticklabels()] == STRATEGIES
    assert ax.get_title() and ax.get_ylabel()
    assert len(ax.texts) == 2 * len(STRATEGIES)  # one value label per bar


def test_a_duplicate_rate_over_100_percent_gets_its_bar_and_whisker():
    # retry_timeout.yaml: a 20 ms timeout applies an event about 12 times (1,268%); the
    # whisker was clipped at 100% and matplotlib refused the negative length
    summary = make_summary()
    many = summary["strategy"] == "at-least-once"
    summary.loc[many, "duplicate_rate"] = [10.5, 12.7][: int(many.sum())]
    fig = loss_duplicate_bars(summary)
    ax = fig.axes[0]
    assert max(p.get_height() for p in ax.patches) == pytest.approx(1160.0)
    assert ax.get_ylim()[1] > 1160.0


def test_bar_chart_has_one_panel_per_cell_labelled_with_the_swept_value():
    summary = make_summary().assign(p=0.0)
    other = make_summary().assign(cell=1, p=0.2, loss_rate=0.5)
    both = pd.concat([summary, other], ignore_index=True)
    both = both[
        [
            "experiment",
            "cell",
            "p",
            *[c for c in summary.columns if c not in ("experiment", "cell", "p")],
        ]
    ]
    single = both[both["replication"] == 0]
    fig = loss_duplicate_bars(single)
    first, second = (ax for ax in fig.axes if ax.get_visible())
    assert first.get_title() == "p=0" and second.get_title() == "p=0.2"
    assert max(p.get_height() for p in first.patches) < 50
    assert max(p.get_height() for p in second.patches) == pytest.approx(50.0)
    assert not first.lines and not first.collections  # no error bars with one replication


def test_throughput_timeline_lines_and_fault_windows():
    messages = make_messages()
    fig = throughput_timeline(messages, make_faults(), bin_width=1.0, sim_time=SIM_TIME)
    ax = fig.axes[0]
    assert len(ax.lines) == len(STRATEGIES)
    assert len(ax.patches) == 2  # crash + drop window: the same in both replications
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "crash consumer-0, 5-7 s" in labels
    assert "drop producer-0->broker-0, 10-13 s" in labels
    # replication-averaged rate integrates back to the processed count per replication
    line = ax.lines[0]
    rate = np.asarray(line.get_ydata())[:-1]
    processed = messages[(messages.strategy == line.get_label())]["first_effect_at"].notna().sum()
    assert rate.sum() * 1.0 == pytest.approx(processed / len(REPLICATIONS))


def test_throughput_timeline_counts_processed_events_not_phantoms():
    # a phantom (its transaction rolled back) has a first effect, but it is not processed
    messages = make_messages()
    phantom = (messages.strategy == STRATEGIES[0]) & (messages.index % 10 == 0)
    messages.loc[phantom, ["committed", "fate"]] = [False, "aborted"]
    fig = throughput_timeline(messages, make_faults(), bin_width=1.0, sim_time=SIM_TIME)
    line = next(ln for ln in fig.axes[0].lines if ln.get_label() == STRATEGIES[0])
    rate = np.asarray(line.get_ydata())[:-1]
    own = messages[messages.strategy == STRATEGIES[0]]
    processed = (own["fate"] == "processed").sum()
    assert rate.sum() == pytest.approx(processed / len(REPLICATIONS))


def test_crash_without_restart_reaches_right_edge():
    faults = make_faults().assign(restart_after=math.nan)
    faults = faults[faults["kind"] == "crash"]
    fig = throughput_timeline(make_messages(), faults, bin_width=1.0, sim_time=SIM_TIME)
    ax = fig.axes[0]
    (span,) = ax.patches
    assert span.get_x() == pytest.approx(5.0)
    assert span.get_x() + span.get_width() == pytest.approx(SIM_TIME)


def test_latency_cdf_one_line_per_strategy_log_scale():
    fig = latency_cdf(make_messages())
    ax = fig.axes[0]
    assert len(ax.lines) == len(STRATEGIES)
    assert ax.get_xscale() == "log"
    for line in ax.lines:
        y = np.asarray(line.get_ydata())
        assert y[-1] == pytest.approx(1.0)
        assert np.all(np.diff(y) >= 0)


def test_helpers():
    assert nice_bin_width(60.0) == 1.0
    assert nice_bin_width(90.0) == 2.0
    assert nice_bin_width(6.0) == pytest.approx(0.1)
    assert t95(1) == pytest.approx(12.706)
    assert t95(30) == pytest.approx(2.042)
    assert t95(31) == pytest.approx(2.0395, abs=1e-3)
    assert t95(120) == pytest.approx(1.9799, abs=1e-3)
    assert t95(10_000) == pytest.approx(1.9602, abs=1e-3)


def test_concatenated_frames_with_repeated_index_and_categorical_strategy(tmp_path):
    messages = make_messages()
    messages = pd.concat([messages, messages.assign(cell=1)])  # index labels repeat
    messages["strategy"] = messages["strategy"].astype("category")
    summary = make_summary()
    summary = pd.concat([summary, summary.assign(cell=1)])
    paths = draw_all(summary, messages, make_faults(), tmp_path)
    assert {p.name for p in paths} == EXPECTED
    fig = latency_cdf(messages)
    assert "cell 0" in fig.axes[0].get_title()
    assert len(fig.axes[0].lines) == len(STRATEGIES)


def test_large_cdf_is_thinned_but_ends_at_one():
    n = 20_000
    messages = pd.DataFrame(
        {
            "strategy": "at-least-once",
            "cell": 0,
            "replication": 0,
            "fate": "processed",
            "latency": np.linspace(0.001, 0.01, n),
        }
    )
    (line,) = latency_cdf(messages).axes[0].lines
    y = np.asarray(line.get_ydata())
    assert len(y) <= 4001
    assert y[-1] == pytest.approx(1.0)
    assert ax_is_linear(line)


def ax_is_linear(line) -> bool:
    return line.axes.get_xscale() == "linear"  # one decade only: no log scale


def test_sweep_lines_and_cause_breakdown_from_a_real_sweep(tmp_path) -> None:
    import sim
    from sim.report.charts import cause_breakdown, sweep_lines, swept_parameters

    cfg = {
        "strategies": ["at-most-once", "at-least-once"],
        "replications": 2,
        "duration": 4,
        "drain": 3,
        "faults": [
            {"kind": "drop", "link": "producer-0->broker-0", "probability": 0.0},
            {"kind": "drop", "link": "broker-0->producer-0", "probability": 0.2},
        ],
        "sweep": {"faults.0.probability": [0.0, 0.2, 0.4]},
    }
    res = sim.run(cfg, workers=1, progress=False)
    assert swept_parameters(res.summary) == ["faults.0.probability"]
    fig = sweep_lines(res.summary)
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 2  # one line per strategy
    xs = fig.axes[0].lines[0].get_xdata()
    assert list(xs) == [0.0, 0.2, 0.4]
    fig = cause_breakdown(res.messages)
    labels = {t.get_text() for legend in fig.legends for t in legend.get_texts()}
    assert {"drop:producer-0->broker-0", "drop:broker-0->producer-0"} <= labels
    assert len(fig.axes) == 2 * 3  # lost and duplicates, one row per cell
    from sim.report.charts import figures, save_figure

    drawn = figures(res.summary, res.messages, res.faults, names=["sweep", "causes"])
    written = {p.name for name, f in drawn for p in save_figure(f, tmp_path, name)}
    assert written == {"sweep.png", "sweep.svg", "causes.png", "causes.svg"}


def test_aggregate_gives_mean_and_ci_per_cell_and_strategy() -> None:
    import numpy as np

    from sim.report.stats import aggregate, mean_ci

    summary = pd.DataFrame(
        {
            "experiment": "x",
            "cell": [0, 0, 0, 0],
            "strategy": ["a", "a", "b", "b"],
            "replication": [0, 1, 0, 1],
            "seed": 1,
            "loss_rate": [0.1, 0.3, 0.0, 0.0],
            "latency_p99": [1.0, 3.0, 2.0, 2.0],
            "wall_seconds": 0.1,
        }
    )
    agg = aggregate(summary)
    assert list(agg["strategy"]) == ["a", "b"] and list(agg["n"]) == [2, 2]
    assert agg.loc[0, "loss_rate"] == pytest.approx(0.2)
    half = 12.706 * np.std([0.1, 0.3], ddof=1) / np.sqrt(2)
    assert agg.loc[0, "loss_rate_ci95"] == pytest.approx(half)
    assert agg.loc[1, "latency_p99_ci95"] == 0.0
    assert np.isnan(mean_ci([1.0])[1])


# --------------------------------------------------------------------------- issue 12


def test_colours_are_fixed_by_name_and_colour_blind_safe():
    from sim.report.style import OKABE_ITO, strategy_colour, strategy_colours

    assert (
        strategy_colours(["at-most-once", "at-least-once"])["at-least-once"]
        == (strategy_colours(["outbox", "at-least-once"])["at-least-once"])
    )
    known = ["at-most-once", "at-least-once", "exactly-once", "outbox", "two-phase-commit"]
    assert {strategy_colour(s) for s in known} <= set(OKABE_ITO.values())
    assert len({strategy_colour(s) for s in known}) == len(known)
    assert strategy_colour("my-own") == strategy_colour("my-own")  # a stable hash
    colours = strategy_colours([f"custom-{i}" for i in range(5)])
    assert len(set(colours.values())) == 5  # collisions are resolved within a chart


def test_timeline_lines_keep_their_strategy_colour():
    from sim.report.style import strategy_colour

    fig = throughput_timeline(make_messages(), make_faults(), sim_time=SIM_TIME)
    for line in fig.axes[0].lines:
        if line.get_label() in STRATEGIES:
            assert line.get_color() == strategy_colour(line.get_label())


def test_random_faults_are_shaded_as_the_union_with_their_count():
    faults = make_faults()
    faults = faults[faults["kind"] == "drop"].assign(source="faults.0/random")
    faults.loc[faults["replication"] == 1, "at"] = 15.0  # each replication has its own window
    fig = throughput_timeline(make_messages(), faults, bin_width=1.0, sim_time=SIM_TIME)
    assert len(fig.axes[0].patches) == 2
    (label,) = [t.get_text() for t in fig.legends[0].get_texts() if "drop" in t.get_text()]
    assert "2 windows in 2 of 2 replications" in label


def test_a_drop_of_probability_zero_is_not_shaded():
    faults = make_faults()
    faults = faults[faults["kind"] == "drop"].assign(probability=0.0)
    fig = throughput_timeline(make_messages(), faults, bin_width=1.0, sim_time=SIM_TIME)
    assert not fig.axes[0].patches


def test_step_triggered_crash_is_shaded_when_it_fired_in_each_strategy():
    from sim.report.style import strategy_colour

    base = make_faults()
    crash = base[base["kind"] == "crash"].assign(at=math.nan, on="after-send-before-ack")
    rows = []
    for strategy, when in (("at-least-once", 4.0), ("at-most-once", 9.0)):
        rows.append(crash.assign(strategy=strategy, fired_at=when))
    fig = throughput_timeline(make_messages(), pd.concat(rows), bin_width=1.0, sim_time=SIM_TIME)
    ax = fig.axes[0]
    dashed = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    assert sorted(ln.get_xdata()[0] for ln in dashed) == [4.0, 4.0, 9.0, 9.0]
    assert {ln.get_color() for ln in dashed} == {strategy_colour(s) for s in STRATEGIES}


def _sweep_summary(metric_values: dict[str, list[float]], values=(0.5, 1.0, 2.0)) -> pd.DataFrame:
    rows = []
    for cell, x in enumerate(values):
        for rep in range(3):
            row = {
                "experiment": "t",
                "cell": cell,
                "faults.0.restart_after": x,
                "strategy": "two-phase-commit",
                "replication": rep,
            }
            for metric, per_cell in metric_values.items():
                row[metric] = per_cell[cell] + (rep - 1) * 0.5 * per_cell[cell]
            rows.append(row)
    return pd.DataFrame(rows)


def test_sweep_chart_plots_the_chosen_metrics_with_units_and_feasible_bands():
    from sim.report.charts import sweep_lines

    summary = _sweep_summary(
        {"throughput": [48, 40, 29], "aborted": [27, 100, 394], "loss_rate": [0.0, 0.01, 0.9]}
    )
    fig = sweep_lines(summary, metrics=["throughput", "aborted", "loss_rate"])
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert labels == ["throughput (events/s)", "aborted (events)", "loss rate (% of committed)"]
    assert "restart_after" in fig.axes[-1].get_xlabel()
    for ax, top in zip(fig.axes, (math.inf, math.inf, 100.0), strict=True):
        (band,) = ax.collections
        ys = np.concatenate([p.vertices[:, 1] for p in band.get_paths()])
        assert ys.min() >= 0.0 and ys.max() <= top + 1e-9
    config = {"sweep": {"metrics": ["aborted"], "faults.0.restart_after": [0.5, 1, 2]}}
    assert len(sweep_lines(summary, config=config).axes) == 1


def test_sweep_over_a_category_uses_its_values_as_ticks():
    from sim.report.charts import sweep_lines

    summary = _sweep_summary(
        {"loss_rate": [0.0, 0.01, 0.2]}, values=("fsync", "interval", "memory")
    )
    summary = summary.rename(columns={"faults.0.restart_after": "broker.durability"})
    fig = sweep_lines(summary)
    assert [t.get_text() for t in fig.axes[-1].get_xticklabels()] == ["fsync", "interval", "memory"]


def test_lag_chart_shows_the_backlog_with_the_committed_lag_secondary():
    rows = []
    for rep in (0, 1):
        for t in range(10):
            rows.append(
                {
                    "strategy": "at-least-once",
                    "cell": 0,
                    "replication": rep,
                    "time": float(t),
                    "partition": 0,
                    "lag": 100 * (t % 5),
                    "backlog": t,
                }
            )
    from sim.report.charts import lag_timeline

    fig = lag_timeline(pd.DataFrame(rows))
    main, right = fig.axes
    (backlog,) = main.lines
    assert list(backlog.get_ydata()) == list(range(10))
    assert right.lines[0].get_linestyle() == "--"
    assert "Backlog" in main.get_title()
