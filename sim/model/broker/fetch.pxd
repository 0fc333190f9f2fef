# Declares log mode's store and its parked fetches as extension types for the compiled build
# (a parked fetch is a compiled dataclass: one is made for most events); the store's broker,
# logs, fetches and parked fetches are typed, so their fields are read in C. The .py stays the
# source of truth.
cimport cython

from ..messages cimport Envelope, Fetch
from .log cimport PartitionLog
from .node cimport Broker

cdef class ParkedFetch:
    cdef public object consumer, request
    cdef public dict positions
    cdef public object group, timer

cdef class LogStore:
    cdef public object retention, max_poll_records, max_partition_records
    cdef public object fetch_max_wait
    cdef public Broker broker
    cdef public list _parked

    @cython.locals(out=list, broker=Broker, log=PartitionLog)
    cpdef list _available(self, dict positions, group)

    cpdef _response(self, request, dict positions, dict resets, group, records=*)

    @cython.locals(msg=Fetch, logs=dict, log=PartitionLog)
    cpdef _fetch(self, Envelope env)

    @cython.locals(broker=Broker, still=list, parked=ParkedFetch)
    cpdef wake(self, partition)
