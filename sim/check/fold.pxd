# Declares the checker as an extension type for the compiled build; its fold loop counts and
# compares in C. The .py stays the source of truth.
cimport cython

cdef class Checker:
    cdef public object duration, events, _settle_at, custody, attribution, tally, invariants
    cdef public object first_effects, seq, _now, settled_totals
    cdef public dict _dispatch
    cdef public list fired

    @cython.locals(seq=Py_ssize_t, settle_at=Py_ssize_t, now=double, dispatch=dict, row=tuple,
                   handlers=tuple, position=object)
    cpdef feed_many(self, rows)
