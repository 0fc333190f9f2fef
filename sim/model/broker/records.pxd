cdef class RecordLog:
    cdef public object eids, keys, partition, partitions, created, process, poison
