"""`msgsim explain`: one event's journey told from a full trace, and its sequence diagram."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import sim
from sim.check import check
from sim.history import causes
from sim.history.recorder import frame_to_ops
from sim.report.explain import (
    JOURNEY_COLUMNS,
    ExplainError,
    explain,
    explain_text,
    journey,
    runs_of,
    sequence_diagram,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _config(strategy: str, faults: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "name": "explain",
        "seed": 3,
        "replications": 1,
        "duration": 10,
        "drain": 10,
        "trace": "full",
        "strategies": [strategy],
        "workload": {"producers": 1, "rate": 50, "keys": 8},
        "topology": {"brokers": 1, "partitions": 4, "consumers": 2},
        "faults": faults,
        **extra,
    }


def _drop(link: str) -> dict[str, Any]:
    return {"kind": "drop", "link": link, "probability": 0.3, "at": 0, "duration": 10}


def _run_and_save(cfg: dict[str, Any], folder: Path) -> sim.Results:
    res = sim.run(cfg, workers=1, progress=False)
    res.save(folder, charts=False)
    return res


def _step_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.match(r"\s+\d+\. t=", line)]


@pytest.fixture(scope="module")
def ack_loss(tmp_path_factory: pytest.TempPathFactory) -> tuple[sim.Results, Path]:
    folder = tmp_path_factory.mktemp("explain") / "r"
    faults = [_drop("broker-0->producer-0")]
    return _run_and_save(_config("at-least-once", faults), folder), folder


def test_duplicate_from_a_lost_ack_is_told_in_order(ack_loss: tuple[sim.Results, Path]) -> None:
    res, folder = ack_loss
    dup = res.messages[res.messages["effects"] == 2].iloc[0]
    eid = str(dup["id"])
    text, paths = explain(folder, eid)

    assert f"Event {eid} in run c0-at-least-once-r0" in text
    assert "drop:broker-0->producer-0" in text
    assert "fate: processed | effects: 2 (1 duplicate) | deliveries: 2" in text
    lines = _step_lines(text)
    appends = [i for i, line in enumerate(lines) if " appended it to partition " in line]
    effects = [i for i, line in enumerate(lines) if " applied its effect " in line]
    ack_drops = [
        i for i, line in enumerate(lines) if "dropped message" in line and "(produce-ack)" in line
    ]
    assert len(appends) == 2 and len(effects) == 2
    assert ack_drops and ack_drops[0] < appends[1]  # the lost ack comes before the second copy
    assert appends[0] < effects[0] and appends[1] < effects[1]
    assert "effect 2: a duplicate, cause: drop:broker-0->producer-0" in lines[effects[1]]
    resend = next(i for i, line in enumerate(lines) if "producer-0 resent it to broker-0" in line)
    assert ack_drops[0] < resend < appends[1]
    why = text.strip().splitlines()[-1]
    assert why.startswith("Why:") and "drop:broker-0->producer-0" in why

    name = f"explain-c0-at-least-once-r0-{eid}"
    assert [p.name for p in paths] == [f"{name}.png", f"{name}.svg"]
    assert all(p.parent == folder / "charts" and p.stat().st_size > 0 for p in paths)
    assert paths[0].read_bytes()[:8] == PNG_MAGIC


def test_journey_frame_and_run_labels(ack_loss: tuple[sim.Results, Path]) -> None:
    res, _folder = ack_loss
    assert runs_of(res) == ["c0-at-least-once-r0"]
    eid = str(res.messages[res.messages["effects"] == 2].iloc[0]["id"])
    steps = journey(res, eid)
    assert list(steps.columns) == JOURNEY_COLUMNS
    assert steps["seq"].is_monotonic_increasing
    assert steps["step"].iloc[0] == "created"
    told = {"sent", "dropped", "retried", "stored", "delivered", "applied", "reapplied"}
    assert told <= set(steps["step"])
    assert (steps["text"].str.len() > 0).all()
    # the same story through the in-memory results and an explicit run label
    given = explain_text(res, eid, run="c0-at-least-once-r0").splitlines()
    chosen = explain_text(res, eid).splitlines()
    assert "(given with --run)" in given[0] and "(the only run holding it)" in chosen[0]
    assert given[1:] == chosen[1:]


def test_diagram_is_deterministic_and_marks_the_drop(
    ack_loss: tuple[sim.Results, Path], tmp_path: Path
) -> None:
    res, folder = ack_loss
    eid = str(res.messages[res.messages["effects"] == 2].iloc[0]["id"])
    fig = sequence_diagram(res, eid)
    ax = fig.axes[0]
    lifelines = [t.get_text() for t in ax.get_xticklabels()]
    assert lifelines[:2] == ["producer-0", "broker-0"] and lifelines[-1] == "sink"
    assert len(lifelines) == 4 and lifelines[2].startswith("consumer-")
    texts = [t.get_text() for t in ax.texts]
    assert "drop:broker-0->producer-0" in texts
    assert eid in ax.get_title(loc="left")
    _text1, first = explain(folder, eid, out_dir=tmp_path / "a")
    _text2, second = explain(folder, eid, out_dir=tmp_path / "b")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def test_why_is_the_checkers_word(ack_loss: tuple[sim.Results, Path]) -> None:
    """The extra copy in the log and the extra effect are explained by the checker's
    attribution on the stored history, and the closing line reads the cause in plain words."""
    res, _folder = ack_loss
    eid = str(res.messages[res.messages["effects"] == 2].iloc[0]["id"])
    events = res.events
    run = events[(events["strategy"] == "at-least-once") & (events["replication"] == 0)]
    verdict = check(frame_to_ops(run.sort_values("seq", kind="stable")), 10.0, 20.0)
    state = verdict.events[eid]
    (_first, none), (_second, why) = state.append_causes
    assert none is None and why is not None
    text = explain_text(res, eid)
    copy = next(line for line in _step_lines(text) if "; copy 2 in the log" in line)
    assert copy.endswith(f"copy 2 in the log, because of {why}")
    (cause,) = state.duplicate_causes
    words = causes.describe(cause, duplicate=True)
    assert words and f"cause: {cause} ({words})" in text.strip().splitlines()[-1]


def test_the_story_is_the_same_without_the_messages_frame(
    ack_loss: tuple[sim.Results, Path],
) -> None:
    """The verdict on the stored history gives the same fate and causes as messages.parquet,
    so the story can be told from the trace alone."""
    res, _folder = ack_loss
    msgs = res.messages
    ids = [*msgs[msgs["effects"] > 1]["id"][:3], *msgs[msgs["effects"] == 1]["id"][:2]]
    with_rows = [explain_text(res, str(eid)) for eid in ids]
    alone = sim.Results(res.summary, pd.DataFrame(), res.events, res.faults, res.config)
    assert [explain_text(alone, str(eid)) for eid in ids] == with_rows


def test_redelivery_after_consumer_crash(tmp_path: Path) -> None:
    faults = [{"kind": "crash", "node": "consumer-*", "at": 5, "restart_after": 1}]
    res = _run_and_save(_config("at-least-once", faults), tmp_path / "r")
    dup = res.messages[res.messages["effects"] > 1].iloc[0]
    text, paths = explain(tmp_path / "r", str(dup["id"]))
    assert "redelivery after crash:consumer-" in text
    lines = _step_lines(text)
    crash = next(i for i, line in enumerate(lines) if "CRASHED" in line)
    redelivery = next(i for i, line in enumerate(lines) if "a redelivery" in line)
    assert crash < redelivery
    assert all(p.exists() for p in paths)


def test_lost_event_names_the_drop(tmp_path: Path) -> None:
    faults = [_drop("producer-0->broker-0")]
    res = _run_and_save(_config("at-most-once", faults), tmp_path / "r")
    lost = res.messages[res.messages["fate"] == "lost"].iloc[0]
    text, _paths = explain(tmp_path / "r", str(lost["id"]))
    assert "fate: lost" in text
    assert "loss_cause: drop:producer-0->broker-0" in text
    assert "the network dropped message" in text
    why = text.strip().splitlines()[-1]
    assert "it was lost" in why and "drop:producer-0->broker-0" in why


def test_run_choice_prefers_an_interesting_fate(tmp_path: Path) -> None:
    faults = [_drop("producer-0->broker-0")]
    both = ["at-least-once", "at-most-once"]
    cfg = _config("at-least-once", faults, strategies=both, duration=4, drain=4)
    res = sim.run(cfg, workers=1, progress=False)
    assert runs_of(res) == ["c0-at-least-once-r0", "c0-at-most-once-r0"]
    msgs = res.messages
    lost = msgs[(msgs["strategy"] == "at-most-once") & (msgs["fate"] == "lost")]
    eid = str(lost.iloc[0]["id"])
    text = explain_text(res, eid)
    chosen = f"Event {eid} in run c0-at-most-once-r0 (the first run where it was lost"
    assert text.startswith(chosen)
    assert "--run c0-at-least-once-r0" in text
    # a partial --run that names one run is accepted; one that names several is ambiguous
    matched = explain_text(res, eid, run="at-least-once")
    assert matched.startswith(f"Event {eid} in run c0-at-least-once-r0")
    with pytest.raises(ExplainError, match="ambiguous"):
        journey(res, eid, run="once")


def test_errors_say_what_to_do(ack_loss: tuple[sim.Results, Path], tmp_path: Path) -> None:
    _res, folder = ack_loss
    # no events.parquet: the trace was not full
    cfg = _config("at-most-once", [], trace="messages", duration=2, drain=1)
    _run_and_save(cfg, tmp_path / "m")
    with pytest.raises(ExplainError, match="trace: full"):
        explain(tmp_path / "m", "p0-0")
    with pytest.raises(ExplainError, match="trace: full"):
        runs_of(sim.load_results(tmp_path / "m"))
    # not a results folder
    with pytest.raises(ExplainError, match="summary.csv"):
        explain(tmp_path / "nothing-here", "p0-0")
    # unknown id: examples of ids to try
    with pytest.raises(ExplainError, match=r"unknown message id 'p9-999'.*e\.g\..*p0-") as err:
        explain(folder, "p9-999")
    assert "duplicated:" in str(err.value)
    # unknown run: the valid labels
    with pytest.raises(ExplainError, match=r"unknown run 'c7-nope-r3'.*c0-at-least-once-r0"):
        explain(folder, "p0-1", run="c7-nope-r3")
    assert isinstance(ExplainError("x"), ValueError)
    assert not (folder / "charts" / "explain-c0-at-least-once-r0-p9-999.png").exists()
