from .part cimport Part

cdef class Invariants(Part):
    cdef public dict holders, commits, pids
    cdef public list violations
