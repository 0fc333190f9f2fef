# Declares the hot classes of clock.py as extension types for the compiled build; the timers'
# methods are called in C by the modules that cimport them. The .py stays the source of truth.
cimport cython

cdef class Call:
    cdef public object callbacks, arg

cdef class Timer:
    cdef public object time, eid, fn, arg, live, queued

cdef class Timers:
    cdef public object env, _armed
    cdef public list _heap

    @cython.locals(timer=Timer, armed=Timer)
    cpdef Timer start(self, delay, fn, arg=*)

    cpdef _arm(self, Timer timer)

    @cython.locals(timer=Timer)
    cpdef _fire(self, Call call)
