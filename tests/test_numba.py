"""numba's compilation with its disk cache where numba can keep one, else without."""

import numba

from didi._numba import compiled


def add_one(x):
    return x + 1


def test_compiled_kernels_are_cached_on_disk_where_numba_can():
    kernel = compiled()(add_one)
    assert kernel(1) == 2
    assert kernel._cache.__class__.__name__ != "NullCache"


def test_compiled_kernels_run_without_a_cache_where_numba_has_no_place(monkeypatch):
    njit = numba.njit

    def no_cache_location(*args, cache=False, **options):
        if cache:  # as numba says when no directory is writable
            raise RuntimeError("cannot cache function 'add_one': no locator available")
        return njit(*args, **options)

    monkeypatch.setattr(numba, "njit", no_cache_location)
    kernel = compiled(nogil=True)(add_one)
    assert kernel(41) == 42
    assert kernel.targetoptions["nogil"] is True
    assert kernel._cache.__class__.__name__ == "NullCache"
