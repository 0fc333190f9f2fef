# Declares the id tables of eids.py as extension types for the compiled build (their methods
# read their arrays and dicts from a C struct, and len() of one is a C slot, not a method
# looked up by name: a log asks its ids' length for every offset it reads). IdMap stays a
# Python class: it is a MutableMapping. The .py stays the source of truth.
cdef class Checksum:
    cdef public object ids, total, weighted

cdef class IdList:
    cdef public object _codes
    cdef public list _others

cdef class CreationOrder:
    cdef public bytearray _producers
    cdef public dict _next
    cdef public list _others

cdef class IdTimes:
    cdef public dict _columns, _others
    cdef public object _size

# split is called from the tables here for every id they are given: a C call, not a Python one.
cpdef object split(object eid)
cdef object _remember(str eid, object ij)
cpdef object _column_slot(dict columns, object eid, bint grow, str typecode, object absent)
