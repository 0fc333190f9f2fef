from .part cimport Part

cdef class FirstEffects(Part):
    cdef public object events, latest, suspended, violations, latencies, finished
