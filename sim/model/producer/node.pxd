from ..node cimport Node

cdef class Producer(Node):
    cdef public object acks, cfg, coupling, database
    cdef public object participant, publisher
    cdef public dict _partitions, attempts
    cdef public list _waiting

    # (an event's arrival, called by the feed, and its creation: C calls)
    cpdef arrive(self, a)
    cpdef _start(self, a)
    cpdef _created(self, a)
