from .part cimport Part

cdef class Tally(Part):
    cdef public object sends, deduplicated, fenced, forced, doubt_since, blocked
