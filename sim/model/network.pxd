# Declares the hot classes of network.py as extension types for the compiled build (their
# own methods read their attributes from a C struct, and the envelopes and links they are
# given are typed, so theirs too); the .py stays the source of truth.
cimport cython

from .agenda cimport Agenda
from .clock cimport Timeline

from .messages cimport Envelope
from .node cimport Node

cdef class Link:
    cdef public object src, dst, loss, duplicate, reorder, latency, last_arrival
    cdef public object hosts, local, _streams
    cdef public tuple keep
    cdef public dict faults, _u

cdef class Network:
    cdef public object record, graph, reorder_hold
    cdef public Timeline env
    cdef public object _next_msgid, sent, _arrive_callbacks
    cdef public Agenda _queue
    cdef public dict links, _out, endpoints
    cdef public list cuts

    @cython.locals(link=Link, env=Envelope)
    cpdef send(self, src, dst, payload)

    @cython.locals(twin=Envelope)
    cpdef _transmit(self, Envelope env, Link link, bint copy)

    @cython.locals(node=Node)
    cpdef _arrive(self, Envelope env)
