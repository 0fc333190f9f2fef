cdef class Envelope:
    cdef public object msgid, src, dst, payload, eids, custody, callbacks
