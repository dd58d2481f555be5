"""numba's compilation with its disk cache wherever numba can keep one."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np


def compiled(**options: Any) -> Callable[[Callable], Any]:
    """``numba.njit(cache=True, **options)``; without the cache where numba has no
    writable place for it (a read-only installation without a user cache directory),
    which it refuses at decoration time: the code is then compiled in every process."""
    import numba

    def decorate(function: Callable) -> Any:
        try:
            return numba.njit(cache=True, **options)(function)
        except RuntimeError:
            return numba.njit(**options)(function)

    return decorate


#: numba's threading layers that allow parallel kernels to be launched from several
#: threads at once; the third, "workqueue", aborts the process when that happens.
THREADSAFE_LAYERS = ("omp", "tbb")


def threadsafe_parallel_kernels() -> bool:
    """Whether numba's parallel kernels (umap-learn's graph kernels are) may run on
    two threads at once in this process.

    numba picks its threading layer at the first parallel launch and keeps it; where
    none has run yet, a trivial parallel kernel makes it choose now.
    """
    import numba

    try:
        return numba.threading_layer() in THREADSAFE_LAYERS
    except ValueError:  # no parallel kernel has run in this process yet
        _parallel_sum(np.ones(2))
        return numba.threading_layer() in THREADSAFE_LAYERS


def _parallel_sum(values: np.ndarray) -> float:
    return float(_parallel_sum_kernel()(values))


@functools.cache
def _parallel_sum_kernel():
    import numba

    def parallel_sum(values):
        total = 0.0
        for i in numba.prange(len(values)):
            total += values[i]
        return total

    return compiled(parallel=True)(parallel_sum)
