# Declares the hot classes of messages.py as extension types for the compiled build: the
# envelope, and the messages (and a sink transaction's offset moves) made for every event,
# compiled dataclasses (their __init__ is C, not the Python function the dataclasses module
# writes). The .py stays the source of truth.
from .clock cimport Call

cdef class Message:
    pass

cdef class Produce(Message):
    cdef public object records, attempt, pid, epoch, seq

cdef class ProduceAck(Message):
    cdef public object eid, partition, offset, error, batch, attempt, in_sequence

cdef class Fetch(Message):
    cdef public object request, positions, epochs, group

cdef class FetchResponse(Message):
    cdef public object request, records, epochs, resets

cdef class SinkTxn(Message):
    cdef public object request, records, offsets, dedupe, retention

cdef class SinkAck(Message):
    cdef public object request, applied, offsets

cdef class OffsetMove:  # frozen: its fields are read-only
    cdef readonly object broker, expected, new

cdef class Envelope(Call):
    cdef public object msgid, src, dst, payload, eids, custody, kind
