"""Worker processes start with the simulator already imported.

A local pool's workers (``sim/experiment/dispatch.py``) are forked by a *fork server*
(``multiprocessing``'s ``forkserver`` start method, where the platform has it): a small process
that forks a new worker whenever the pool asks for one. Importing the simulator takes a worker
about 0.8 s (pandas, pydantic, numpy, networkx), which on a sweep of short runs is a large share
of the time a second worker saves. So the server is told to import it first (:data:`PRELOAD`):
it pays once, and every worker it forks starts with the imports done.

:func:`warm_up` starts the server (if it is not running yet) without waiting for it. The pool
calls it before starting its workers; the command line calls it as soon as it knows that a
sweep will use workers, so the server imports while the parent is still importing the rest
itself. The server lives as long as the process that started it, so in a notebook only the
first sweep waits for its imports. (It keeps the modules as they were when it started: a
session that edits the simulator's source needs a new kernel, as it does for itself.)
"""

from __future__ import annotations

import multiprocessing
import os
import sys

PRELOAD = ["sim.experiment.dispatch"]
"""What the fork server imports before forking workers: everything a run needs."""


def default_workers() -> int:
    """Worker processes when none are asked for: one per core."""
    return max(1, os.cpu_count() or 1)


def start_method() -> str:
    """How a local pool starts its workers: ``forkserver``, or ``spawn`` where there is none
    (Windows)."""
    return "forkserver" if sys.platform != "win32" else "spawn"


def warm_up() -> None:
    """Start the fork server with :data:`PRELOAD` (added to whatever another part of the
    program asked it to preload), unless it is running already; returns at once."""
    if start_method() != "forkserver":
        return
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    asked = list(getattr(server, "_preload_modules", None) or [])
    multiprocessing.get_context("forkserver").set_forkserver_preload(
        asked + [m for m in PRELOAD if m not in asked]
    )
    forkserver.ensure_running()
