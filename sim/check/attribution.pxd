from .part cimport Part

cdef class Attribution(Part):
    cdef public object events, dup_links, reply_kinds, append_cause, receivers, _reader_index
    cdef public object _reader_names, last_crash, holding, orphans, epochs, cuts, released
    cdef public object last_send, copy_of, twin_of, applied, readers, rewinds, forgotten
