cdef class Call:
    cdef public object callbacks, arg

cdef class Timer:
    cdef public object time, eid, fn, arg, live, queued

cdef class Timers:
    cdef public object env, _heap, _armed
