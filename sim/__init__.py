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

from .api import run
from .config import ConfigError, ConfigWarning, ExperimentConfig, load_config
from .report.results import Results, load_results
from .report.stats import aggregate

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
