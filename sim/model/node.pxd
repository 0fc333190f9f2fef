# Declares the hot classes of node.py as extension types for the compiled build (their own
# methods read their attributes from a C struct); the .py stays the source of truth. A node
# subclass is a Python class: what it adds lives in its instance dict.
from .clock cimport Timers
from .messages cimport Envelope

cdef class Node:
    cdef dict __dict__
    cdef public object name, ctx, env, record, topology, state, incarnation
    cdef public object running_task, _resumed, disk_loss_armed, _send, _armed_steps
    cdef public object request_timeout
    cdef public RequestTracker requests
    cdef public Timers timers
    cdef public dict _procs, tasks, _handlers
    cdef public list _held

    cpdef _resolve_reply(self, Envelope env)
    cpdef send(self, dst, payload)
    cpdef handle(self, Envelope env)

cdef class Expiry:
    cdef public object process, event, expired

cdef class Handover:
    cdef public object env, event, given, _value

cdef class Later:
    cdef public object node, incarnation, action

cdef class RequestTracker:
    cdef public object env, _next
    cdef public dict _waiting

    cpdef next_key(self)
    cpdef wait(self, key, callback)
    cpdef bint resolve(self, key, value=*) except -1
