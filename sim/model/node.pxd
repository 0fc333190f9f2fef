# Declares the hot classes of node.py as extension types for the compiled build (their own
# methods read their attributes from a C struct); the .py stays the source of truth. A node
# subclass is a Python class: what it adds lives in its instance dict.
cdef class Node:
    cdef dict __dict__
    cdef public object name, ctx, env, record, topology, state, incarnation, _procs, tasks
    cdef public object running_task, _held, _resumed, disk_loss_armed, _send, _armed_steps
    cdef public object requests, timers, request_timeout, _handlers

cdef class Expiry:
    cdef public object process, event, expired

cdef class Handover:
    cdef public object env, event, given, _value

cdef class Later:
    cdef public object node, incarnation, action

cdef class RequestTracker:
    cdef public object env, _next, _waiting
