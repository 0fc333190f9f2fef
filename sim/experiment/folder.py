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


MARKER = ".msgsim-results"
"""The file that marks a folder as a results folder msgsim wrote: ``--force`` removes a folder
only when it carries this marker."""

RESULTS_ROOT = Path("results")


def _refuse(out: str | Path, why: str) -> ConfigError:
    return ConfigError(f"{out}: {why}")


def check_out(out: str | Path, words: Mapping[str, str] = CLI_WORDS) -> Path:
    """A results folder given by the user (``--out``), resolved, or a :class:`ConfigError`
    when it is empty, the filesystem root, the working directory, the home directory or a
    parent of either. Nothing is written."""
    o = words["out"]
    if not str(out).strip():
        raise ConfigError(
            f"the results folder is an empty path ({o} ''): give a folder, e.g. "
            f"{o} results/my-run, or leave {o} out to write results/<name>."
        )
    try:
        real = Path(out).resolve()
        cwd = Path.cwd().resolve()
        home = Path.home().resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # ValueError: a NUL byte
        raise _refuse(out, f"cannot be resolved to a folder ({exc}).") from None
    if real == Path(real.anchor):
        raise _refuse(out, f"is the filesystem root; give {o} a folder of its own.")
    for place, name in ((cwd, "the working directory"), (home, "your home directory")):
        if place.is_relative_to(real):
            which = name if place == real else f"a parent of {name} ({place})"
            raise _refuse(
                out,
                f"is {which}: a results folder must be a folder of its own, which "
                f"{words['force']} may replace; give one, e.g. {o} results/my-run.",
            )
    return real


def default_out(name: str, root: Path = RESULTS_ROOT) -> Path:
    """``results/<name>``, refused unless it resolves inside ``results/``."""
    out = root / name
    try:
        inside = out.resolve().is_relative_to(root.resolve()) and out.resolve() != root.resolve()
    except (OSError, RuntimeError, ValueError):
        inside = False
    if not inside:
        raise _refuse(
            out,
            f"does not resolve to a folder inside {root}/ (a symbolic link, or a name that "
            "leaves the folder); give --out, or rename the experiment.",
        )
    return out


def _not_ours(out: str | Path, force: bool, words: Mapping[str, str]) -> ConfigError:
    f = words["force"]
    even = f", even with {f}, which" if force else f" ({f}"
    return _refuse(
        out,
        f"already exists and is not a results folder msgsim wrote (it has no {MARKER} marker), so "
        f"msgsim leaves it untouched{even} replaces only a folder msgsim wrote"
        f"{'' if force else ')'}. Choose another {words['out']}, or empty or remove the folder "
        "yourself.",
    )


def prepare_folder(out: str | Path, force: bool, words: Mapping[str, str] = CLI_WORDS) -> Path:
    """Check ``out`` (:func:`check_out`), refuse an existing folder unless ``force`` and it
    carries msgsim's marker (then it is cleared), create it and mark it. Never deletes
    anything else. ``words`` names the options in the caller's terms (``--force`` on the
    command line, ``force=True`` in Python)."""
    real = check_out(out, words)
    if real.exists() and not real.is_dir():
        raise _refuse(out, f"exists and is not a folder. Choose another {words['out']}.")
    try:
        filled = real.is_dir() and any(real.iterdir())
        if filled and not (real / MARKER).is_file():
            raise _not_ours(out, force, words)
        if filled and not force:
            raise _refuse(
                out,
                f"the results folder already exists. Pass {words['force']} to replace it, "
                f"{words['resume']} to finish an interrupted run of the same config, or "
                f"{words['out']} to write elsewhere; it was left untouched.",
            )
        if filled:
            shutil.rmtree(real)
        real.mkdir(parents=True, exist_ok=True)
        write_text(
            real / MARKER,
            "A results folder written by msgsim (msgsim run --force may replace it).\n",
        )
    except OSError as exc:
        raise _cannot_write(out, exc, words) from None
    return real


def resumable(out: str | Path, words: Mapping[str, str] = CLI_WORDS) -> bool:
    """Whether ``out`` holds an experiment to resume (its ``config.yaml``); a folder msgsim
    did not write is refused."""
    real = check_out(out, words)
    if not (real / "config.yaml").is_file():
        return False
    if not (real / MARKER).is_file():
        raise _not_ours(out, False, words)
    return True


def why_not_writable(exc: OSError) -> str:
    """Why a folder could not be written, in words (the results folder, charts, a diagram)."""
    if isinstance(exc, NotADirectoryError | FileExistsError):
        return "a part of the path is a file, not a folder"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror or str(exc)


def _cannot_write(out: str | Path, exc: OSError, words: Mapping[str, str]) -> ConfigError:
    where = exc.filename or out
    hint = why_not_writable(exc)
    return _refuse(
        out,
        f"cannot write the results folder ({hint}: {where}). Choose another {words['out']}, a "
        "folder you may write to.",
    )


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
    write_text(runs / f"{spec.key}.json", json.dumps(output.rows))


def finished_runs(
    folder: Path,
    config_text: str,
    specs: list[RunSpec],
    trace: str,
    words: Mapping[str, str] = CLI_WORDS,
) -> dict[str, RunOutput]:
    """The runs an interrupted experiment already wrote, if it ran the same config. A run
    whose files cannot be read back is not finished: it runs again."""
    try:
        stored = yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"{folder}: cannot resume: its config.yaml cannot be read ({exc.__class__.__name__})."
            f" Use {words['force']} to start again."
        ) from None
    if stored != yaml.safe_load(config_text):
        raise ConfigError(
            f"{folder}: cannot resume: its config.yaml differs from this config. Rerun with the "
            f"same config and overrides, or use {words['force']} to start again."
        )
    out: dict[str, RunOutput] = {}
    for spec in specs:
        if (folder / "runs" / f"{spec.key}.json").exists():
            try:
                out[spec.key] = _read_run(folder / "runs", spec.key, trace)
            except Exception:  # damaged (pyarrow, json, OS errors alike): run it again
                continue
    return out


def _read_run(runs: Path, key: str, trace: str) -> RunOutput:
    rows = json.loads((runs / f"{key}.json").read_text(encoding="utf-8"))
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ValueError(f"{key}.json holds no summary rows")
    msgs = evs = None
    if trace in ("messages", "full"):
        msgs = pd.read_parquet(runs / f"{key}.messages.parquet")
    if trace == "full":
        evs = pd.read_parquet(runs / f"{key}.events.parquet")
    lag_file = runs / f"{key}.lag.parquet"
    lag = pd.read_parquet(lag_file) if lag_file.exists() else None
    fired_file = runs / f"{key}.fired.parquet"
    fired = pd.read_parquet(fired_file) if fired_file.exists() else None
    return RunOutput(rows, msgs, evs, lag, fired)
