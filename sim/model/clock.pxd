# Declares the hot classes of clock.py as extension types for the compiled build; the timers'
# methods are called in C by the modules that cimport them. The .py stays the source of truth.
cimport cython

from ..core.now cimport Now
from .agenda cimport Agenda, Entry

cdef class Timeline(Now):
    cdef public Agenda _queue

cdef class Call:
    cdef public object callbacks, arg

cdef class Timer:
    cdef public object time, eid, fn, arg, live, queued

cdef class Timers:
    cdef public Timeline env
    cdef public object _armed
    cdef public Agenda _heap

    @cython.locals(timer=Timer, armed=Timer, queue=Agenda, env=Timeline)
    cpdef Timer start(self, delay, fn, arg=*)

    @cython.locals(queue=Agenda)
    cpdef _arm(self, Timer timer)

    @cython.locals(timer=Timer, heap=Agenda)
    cpdef _fire(self, Call call)

@cython.locals(queue=Agenda)
cpdef call_later(Timeline env, delay, fn, arg=*)

@cython.locals(queue=Agenda)
cpdef call_soon(Timeline env, fn, arg=*)

@cython.locals(entry=Entry, call=Call)
cpdef _run_to(Timeline env, Agenda queue, stop)
