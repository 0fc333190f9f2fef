from .part cimport Part

cdef class FirstEffects(Part):
    cdef public object events, violations, latencies, finished
    cdef public dict latest, suspended
