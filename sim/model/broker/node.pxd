# Declares the broker as an extension type for the compiled build (its own methods read its
# attributes from a C struct, and a produce request's envelope and message are typed); the
# .py stays the source of truth.
cimport cython

from ..messages cimport Envelope, Produce
from ..node cimport Node
from .idempotence cimport NoIdempotence, SequenceVerdict

cdef class Broker(Node):
    cdef public object cfg, durability, dedupe_durable, retention, store
    cdef public NoIdempotence idempotence
    cdef public object overflow, acks, participant, groups, _unholding
    cdef public dict logs, offset_stores, _blocked
    cdef public list dead_letters
    cdef public set _held_keys

    @cython.locals(msg=Produce, verdict=SequenceVerdict)
    cpdef _produce(self, Envelope env)

    cpdef _append(self, producer, Produce msg, p, msgid, note)
