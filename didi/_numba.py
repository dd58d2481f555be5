"""numba's compilation with its disk cache wherever numba can keep one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


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
