# Declares the checker's parts as extension types for the compiled build (their handlers read
# their tables from a C struct); the .py files stay the source of truth.
cdef class Part:
    pass
