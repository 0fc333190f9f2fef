from ..node cimport Node

cdef class Consumer(Node):
    cdef public object assigned, attempts, changed, commit, commits, committed, consumption
    cdef public object contact, dead_letters, dedupe_ids, dedupe_retention, epochs
    cdef public object failure_probability, fetch_wait, fetches, generation, group, group_name
    cdef public object instance, last_heartbeat, last_poll, max_receives, max_records
    cdef public object member_id, polled, positions, processed, retry_sink, sink, to_revoke
    cdef public object to_take, visibility_heartbeat
