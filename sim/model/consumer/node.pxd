from ..node cimport Node

cdef class Consumer(Node):
    cdef public object attempts, changed, commit, commits, consumption
    cdef public object contact, dead_letters, dedupe_ids, dedupe_retention
    cdef public object failure_probability, fetch_wait, fetches, generation, group, group_name
    cdef public object instance, last_heartbeat, last_poll, max_receives, max_records
    cdef public object member_id, polled, retry_sink, sink
    cdef public object visibility_heartbeat
    cdef public dict committed, epochs, positions, processed
    cdef public set to_revoke, to_take
    cdef public list assigned
