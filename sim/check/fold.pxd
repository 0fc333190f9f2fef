cdef class Checker:
    cdef public object duration, events, _settle_at, custody, attribution, tally, invariants
    cdef public object first_effects, seq, _now
    cdef public dict _dispatch
    cdef public list fired
