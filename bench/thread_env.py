"""The benchmarks' thread counts, set in one place.

Every script takes --threads (2 by default: the CI machine's cores) and calls set_threads
before numpy is first imported, because OpenBLAS sizes its thread pool when it loads and
numba reads NUMBA_NUM_THREADS when it starts. The workers a script starts inherit the same
environment. The flag wins over what the shell exported: a benchmark's figures must say how
many threads they ran on. This module imports nothing but os, so it can come first.
"""
import os

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "NUMBA_NUM_THREADS", "NUM_CPU_THREADS")


def set_threads(threads: int) -> None:
    """Every thread pool (OpenMP, OpenBLAS, MKL, numba) of this process and its workers to
    `threads`."""
    for var in THREAD_VARS:
        os.environ[var] = str(threads)
