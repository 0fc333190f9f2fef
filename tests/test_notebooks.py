"""Every notebook under notebooks/ executes top to bottom without an error, shows its charts
as images when executed headless, prints no tqdm warning, and is committed with its outputs
(so it reads on a code host).

``make notebooks`` (``python tests/test_notebooks.py``) executes them and saves the outputs.
The test runs each with ``TEST_PARAMETERS`` injected after its ``parameters`` cell, as
papermill does: the same cells on fewer replications, so the suite stays quick.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
TEST_PARAMETERS = {"REPLICATIONS": 1}


def parameters_cell(nb: nbformat.NotebookNode) -> int:
    """The index of the cell tagged ``parameters`` (papermill's convention)."""
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "a notebook has exactly one cell tagged 'parameters'"
    return tagged[0]


def execute(path: Path, parameters: dict[str, object] | None = None) -> nbformat.NotebookNode:
    """Execute the notebook; ``parameters`` (if any) are assigned in a cell inserted after its
    ``parameters`` cell, like papermill's injected parameters."""
    nb = nbformat.read(path, as_version=4)
    if parameters:
        source = "\n".join(f"{name} = {value!r}" for name, value in parameters.items())
        injected = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
        nb.cells.insert(parameters_cell(nb) + 1, injected)
    NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    return nb


def outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def images(nb: nbformat.NotebookNode) -> int:
    return sum(1 for o in outputs(nb) if "image/png" in o.get("data", {}))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_and_shows_its_charts(path: Path) -> None:
    sample = path.parent.parent / "results" / "sample"
    before = {f.name: f.stat().st_mtime_ns for f in sample.glob("*")}
    nb = execute(path, TEST_PARAMETERS)
    after = {f.name: f.stat().st_mtime_ns for f in sample.glob("*")}
    assert after == before, "running a notebook wrote into the repository (results/sample)"
    errors = [o for o in outputs(nb) if o.get("output_type") == "error"]
    assert not errors
    assert images(nb) >= 1, "charts must render as images when executed headless"
    streams = "".join(o.get("text", "") for o in outputs(nb) if o.get("output_type") == "stream")
    assert "TqdmWarning" not in streams and "IProgress" not in streams
    text = "".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs(nb))
    assert "<Figure size" not in text, "a chart printed as text instead of an image"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_committed_with_its_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    shown = [c for c in code if c.get("outputs")]
    assert len(shown) * 2 >= len(code), f"{path.name} lacks its outputs: run `make notebooks`"
    assert images(nb) >= 1, f"{path.name} is committed without its charts: `make notebooks`"
    params = nb.cells[parameters_cell(nb)].source  # what the test overrides, it sets
    assert all(f"{name} =" in params for name in TEST_PARAMETERS), params


def test_there_is_a_notebook() -> None:
    assert NOTEBOOKS


def settled(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Streams as a notebook shows them: a progress bar's updates (carriage returns) collapse
    to their last state, so the saved notebook reads as it looked."""
    for cell in nb.cells:
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and "\r" in out.get("text", ""):
                out["text"] = "\n".join(line.split("\r")[-1] for line in out["text"].split("\n"))
                if (
                    kept
                    and kept[-1].get("output_type") == "stream"
                    and kept[-1]["name"] == out["name"]
                    and "sim s" in kept[-1]["text"]
                ):
                    kept.pop()
            kept.append(out)
        if cell.cell_type == "code":
            cell["outputs"] = [o for o in kept if o.get("text", "x").strip() or "data" in o]
    return nb


if __name__ == "__main__":  # make notebooks: execute each and save it with its outputs
    os.environ["MSGSIM_SAMPLE_CHARTS"] = "1"  # and redraw the README's sample charts
    for notebook in [Path(a) for a in sys.argv[1:]] or NOTEBOOKS:
        executed = settled(execute(notebook))
        for i, cell in enumerate(executed.cells):
            cell.setdefault("id", f"cell-{i}")
        nbformat.write(executed, notebook)
        print(f"{notebook}: {images(executed)} images")
