# Declares the group member's poll loop as an extension type for the compiled build: its
# consumer is typed, so the loop reads the consumer's fields from its C struct, not through
# Python's generic attribute lookup. The .py stays the source of truth.
from .node cimport Consumer

cdef class GroupConsumption:
    cdef public Consumer consumer
    cdef public object session_timeout
