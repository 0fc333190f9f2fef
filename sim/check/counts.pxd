from .part cimport Part
from .state cimport EventState

cdef class Tally(Part):
    cdef public object sends, deduplicated, fenced, forced, blocked
    cdef public dict doubt_since

cdef class Totals:
    cdef public dict fates
    cdef public object _effects
    cdef public list _codes, _counts
    cdef public long long intended, committed, applied, delivered, deliveries, published

    cpdef add(self, str eid, EventState e)
    cdef _count(self, EventState e, long long sign)
