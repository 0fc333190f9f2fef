"""The config layer: pydantic models of every key, YAML loading, and user-facing errors.

May import: ``sim.core``.
"""

from . import limits
from .base import ConfigError, ConfigWarning
from .faults import FAULT_KINDS, PROTOCOL_STEPS
from .links import LinkPattern, link_matches, parse_link
from .loading import config_yaml, load_config, resolve, validate_dict
from .models import ExperimentConfig

__all__ = [
    "FAULT_KINDS",
    "PROTOCOL_STEPS",
    "ConfigError",
    "ConfigWarning",
    "ExperimentConfig",
    "LinkPattern",
    "config_yaml",
    "limits",
    "link_matches",
    "load_config",
    "parse_link",
    "resolve",
    "validate_dict",
]
