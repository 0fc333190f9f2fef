cdef class Checker:
    cdef public object duration, events, _settle_at, custody, attribution, tally, invariants
    cdef public object first_effects, fired, _dispatch, seq, _now
