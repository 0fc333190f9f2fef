# Declares BlockDraws as an extension type for the compiled build (its own methods read their
# attributes from a C struct); the .py stays the source of truth.
cdef class BlockDraws:
    cdef public object _draw
    cdef public list _block
    cdef public Py_ssize_t _i
