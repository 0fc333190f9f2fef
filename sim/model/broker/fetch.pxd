# Declares log mode's store as an extension type for the compiled build.
cdef class LogStore:
    cdef public object broker, retention, max_poll_records, max_partition_records
    cdef public object fetch_max_wait, _parked
