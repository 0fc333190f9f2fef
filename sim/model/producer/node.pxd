from ..node cimport Node

cdef class Producer(Node):
    cdef public object acks, cfg, coupling, database
    cdef public object participant, publisher
    cdef public dict _partitions, attempts
    cdef public list _waiting
