"""The check layer: the checker folds the history into fates, causes and counts.

May import: ``sim.history``, ``sim.core``.
"""

from .counts import COUNT_COLUMNS, RATE_COLUMNS, ConservationError
from .fold import Checker, check
from .frames import MESSAGE_COLUMNS, messages_frame
from .state import EventState, Verdict

__all__ = [
    "COUNT_COLUMNS",
    "MESSAGE_COLUMNS",
    "RATE_COLUMNS",
    "Checker",
    "ConservationError",
    "EventState",
    "Verdict",
    "check",
    "messages_frame",
]
