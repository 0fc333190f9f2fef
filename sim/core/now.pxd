# Declares Now as an extension type for the compiled build: the time is a field of a C struct,
# read and written in C by the modules that cimport it. The .py stays the source of truth.
cdef class Now:
    cdef public object _now
