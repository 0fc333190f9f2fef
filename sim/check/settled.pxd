# Types the event compact() reads, for the compiled build (each field is read from the event's
# C struct); the .py stays the source of truth.
cimport cython

from .state cimport EventState

@cython.locals(e=EventState)
cpdef tuple compact(e)
