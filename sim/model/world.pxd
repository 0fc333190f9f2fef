cdef class Feed:
    cdef public object env, producer, arrivals, pending
