# Declares the sequence checks as extension types for the compiled build (the broker calls
# them in C for every produce request; a producer's state and a verdict are compiled
# dataclasses); the .py stays the source of truth.
cimport cython

from ..messages cimport Produce

cdef class ProducerState:
    cdef public object epoch, last_seq
    cdef public dict recent
    cdef public object last_active, base, rebuilt, lost
    cdef public set gaps

cdef class SequenceVerdict:  # frozen: its fields are read-only
    cdef readonly object verdict, offset, note, in_order

cdef class NoIdempotence:
    cdef public dict transactional_ids
    cdef public object next_pid

    cpdef SequenceVerdict check(self, Produce msg, now)
    cpdef appended(self, Produce msg, partition, base)

cdef class Idempotence(NoIdempotence):
    cdef public object window, state_lost
    cdef public dict max_epoch, states

    @cython.locals(st=ProducerState)
    cpdef SequenceVerdict check(self, Produce msg, now)

    @cython.locals(st=ProducerState)
    cpdef appended(self, Produce msg, partition, base)
