"""An interrupted experiment resumes: finished runs are read back, only the missing ones run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

import sim

CONFIG = {
    "name": "resume",
    "seed": 11,
    "replications": 3,
    "duration": 15,
    "drain": 5,
    "trace": "messages",
    "strategies": ["at-most-once", "at-least-once"],
    "workload": {"rate": 200},
    "faults": [
        {"kind": "drop", "link": "producer-0->broker-0", "probability": 0.2, "at": 2, "duration": 5}
    ],
}


def _frame(path: Path) -> pd.DataFrame:
    return pd.read_csv(path / "summary.csv").drop(columns=["wall_seconds"])


@pytest.mark.slow  # a whole experiment twice, killed halfway: `make test-all`
def test_killed_run_resumes_and_matches_an_uninterrupted_one(tmp_path: Path) -> None:
    cfg_file = tmp_path / "resume.yaml"
    cfg_file.write_text(yaml.safe_dump(CONFIG))
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    base = [
        sys.executable,
        "-m",
        "sim",
        "run",
        str(cfg_file),
        "--workers",
        "1",
        "--no-progress",
        "--no-charts",
    ]
    subprocess.run([*base, "--out", str(whole)], check=True, capture_output=True)

    proc = subprocess.Popen(
        [*base, "--out", str(cut)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((cut / "runs").glob("*.json"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = len(list((cut / "runs").glob("*.json")))
    assert 2 <= finished < 6, "the kill must land halfway"
    assert not (cut / "summary.csv").exists()

    # a plain rerun refuses the existing folder; --resume finishes only what is missing
    again = subprocess.run([*base, "--out", str(cut)], capture_output=True, text=True)
    assert again.returncode == 2
    resumed = subprocess.run([*base, "--out", str(cut), "--resume"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed: {finished} of 6 runs" in resumed.stdout
    pd.testing.assert_frame_equal(_frame(cut), _frame(whole))
    a = pd.read_parquet(cut / "messages.parquet")
    b = pd.read_parquet(whole / "messages.parquet")
    pd.testing.assert_frame_equal(a, b)


def test_resume_refuses_a_different_config(tmp_path: Path) -> None:
    out = tmp_path / "out"
    sim.run(
        {**CONFIG, "replications": 1, "duration": 3},
        out=out,
        workers=1,
        progress=False,
        charts=False,
    )
    with pytest.raises(sim.ConfigError, match="cannot resume"):
        sim.run(
            {**CONFIG, "replications": 1, "duration": 4},
            out=out,
            workers=1,
            progress=False,
            resume=True,
        )
    res = sim.run(
        {**CONFIG, "replications": 1, "duration": 3},
        out=out,
        workers=1,
        progress=False,
        resume=True,
        charts=False,
    )
    assert res.resumed == 2


@pytest.mark.skipif(os.name != "posix", reason="uses POSIX signals")
def test_nothing_half_written_under_real_names(tmp_path: Path) -> None:
    out = tmp_path / "out"
    sim.run({**CONFIG, "replications": 1, "duration": 3}, out=out, workers=1, progress=False)
    leftovers = [p for p in out.rglob("*") if ".tmp" in p.name]
    assert leftovers == []
