from .part cimport Part

cdef class Attribution(Part):
    cdef public object events, holding, last_send, rewinds
    cdef public dict dup_links, reply_kinds, append_cause, receivers, _reader_index
    cdef public dict last_crash, orphans, epochs, cuts, released, copy_of, twin_of, applied
    cdef public dict forgotten
    cdef public list _reader_names
    cdef public set readers
