"""Giving the heap memory a long step freed back to the system (Linux with glibc; elsewhere nothing happens).

glibc keeps what a step frees in its heaps for reuse (one per thread that allocated: the side loop's, the worker
threads of `asyncio.to_thread`), so a serving process's RSS stays at the high-water mark of its largest step. After
the agent networks of a 100k-row batch the API process held 447 MB where it held 325 before them; `malloc_trim(0)`,
which returns every free page of every heap, brought it to 404 MB (bench/RUNS.md). Called after long steps only:
it walks the heaps (a few ms at these sizes) with the GIL released.
"""

from __future__ import annotations

import ctypes
import ctypes.util


def _malloc_trim() -> object | None:
    try:
        trim = ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim
    except (OSError, AttributeError, TypeError):  # no C library found, or not glibc (musl, macOS): nothing to trim
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


_TRIM = _malloc_trim()


def release_free_memory() -> bool:
    """Return the heaps' free pages to the system; True if the C library could (glibc), whether or not any were."""
    if _TRIM is None:
        return False
    _TRIM(0)  # ctypes releases the GIL for the call
    return True
