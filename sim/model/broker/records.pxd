from ...core.eids cimport IdList

cdef class RecordLog:
    cdef public IdList eids
    cdef public object keys, partition, partitions, created, process, poison
