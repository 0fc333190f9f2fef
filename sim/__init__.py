"""msgsim: a discrete-event simulator of message-delivery guarantees.

>>> import sim
>>> res = sim.run("experiments/compare_semantics.yaml", replications=1)   # doctest: +SKIP
>>> res.summary[["strategy", "loss_rate", "duplicate_rate"]]                # doctest: +SKIP

Layers, each importing only those below it (enforced by ``tests/test_architecture.py``)::

    api, cli      the Python API and the command line
    report        results, statistics, charts, explanations
    experiment    plan, execute, one run, the results folder
    check         the checker: a fold over the history
    model         the simulated world: nodes, network, faults
    history       the operation vocabulary, the recorder, causes
    config        the config models and loading
    core          random streams, distributions, strategies, topology
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from . import compiled

compiled.install()  # before any compiled module is imported (sim/compiled.py)

from .config import ConfigError, ConfigWarning, ExperimentConfig, load_config  # noqa: E402

if TYPE_CHECKING:
    from .api import run
    from .report.results import Results, load_results
    from .report.stats import aggregate

_LATER = {
    "run": ".api",
    "Results": ".report.results",
    "load_results": ".report.results",
    "aggregate": ".report.stats",
}
"""Imported when first used (PEP 562): pandas and the simulator take about a second to
import, which `msgsim validate` and a mistyped command line need not pay."""


_PACKAGES = {"api", "cli", "core", "config", "history", "model", "check", "experiment", "report"}


def __getattr__(name: str) -> Any:
    if name in _PACKAGES:  # `sim.experiment.cells(...)` after a bare `import sim`
        return import_module(f".{name}", __name__)
    if name not in _LATER:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(import_module(_LATER[name], __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "ConfigError",
    "ConfigWarning",
    "ExperimentConfig",
    "Results",
    "aggregate",
    "load_config",
    "load_results",
    "run",
]
__version__ = "0.1.0"
