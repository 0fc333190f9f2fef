"""The reference in docs/ is generated from the code and complete: every key of the config
models, every column of every frame, every metric, operation, fault kind and protocol step.

When this fails after adding a key or a column: explain it in ``sim/report/glossary.py`` (or
``sim/core/metrics.py`` for a summary metric), then run ``make docs`` and commit docs/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import sim
from sim.check import COUNT_COLUMNS, RATE_COLUMNS
from sim.config import FAULT_KINDS, PROTOCOL_STEPS
from sim.core.metrics import METRICS
from sim.history.ops import Op
from sim.report import reference
from sim.report.cells import swept_parameters
from sim.report.glossary import FRAMES

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_key_of_the_config_models_is_documented() -> None:
    assert reference.missing_keys() == []
    text = reference.config_md()
    for path, _type, _default, _unit, meaning in reference.rows_of(sim.ExperimentConfig):
        assert meaning, f"{path} has no meaning"
        assert f"`{path}`" in text
    documented = set(re.findall(r"^\| `([^`]+)` \|", text, flags=re.M))
    last = {path.rsplit(".", 1)[-1] for path in documented}
    for model in reference.every_model():
        for name in model.model_fields:
            assert name in last, f"{model.__name__}.{name} is not in docs/config.md"


def test_every_fault_kind_protocol_step_and_operation_is_documented() -> None:
    config, history = reference.config_md(), reference.history_md()
    for kind in FAULT_KINDS:
        assert f"### `{kind}`" in config
    for step in PROTOCOL_STEPS:
        assert f"`{step}`" in config
    for op in Op:
        assert f"`{op.value}`" in history


def test_every_summary_metric_is_declared_with_a_unit() -> None:
    assert set(COUNT_COLUMNS + RATE_COLUMNS) <= set(METRICS)
    assert all(m.unit and m.meaning for m in METRICS.values())


def test_the_committed_docs_are_up_to_date() -> None:
    stale = reference.write(DOCS, check=True)
    assert not stale, f"docs/{stale} are stale: run `make docs` and commit docs/"


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    cfg = {
        "strategies": ["at-least-once", "commit-then-publish"],
        "replications": 1,
        "duration": 3,
        "drain": 3,
        "trace": "full",
        "workload": {"rate": 30, "abort_probability": 0.1},
        "faults": [
            {"kind": "drop", "link": "broker-0->producer-0", "probability": 0.3},
            {
                "kind": "crash",
                "node": "producer-0",
                "on": "after-commit-before-publish",
                "occurrence": 10,
                "restart_after": 0.5,
            },
        ],
        "sweep": {"producer.request_timeout": [0.2, 0.5]},
    }
    out = tmp_path_factory.mktemp("ref") / "out"
    sim.run(cfg, workers=1, progress=False, out=out, charts=False)
    return sim.load_results(out)


def test_every_column_of_every_frame_is_documented(frames) -> None:
    res = frames
    swept = set(swept_parameters(res.summary))
    summary_doc = set(FRAMES["summary"]) | set(METRICS)
    assert set(res.summary.columns) - swept <= summary_doc
    checks = {
        "messages": res.messages,
        "events": res.events,
        "faults": res.fault_log,
        "lag": res.lag,
        "duplicates": res.duplicates,
    }
    for name, frame in checks.items():
        assert not frame.empty, name
        assert set(frame.columns) <= set(FRAMES[name]), (
            name,
            set(frame.columns) - set(FRAMES[name]),
        )
    text = reference.frames_md()
    for name in checks:
        assert f"## `{name}`" in text
