"""The current simulated time, where the kernel writes it and whatever stamps an operation
reads it.

:class:`Now` holds nothing but ``_now``, the attribute a ``simpy.Environment`` keeps its time
in. The model's clock (``sim/model/clock.py``) is a ``simpy.Environment`` built on it, so SimPy
reads and writes the time as it always does, while in the compiled build the time is a field
of a C struct: the kernel sets it at every step and the recorder stamps every operation with
it without a dictionary lookup (a Python subclass keeps ``_now`` in its instance dict, and
reading it from compiled code costs about ten times as much).
"""

from __future__ import annotations

from typing import Any


class Now:
    """The simulated time (``_now``: an int until a float delay makes it a float, as SimPy
    keeps it)."""

    _now: Any
