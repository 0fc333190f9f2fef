from .node cimport Node

cdef class Sink(Node):
    cdef public object effects, offsets, processed_ids
