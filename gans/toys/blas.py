"""Run small-matrix code with one BLAS thread.

The toys multiply small matrices (a batch of 256 points by 64 hidden units) thousands of
times. OpenBLAS splits such products over every core; on a machine whose cores are busy
with other work, the threads then wait for each other and a training step gets 5-20 times
slower (measured: 34 ms single-threaded against 230-660 ms with two busy cores). Setting
OPENBLAS_NUM_THREADS=1 before numpy is imported fixes that for a whole process; this
context manager does it at run time for a block of code, by calling OpenBLAS's own
`*_set_num_threads` through ctypes (what threadpoolctl does). Where no OpenBLAS is found
(another BLAS, or none loaded yet) it does nothing.
"""
from __future__ import annotations

import contextlib
import ctypes

_PREFIXES = ("openblas", "scipy_openblas", "scipy_openblas64_", "openblas64_")
_SUFFIXES = ("", "64_")


def _openblas_functions():
    """(get, set) pairs for every OpenBLAS loaded in this process (Linux only)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()
                     and line.split()[-1].startswith("/")}
    except OSError:
        return []
    found = []
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in _PREFIXES:
            for suffix in _SUFFIXES:
                get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                if get is not None and put is not None:
                    found.append((get, put))
                    break
            else:
                continue
            break
    return found


@contextlib.contextmanager
def blas_threads(n: int = 1):
    """`with blas_threads(1):` OpenBLAS uses n threads inside the block."""
    functions = _openblas_functions()
    previous = [get() for get, _ in functions]
    for _, put in functions:
        put(n)
    try:
        yield
    finally:
        for (_, put), old in zip(functions, previous):
            put(old)
