# Declares the transposition of packing.py for the compiled build (a C loop over the states'
# tuples); the .py stays the source of truth.
cimport cython

@cython.locals(n=Py_ssize_t, r=Py_ssize_t, c=Py_ssize_t, state=tuple, column=list)
cpdef list _transpose(list states, Py_ssize_t width)
