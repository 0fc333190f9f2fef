"""Where runs execute does not change what they give: in-process, process pool, Dask."""

from __future__ import annotations

import pandas as pd
import pytest

import sim
import sim.experiment

CFG = {
    "strategies": ["at-most-once", "at-least-once"],
    "replications": 2,
    "duration": 5,
    "drain": 2,
    "trace": "messages",
    "faults": [{"kind": "drop", "link": "producer-0->broker-0", "probability": 0.1}],
    "sweep": {"faults.0.probability": [0.0, 0.1, 0.3]},
}


def _same(a: sim.Results, b: sim.Results) -> None:
    pd.testing.assert_frame_equal(
        a.summary.drop(columns=["wall_seconds"]), b.summary.drop(columns=["wall_seconds"])
    )
    pd.testing.assert_frame_equal(a.messages, b.messages)
    pd.testing.assert_frame_equal(a.faults, b.faults)


@pytest.mark.slow  # starts a Dask LocalCluster: `make test-all`
def test_sweep_gives_the_same_rows_in_process_in_a_pool_and_on_dask() -> None:
    one = sim.run(CFG, workers=1, progress=False)
    assert len(one.summary) == 12  # 3 cells x 2 strategies x 2 replications
    assert list(one.summary["faults.0.probability"].unique()) == [0.0, 0.1, 0.3]
    two = sim.run(CFG, workers=2, progress=False)
    _same(one, two)
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        on_dask = sim.run(CFG, dask=cluster.scheduler_address, progress=False)
    _same(one, on_dask)
    # at-most-once loss grows with the swept drop probability
    amo = (
        one.summary[one.summary["strategy"] == "at-most-once"]
        .groupby("faults.0.probability")["loss_rate"]
        .mean()
    )
    assert amo.is_monotonic_increasing and amo.iloc[0] == 0


def test_a_failing_run_is_reported_and_the_others_finish(monkeypatch: pytest.MonkeyPatch) -> None:
    real = sim.experiment.dispatch.run_one

    def flaky(cfg, strategy, cell, replication, seed, schedule, extra=None):  # type: ignore[no-untyped-def]
        if strategy == "at-least-once" and replication == 1:
            raise RuntimeError("boom")
        return real(cfg, strategy, cell, replication, seed, schedule, extra)

    monkeypatch.setattr(sim.experiment.dispatch, "run_one", flaky)
    res = sim.run({**CFG, "sweep": {}}, workers=1, progress=False)
    assert len(res.summary) == 3
    assert len(res.errors) == 1
    assert (
        "c0-at-least-once-r1" in res.errors[0]
        and "boom" in res.errors[0]
        and "seed" in res.errors[0]
    )
