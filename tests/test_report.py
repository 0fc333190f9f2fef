"""``report.html``: a self-contained page per results folder that answers the question, and
opens in headless Chromium without a console error with its charts on screen.

The Chromium test skips when no ``chromium`` is installed, except in CI: ``.ci/run`` installs
Debian's package before ``make test`` and sets ``MSGSIM_REQUIRE_CHROMIUM``, so there it fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.report.style import strategy_colour

CONFIG = """\
# Does at-least-once keep what at-most-once loses on a lossy link?
# A tiny experiment for the report test.
name: tiny
replications: 2
duration: 4
drain: 3
strategies: [at-most-once, at-least-once]
workload: {rate: 40}
faults:
  - {kind: drop, link: producer-0->broker-0, probability: 0.3, at: 1, duration: 2}
  - {kind: drop, link: broker-0->producer-0, probability: 0.2}
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("report")
    path = base / "tiny.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    out = base / "out"
    sim.run(path, workers=1, progress=False, out=out)
    return out


def test_report_answers_the_question_on_one_self_contained_page(folder: Path) -> None:
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "Does at-least-once keep what at-most-once loses on a lossy link?" in page
    for part in (
        "Summary",
        "Promises kept or broken",
        "Why events were lost",
        "Per day",
        "The fault schedule",
        "Charts",
    ):
        assert part in page, part
    assert re.search(
        r"\d+% of duplicates \([\d,]+ of [\d,]+\) came from lost acknowledgements "
        r"on broker-0-&gt;producer-0",
        page,
    )
    assert "each row is the mean of 2 replications" in page
    assert page.count("data:image/png;base64,") >= 4  # every chart inlined
    assert "<script" not in page and "<link" not in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page), "nothing may be fetched"
    assert (folder / "config.yaml").read_text().startswith("# Does at-least-once keep")


def test_the_question_survives_loading_the_folder(folder: Path) -> None:
    res = sim.load_results(folder)
    assert res.question.startswith("Does at-least-once keep")
    assert isinstance(res.config, sim.ExperimentConfig)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_report_opens_in_headless_chromium_without_errors(folder: Path, tmp_path: Path) -> None:
    if CHROMIUM is None:
        if os.environ.get("MSGSIM_REQUIRE_CHROMIUM"):
            pytest.fail("chromium is required (MSGSIM_REQUIRE_CHROMIUM, set by .ci/run)")
        pytest.skip("no chromium installed (.ci/run installs Debian's chromium)")
    shot = tmp_path / "report.png"
    proc = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--hide-scrollbars",
            "--window-size=1280,3000",
            f"--screenshot={shot}",
            (folder / "report.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line]
    assert not console, console
    assert "net::ERR" not in proc.stderr
    from matplotlib.image import imread

    pixels = imread(str(shot))[..., :3]
    assert pixels.shape[0] >= 3000
    for strategy in ("at-most-once", "at-least-once"):  # the charts are on screen
        rgb = np.array([int(strategy_colour(strategy)[i : i + 2], 16) for i in (1, 3, 5)]) / 255
        close = np.abs(pixels - rgb).max(axis=2) < 0.06
        assert close.sum() > 500, strategy


def test_promise_lines_read_the_recorded_verdicts_and_why_they_broke() -> None:
    import pandas as pd

    from sim.report.findings import promise_lines

    summary = pd.DataFrame(
        {
            "cell": [0, 0],
            "strategy": ["at-most-once", "at-most-once"],
            "replication": [0, 1],
            "promise_no_loss": ["not promised", "not promised"],
            "promise_no_duplicates": ["kept", "broken"],
            "promises_broken": ["none", "no-duplicates: duplicates = 3 (duplicate:a->b x3)"],
        }
    )
    lines, source = promise_lines(summary, None)
    assert "recorded" in source
    assert [(x.promise, x.status) for x in lines] == [("no-duplicates", "broken")]
    assert lines[0].detail == "broken in 1 of 2 runs (duplicates = 3 (duplicate:a->b x3))"
