# Declares the commit modes as extension types for the compiled build: their consumer is
# typed, so what they do for every record reads the consumer's fields from its C struct. The
# .py stays the source of truth.
from .node cimport Consumer

cdef class CommitMode:
    cdef public Consumer consumer

cdef class OnReceipt(CommitMode):
    pass

cdef class AfterProcess(CommitMode):
    cdef public object last_auto_commit, auto_commit_interval

cdef class InSink(CommitMode):
    cdef public dict stored
