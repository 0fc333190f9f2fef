# Declares the sink as an extension type for the compiled build (a transaction's envelope and
# message are typed, so their fields are read in C); the .py stays the source of truth.
cimport cython

from .messages cimport Envelope, SinkTxn
from .node cimport Node

cdef class Sink(Node):
    cdef public object effects, processed_ids
    cdef public dict offsets

    @cython.locals(msg=SinkTxn)
    cpdef _transaction(self, Envelope env)
