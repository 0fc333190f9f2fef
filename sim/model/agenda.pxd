# Declares the agenda as extension types for the compiled build: an entry's keys are C
# numbers, and the heap compares them in C. The .py stays the source of truth.
cimport cython

@cython.freelist(64)
cdef class Entry:
    cdef readonly double at
    cdef readonly object time, event
    cdef readonly long long priority, number

cdef bint _before(Entry a, Entry b)

@cython.locals(e=Entry)
cdef Entry _entry(time, long long priority, long long number, event)

cdef class Agenda:
    cdef public list heap
    cdef public long long count, popped

    cpdef long long number(self)

    cpdef push(self, time, long long priority, event)

    cpdef push_numbered(self, time, long long priority, long long number, event)

    @cython.locals(i=Py_ssize_t, parent=Py_ssize_t, above=Entry)
    cpdef put(self, Entry entry)

    @cython.locals(
        last=Entry, first=Entry, below=Entry, n=Py_ssize_t, i=Py_ssize_t, child=Py_ssize_t,
        right=Py_ssize_t,
    )
    cpdef Entry pop(self)

    cpdef Entry first(self)

    cpdef first_time(self)
