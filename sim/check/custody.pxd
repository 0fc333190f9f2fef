from .part cimport Part

cdef class Custody(Part):
    cdef public object events, mem, net, logs, low, outbox, prepared
