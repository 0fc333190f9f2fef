# Declares EventState as an extension type for the compiled build: a dataclass whose fields
# live in a C struct and whose __init__ is compiled (the checker makes one for every event it
# creates and for every settled event the verdict reads). The .py stays the source of truth.
cdef class EventState:
    cdef public object seq, producer, key, partition, created_at, copies, effects
    cdef public object first_effect_at, first_effect_seq, deliveries, appends, outcome
    cdef public object last_failure, zero_cause
    cdef public object acked_past, expired, dead_lettered, db, txn, abort, message_failure
    cdef public object refused, ack_failure, sink_ack_failure, sources, duplicate_causes
    cdef public object state_loss, append_causes
