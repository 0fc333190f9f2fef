# Declares the reporter as an extension type for the compiled build (it reads the time from
# the clock's C struct); the .py stays the source of truth.
from ..core.now cimport Now

cdef class Reporter:
    cdef public Now clock
    cdef public list kept, batch
    cdef public object flush
