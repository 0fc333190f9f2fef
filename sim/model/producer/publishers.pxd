# Declares the hot classes of publishers.py as extension types for the compiled build (a batch
# is a compiled dataclass; a request's and a lane's producer and publisher are typed, and so
# is a publisher's producer, so their fields are read in C).
from .node cimport Producer

cdef class Publisher:
    cdef public Producer producer
    cdef public object cfg, max_batch, request_timeout, delivery_timeout

cdef class Retrying(Publisher):
    cdef public object fenced

cdef class Idempotent(Retrying):
    cdef public object pid, epoch, ready, bumping
    cdef public dict next_seq, queues, lanes, inflight, record_acked

cdef class Batch:
    cdef public object records, part, seq, epoch, done, proven, finished

cdef class Sending:
    cdef public Producer producer
    cdef public Retrying publisher
    cdef public object broker, records, eids, make, batch, done, deadline
    cdef public object attempt, incarnation, request, waiting, reply, timer, timeout, ended

cdef class Lane:
    cdef public Producer producer
    cdef public Idempotent publisher
    cdef public object part, incarnation, broker, free, idle, queued
