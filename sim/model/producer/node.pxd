from ..node cimport Node

cdef class Producer(Node):
    cdef public object _partitions, _waiting, acks, attempts, cfg, coupling, database
    cdef public object participant, publisher
