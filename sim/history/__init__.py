"""The history layer: the operation vocabulary, the recorder, and the cause vocabulary.

May import: ``sim.core``.
"""

from .ops import FIELDS, VOCABULARY, Op, OpSpec, Row, decode_detail, encode_detail
from .recorder import Recorder, frame_to_ops, history_frame

__all__ = [
    "FIELDS",
    "VOCABULARY",
    "Op",
    "OpSpec",
    "Recorder",
    "Row",
    "decode_detail",
    "encode_detail",
    "frame_to_ops",
    "history_frame",
]
