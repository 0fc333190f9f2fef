# Declares the hot classes of publishers.py as extension types for the compiled build (a batch
# is a compiled dataclass).
cdef class Batch:
    cdef public object records, part, seq, epoch, done, proven, finished

cdef class Sending:
    cdef public object publisher, producer, broker, records, eids, make, batch, done, deadline
    cdef public object attempt, incarnation, request, waiting, reply, timer, timeout, ended

cdef class Lane:
    cdef public object publisher, producer, part, incarnation, broker, free, idle, queued
