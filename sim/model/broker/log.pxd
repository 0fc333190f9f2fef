# Declares a partition's log as an extension type for the compiled build (a compiled dataclass
# whose fields live in a C struct; the store reads it for every fetch); the .py stays the
# source of truth.
from .records cimport RecordLog

cdef class PartitionLog:
    cdef public RecordLog records
    cdef public object flushed, epoch, gone, readers
    cdef public list truncations
    cdef public dict fetched_by, holds

    cpdef read_to(self, group, position)
    cpdef stable(self)
