# Declares the hot classes of clock.py as extension types for the compiled build; the timers'
# methods are called in C by the modules that cimport them. The .py stays the source of truth.
cimport cython

from .agenda cimport Agenda, Entry

cdef class Call:
    cdef public object callbacks, arg

cdef class Timer:
    cdef public object time, eid, fn, arg, live, queued

cdef class Timers:
    cdef public object env, _armed
    cdef public Agenda _heap

    @cython.locals(timer=Timer, armed=Timer, queue=Agenda)
    cpdef Timer start(self, delay, fn, arg=*)

    @cython.locals(queue=Agenda)
    cpdef _arm(self, Timer timer)

    @cython.locals(timer=Timer, heap=Agenda)
    cpdef _fire(self, Call call)

@cython.locals(queue=Agenda)
cpdef call_later(env, delay, fn, arg=*)

@cython.locals(queue=Agenda)
cpdef call_soon(env, fn, arg=*)

@cython.locals(entry=Entry, call=Call)
cpdef _run_to(env, Agenda queue, stop)
