"""msgsim: a discrete-event simulator of message-delivery guarantees."""

from .config import ConfigError, ExperimentConfig, load_config

__all__ = ["ConfigError", "ExperimentConfig", "load_config"]
__version__ = "0.1.0"
