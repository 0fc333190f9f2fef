cdef class Task:
    cdef public object node, gen, alive, done

cdef class Sleep:
    cdef public object delay, task

cdef class Wait:
    cdef public object event, timeout, task, waiting, timer

cdef class Ask:
    cdef public object dst, make, retry, timeout, task, key, waiting, turn, timer
