# Declares the hot classes of network.py as extension types for the compiled build (their
# own methods read their attributes from a C struct); the .py stays the source of truth.
cdef class Link:
    cdef public object src, dst, loss, duplicate, reorder, latency, last_arrival, faults
    cdef public object hosts, local, keep, _streams, _u

cdef class Network:
    cdef public object env, record, graph, links, _out, reorder_hold, cuts, endpoints
    cdef public object _next_msgid, sent, _arrive_callbacks
