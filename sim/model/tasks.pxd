# Declares the hot classes of tasks.py as extension types for the compiled build (their
# methods call each other, their node's and its timers' in C); the .py stays the source of
# truth.
cimport cython

from .clock cimport Timer
from .node cimport Node as _Node

cdef class Task:
    cdef public object node, gen, alive, done

    @cython.locals(node=_Node)
    cpdef resume(self, value)
    @cython.locals(node=_Node)
    cpdef wake(self, value=*)

cdef class Sleep:
    cdef public object delay
    cdef public Task task

cdef class Wait:
    cdef public object event, timeout, waiting, timer
    cdef public Task task

cdef class Ask:
    cdef public object dst, make, retry, timeout, key, waiting, turn
    cdef public Task task
    cdef public Timer timer

    @cython.locals(node=_Node)
    cpdef _send(self)
    cpdef _resolved(self, reply)
