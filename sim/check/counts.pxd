from .part cimport Part

cdef class Tally(Part):
    cdef public object sends, deduplicated, fenced, forced, blocked
    cdef public dict doubt_since
