"""The C allocator's setting for long runs (glibc only; elsewhere nothing is done).

glibc serves a request of at least its *mmap threshold* (128 KiB at start) with a mapping of
its own, returned to the system when freed, and smaller ones from its heap. The threshold
moves: each time a mapped block is freed it rises to that block's size (up to 32 MiB). A run
frees many blocks of a few hundred KiB (the buffers the checker packs settled events in), so
the threshold soon sits above the size of the run's growing arrays (a log's columns, the
checker's tables); each of them then grows inside the heap, a copy at a time, and leaves a
hole behind it at every step. Measured on a day's pipeline (``experiments/day_at_scale.yaml``)
over an hour of simulated time: 126 bytes of resident memory an event with the moving
threshold, 85 with it fixed at its starting value. Fixing it (``mallopt(M_MMAP_THRESHOLD)``,
which also stops the heap-trimming threshold from moving) costs a mapping per large
temporary buffer and changes nothing a run computes.
"""

from __future__ import annotations

import ctypes
import sys

M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameter number (``malloc.h``)."""
THRESHOLD = 128 * 1024
"""glibc's starting threshold, kept."""

_fixed = False


def fix_mmap_threshold() -> bool:
    """Fix glibc's mmap threshold at its starting value, once per process; True if glibc
    took the setting (False elsewhere: another C library, another system)."""
    global _fixed
    if _fixed:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    _fixed = mallopt(M_MMAP_THRESHOLD, THRESHOLD) == 1
    return _fixed
