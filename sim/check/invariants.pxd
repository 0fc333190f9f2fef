from .part cimport Part

cdef class Invariants(Part):
    cdef public object violations, holders, commits, pids
