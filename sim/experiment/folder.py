"""The results folder on disk: atomic writes, preparing the folder, and the per-run files.

Every file is written through a temporary name in the same folder and renamed into place, so
an interrupted write never leaves a half-written file under the real name. Each finished run
is written to ``runs/`` at once (its summary row last, which marks it done), so an
interrupted experiment resumes from there.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd
import yaml

from ..config import ConfigError
from .plan import RunSpec
from .run import RunOutput


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` for a temporary sibling of ``path``, then rename it to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(path: Path, text: str) -> None:
    def write(p: Path) -> None:
        p.write_text(text, encoding="utf-8")

    atomic_write(path, write)


def write_parquet(path: Path, frame: pd.DataFrame) -> None:
    atomic_write(path, lambda p: frame.to_parquet(p, index=False))


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    atomic_write(path, lambda p: frame.to_csv(p, index=False, lineterminator="\n"))


#: How the command line names the options that the folder's messages suggest.
CLI_WORDS: Mapping[str, str] = {"force": "--force", "out": "--out", "resume": "--resume"}


def prepare_folder(out: Path, force: bool, words: Mapping[str, str] = CLI_WORDS) -> None:
    """Refuse an existing folder unless ``force`` (then it is cleared), and create it.

    ``words`` names the options in the caller's terms (``--force`` on the command line,
    ``force=True`` in Python)."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: exists and is not a folder. Choose another {words['out']}.")
    if out.exists() and any(out.iterdir()):
        if not force:
            raise ConfigError(
                f"{out}: the results folder already exists. Pass {words['force']} to replace "
                f"it, {words['resume']} to finish an interrupted run of the same config, or "
                f"{words['out']} to write elsewhere; it was left untouched."
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def write_run(folder: Path, spec: RunSpec, output: RunOutput) -> None:
    """One finished run's files under ``runs/``; the summary row last (it marks the run done)."""
    runs = folder / "runs"
    for name, frame in (
        ("messages", output.messages),
        ("events", output.events),
        ("lag", output.lag),
        ("fired", output.fired),
    ):
        if frame is not None:
            write_parquet(runs / f"{spec.key}.{name}.parquet", frame)
    write_text(runs / f"{spec.key}.json", json.dumps(output.row))


def finished_runs(
    folder: Path,
    config_text: str,
    specs: list[RunSpec],
    trace: str,
    words: Mapping[str, str] = CLI_WORDS,
) -> dict[str, RunOutput]:
    """The runs an interrupted experiment already wrote, if it ran the same config."""
    stored = yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8"))
    if stored != yaml.safe_load(config_text):
        raise ConfigError(
            f"{folder}: cannot resume: its config.yaml differs from this config. Rerun with the "
            f"same config and overrides, or use {words['force']} to start again."
        )
    runs = folder / "runs"
    out: dict[str, RunOutput] = {}
    for spec in specs:
        row_file = runs / f"{spec.key}.json"
        if not row_file.exists():
            continue
        row = json.loads(row_file.read_text(encoding="utf-8"))
        msgs = evs = None
        if trace in ("messages", "full"):
            msgs = pd.read_parquet(runs / f"{spec.key}.messages.parquet")
        if trace == "full":
            evs = pd.read_parquet(runs / f"{spec.key}.events.parquet")
        lag_file = runs / f"{spec.key}.lag.parquet"
        lag = pd.read_parquet(lag_file) if lag_file.exists() else None
        fired_file = runs / f"{spec.key}.fired.parquet"
        fired = pd.read_parquet(fired_file) if fired_file.exists() else None
        out[spec.key] = RunOutput(row, msgs, evs, lag, fired)
    return out
