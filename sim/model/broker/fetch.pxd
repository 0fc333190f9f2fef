# Declares log mode's store and its parked fetches as extension types for the compiled build
# (a parked fetch is a compiled dataclass: one is made for most events).
cdef class ParkedFetch:
    cdef public object consumer, request, positions, group, timer

cdef class LogStore:
    cdef public object broker, retention, max_poll_records, max_partition_records
    cdef public object fetch_max_wait
    cdef public list _parked
