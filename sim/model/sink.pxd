from .node cimport Node

cdef class Sink(Node):
    cdef public object effects, processed_ids
    cdef public dict offsets
