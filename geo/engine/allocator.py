"""The process's memory allocator, set for the engine's large, short-lived arrays.

An aggregation of national data makes and frees a few hundred MB of numpy temporaries, much of
it in worker threads (:func:`geo.engine.aggregate.aggregate` splits its pass over the cores).
By default glibc's malloc gives each thread its own arena and hands freed memory back to the
kernel (the tops of heaps are trimmed, large blocks are unmapped), so the next aggregation
touches fresh pages again: a page fault per page, and on virtual machines such as this
project's a fault costs tens of microseconds. Measured at 13 million households, H3 res 8
(``aggregate(index, "h3", res=8, cell_keys=False)``, 2 cores): 5-14 thousand faults and 0.03-0.35 s
of system time per call, wall time 0.36-0.62 s; after :func:`keep_freed_memory`, 2-170 faults,
0-0.03 s of system time, 0.30-0.33 s. DuckDB and Polars bring their own allocators for the same
reason.

The cost is that the process keeps its high-water mark of memory instead of handing it back
between requests (``python -m bench national`` reports the app's peak RSS). Call it once, at the
start of a long-lived process that aggregates (the app's server, the benchmarks), before it
starts threads; it changes nothing but the allocator's settings, and nothing where the C library
is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util

# mallopt(3) parameters (glibc's malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
#: Blocks up to this size come from the heap, where they are reused; glibc refuses more than 32 MiB.
MMAP_THRESHOLD_BYTES = 32 * 2**20
#: Free memory at the top of the heap kept before any is handed back.
TRIM_THRESHOLD_BYTES = 2**30


def keep_freed_memory() -> bool:
    """Ask glibc's malloc for one arena, heap blocks up to 32 MiB and no trimming below 1 GiB of
    free memory, so the engine's temporaries reuse memory already mapped. Returns whether every
    setting was accepted (False where the C library has no ``mallopt``, e.g. musl or macOS).

    Example
    -------
    >>> keep_freed_memory()  # doctest: +SKIP
    True
    """
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    settings = ((_M_ARENA_MAX, 1), (_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES), (_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
    return all([mallopt(parameter, value) == 1 for parameter, value in settings])
