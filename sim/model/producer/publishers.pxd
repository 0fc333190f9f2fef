# Declares the hot classes of publishers.py as extension types for the compiled build (a batch
# is a compiled dataclass; a request's and a lane's producer is typed, so its fields are read
# in C).
from .node cimport Producer

cdef class Batch:
    cdef public object records, part, seq, epoch, done, proven, finished

cdef class Sending:
    cdef public Producer producer
    cdef public object publisher, broker, records, eids, make, batch, done, deadline
    cdef public object attempt, incarnation, request, waiting, reply, timer, timeout, ended

cdef class Lane:
    cdef public Producer producer
    cdef public object publisher, part, incarnation, broker, free, idle, queued
