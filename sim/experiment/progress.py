"""The progress bar of an experiment, in simulated seconds, with an ETA.

The bar's total is every run's ``duration + drain``; runs report their simulated time as they
go (:meth:`ProgressBar.advance`) and complete it when they finish. Shown on a terminal and in
Jupyter by default: there it is ``tqdm.auto`` (a widget) when ipywidgets is installed, else
the text bar on stdout, so a notebook never prints tqdm's "IProgress not found" warning.
"""

from __future__ import annotations

import importlib.util
import sys
from types import TracebackType
from typing import Any

from .run import Progress


def in_notebook() -> bool:
    """Whether this is a Jupyter kernel (an IPython kernel app, not a terminal IPython)."""
    shell = sys.modules.get("IPython")
    if shell is None or "ipykernel" not in sys.modules:
        return False
    try:
        ip = shell.get_ipython()  # type: ignore[attr-defined]
    except Exception:
        return False
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def _tqdm_class(notebook: bool) -> Any:
    if notebook and importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.auto import tqdm as auto

        return auto
    from tqdm.std import tqdm as text

    return text


class ProgressBar:
    """Simulated seconds done over all runs; ``enabled`` False draws nothing."""

    def __init__(self, horizons: dict[str, float], show: bool | None = None) -> None:
        notebook = in_notebook()
        if show is None:
            show = sys.stderr.isatty() or notebook
        self.enabled = bool(show) and bool(horizons)
        self.horizons = horizons
        self.done: dict[str, float] = {}
        self.finished = 0
        self.bar: Any = None
        if self.enabled:
            cls = _tqdm_class(notebook)
            self.bar = cls(
                total=round(sum(horizons.values()), 3),
                unit=" sim s",
                desc=self._desc(),
                dynamic_ncols=True,
                mininterval=1.0 if notebook else 0.1,
                file=sys.stdout if notebook else sys.stderr,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} sim s "
                "[{elapsed}<{remaining}]",
            )

    def _desc(self) -> str:
        return f"runs {self.finished}/{len(self.horizons)}"

    def advance(self, key: str, now: float) -> None:
        """Run ``key`` has simulated up to ``now``."""
        if not self.enabled:
            return
        now = min(now, self.horizons.get(key, now))
        step = now - self.done.get(key, 0.0)
        if step > 0:
            self.done[key] = now
            # never past the (rounded) total: float sums may overshoot it by a hair, and tqdm
            # warns when it draws a bar more than full
            self.bar.update(max(0.0, min(step, self.bar.total - self.bar.n)))

    def reporter(self, key: str) -> Progress:
        """A callback for a run in this process."""
        return lambda now: self.advance(key, now)

    def finish(self, key: str) -> None:
        """Run ``key`` is over (finished or failed)."""
        if not self.enabled:
            return
        self.advance(key, self.horizons.get(key, 0.0))
        self.finished += 1
        if self.finished == len(self.horizons):
            self.bar.n = self.bar.total  # no float rounding left: a full bar at the end
        self.bar.set_description_str(self._desc(), refresh=True)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.bar is not None:
            self.bar.close()
