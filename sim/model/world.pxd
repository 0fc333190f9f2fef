# Declares the feed as an extension type for the compiled build: its clock and producer are
# typed, so it reads the time and calls the producer in C. The .py stays the source of truth.
from .clock cimport Timeline
from .producer.node cimport Producer

cdef class Feed:
    cdef public Timeline env
    cdef public Producer producer
    cdef public object arrivals, pending
