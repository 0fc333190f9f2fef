"""The look shared by every chart: one colour per strategy, fixed by its name; fault styles;
matplotlib settings; and :class:`Chart`, a figure that shows itself in a notebook.

Colours are the Okabe-Ito palette (distinguishable with every common colour-vision
deficiency). Each known strategy has its own colour, the same in every chart of every
experiment, so charts of different experiments can share a slide. An unknown strategy name
gets a colour from Paul Tol's colour-blind-safe "muted" palette chosen by a stable hash of
the name (SHA-256, never Python's salted built-in hashing); only when two unknown names of one chart
hash to the same colour does the second take the next free one.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import matplotlib
from matplotlib.figure import Figure

#: The Okabe-Ito palette (Okabe & Ito 2008), without its yellow (too light on white).
OKABE_ITO: dict[str, str] = {
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "green": "#009E73",
    "orange": "#E69F00",
    "reddish purple": "#CC79A7",
    "sky blue": "#56B4E9",
    "black": "#000000",
}

#: The colour of each known strategy: fixed, whatever else a chart shows.
STRATEGY_COLOURS: dict[str, str] = {
    "at-most-once": OKABE_ITO["vermillion"],
    "at-least-once": OKABE_ITO["blue"],
    "exactly-once": OKABE_ITO["green"],
    "outbox": OKABE_ITO["reddish purple"],
    "two-phase-commit": OKABE_ITO["orange"],
    "commit-then-publish": OKABE_ITO["sky blue"],
    "publish-then-commit": OKABE_ITO["black"],
    "at-least-once-idempotent": "#332288",
    "idempotent-producer": "#117733",
}

#: Paul Tol's "muted" palette: colours for strategy names not listed above.
EXTRA_COLOURS: tuple[str, ...] = (
    "#332288",
    "#88CCEE",
    "#44AA99",
    "#117733",
    "#999933",
    "#DDCC77",
    "#CC6677",
    "#882255",
    "#AA4499",
)


def _hashed(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big")


def strategy_colour(name: str) -> str:
    """The colour of one strategy: its own if known, else one picked by a stable hash."""
    known = STRATEGY_COLOURS.get(name)
    if known is not None:
        return known
    return EXTRA_COLOURS[_hashed(name) % len(EXTRA_COLOURS)]


def strategy_colours(strategies: Sequence[str]) -> dict[str, str]:
    """A colour per strategy, fixed by name (:func:`strategy_colour`). Two unknown names that
    hash to one colour are told apart: the later one takes the next colour not yet used."""
    out: dict[str, str] = {}
    used = {strategy_colour(s) for s in strategies if s in STRATEGY_COLOURS}
    for s in dict.fromkeys(str(x) for x in strategies):
        colour = strategy_colour(s)
        if s not in STRATEGY_COLOURS:
            start = _hashed(s) % len(EXTRA_COLOURS)
            for step in range(len(EXTRA_COLOURS)):
                candidate = EXTRA_COLOURS[(start + step) % len(EXTRA_COLOURS)]
                if candidate not in used:
                    colour = candidate
                    break
        used.add(colour)
        out[s] = colour
    return out


#: Look of each fault kind's shaded window: (face colour, hatch).
FAULT_STYLE: dict[str, tuple[str, str]] = {
    "crash": ("#AA3377", "//"),
    "pause": ("#EE7733", "\\\\"),
    "partition": ("#7755AA", "xx"),
    "drop": ("#777777", ".."),
    "delay": ("#997700", "--"),
    "duplicate": ("#4477AA", "++"),
    "reorder": ("#228833", "oo"),
    "disk-loss": ("#000000", ""),
}
DEFAULT_FAULT_STYLE = ("#777777", "||")
#: Hatches that tell apart several faults of one kind in one chart.
HATCHES: tuple[str, ...] = ("//", "\\\\", "xx", "..", "++", "--", "oo", "||")

#: rcParams applied while building and saving figures (slide-readable, reproducible).
RC: dict[str, Any] = {
    "font.size": 12,
    "axes.titlesize": 13,
    "axes.labelsize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 10,
    "legend.title_fontsize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "hatch.linewidth": 0.8,
    "svg.hashsalt": "msgsim",
    "svg.fonttype": "path",
    "path.simplify": True,
}
DPI = 150


@contextmanager
def style() -> Iterator[None]:
    """Apply :data:`RC` while a figure is built or saved."""
    rc: Any = RC  # the stubs only accept literal rcParam names
    with matplotlib.rc_context(rc):
        yield


class Chart(Figure):
    """A matplotlib figure that a notebook shows as a PNG image, whatever the backend (the
    charts never use pyplot, so no backend registers them)."""

    def png_bytes(self, dpi: int = DPI) -> bytes:
        """The figure as PNG bytes (deterministic: no software or date metadata)."""
        buf = io.BytesIO()
        with style():
            self.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
        return buf.getvalue()

    def _repr_png_(self) -> bytes:
        return self.png_bytes(dpi=100)
