# Declares the hot classes of node.py as extension types for the compiled build (their own
# methods read their attributes from a C struct); the .py stays the source of truth. A node
# has no instance dict: a subclass that is an extension type declares what it adds, one that
# is a Python class (the 2PC coordinator, the relay) gets a dict of its own. (With a dict, every
# call of a cpdef method in C would first look the method up on the instance, in case a Python
# subclass overrode it.)
from .clock cimport Timeline, Timers
from .messages cimport Envelope

cdef class Node:
    cdef public object name, ctx, record, topology, state, incarnation
    cdef public Timeline env
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
    cdef public Timeline env
    cdef public object _next
    cdef public dict _waiting

    cpdef next_key(self)
    cpdef wait(self, key, callback)
    cpdef bint resolve(self, key, value=*) except -1
