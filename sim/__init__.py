"""msgsim: a discrete-event simulator of message-delivery guarantees.

>>> import sim
>>> res = sim.run("experiments/compare_semantics.yaml", replications=1)   # doctest: +SKIP
>>> res.summary[["strategy", "loss_rate", "duplicate_rate"]]                # doctest: +SKIP
"""

from .api import run
from .config import ConfigError, ExperimentConfig, load_config
from .results import Results, load_results
from .stats import aggregate

__all__ = ["ConfigError", "ExperimentConfig", "Results", "aggregate", "load_config", "load_results", "run"]
__version__ = "0.1.0"
