from .part cimport Part

cdef class Custody(Part):
    cdef public object events, logs, low, outbox
    cdef public dict mem, net
    cdef public set prepared
