"""umap-learn's numba kernels, compiled with numba's disk cache.

umap-learn compiles ``smooth_knn_dist``, ``compute_membership_strengths`` and its
(single-threaded) layout epoch without numba's disk cache, so every new process — the
command line, a notebook kernel, each worker of a grid search — spends seconds
compiling them again. didi swaps in copies compiled from the same Python functions
with the same options and ``cache=True``: the same machine code, loaded from disk
after the first run on a machine. The layout epoch also releases the GIL, so that
two layouts can run on two threads at once (a Euclidean UMAP beside the DiDi one).
"""

from __future__ import annotations

import functools
import importlib
import types

#: The kernels swapped, by module and name.
UMAP_KERNELS = (
    ("umap.umap_", "smooth_knn_dist"),
    ("umap.umap_", "compute_membership_strengths"),
    ("umap.layouts", "_nb_optimize_layout_euclidean_single_epoch"),
    ("umap.layouts", "_nb_optimize_layout_euclidean_single_epoch_parallel"),
)

#: Options added to umap-learn's own, by kernel name: the layout epochs release the
#: GIL. numba's cache index records neither these nor umap-learn's options (the two
#: epochs, parallel or not, compile one Python function): such a kernel is cached
#: under its own name, so that no copy compiled otherwise is loaded in its place.
EXTRA_OPTIONS = {
    "_nb_optimize_layout_euclidean_single_epoch": {"nogil": True},
    "_nb_optimize_layout_euclidean_single_epoch_parallel": {"nogil": True},
}


@functools.cache
def cache_umap_kernels() -> tuple[str, ...]:
    """Swap :data:`UMAP_KERNELS` for disk-cached copies, once per process.

    A kernel that is not a numba dispatcher in the installed umap-learn, that is
    cached already, or that numba cannot cache (no writable cache location) is left
    as it is. Returns the names swapped.
    """
    import numba

    swapped = []
    for module_name, name in UMAP_KERNELS:
        module = importlib.import_module(module_name)
        kernel = getattr(module, name, None)
        if not hasattr(kernel, "targetoptions") or is_disk_cached(kernel):
            continue
        options = dict(kernel.targetoptions)  # type: ignore[union-attr]
        options.pop("nopython", None)  # njit's own
        # numba adds versioned names ("lo.1") to a compiled kernel's locals: not ours.
        declared = kernel.locals.items()  # type: ignore[union-attr]
        options["locals"] = {key: value for key, value in declared if "." not in key}
        python_function = kernel.py_func  # type: ignore[union-attr]
        if name in EXTRA_OPTIONS:
            options.update(EXTRA_OPTIONS[name])
            python_function = renamed(python_function, name)
        try:
            cached = numba.njit(cache=True, **options)(python_function)
        except Exception:  # numba refuses to cache here: keep umap-learn's own
            continue
        setattr(module, name, cached)
        swapped.append(f"{module_name}.{name}")
    return tuple(swapped)


def renamed(function: types.FunctionType, name: str) -> types.FunctionType:
    """A copy of ``function`` named ``name``: numba names its cache files after it."""
    copy = types.FunctionType(
        function.__code__, function.__globals__, name, function.__defaults__, function.__closure__
    )
    copy.__qualname__ = name
    copy.__module__ = function.__module__
    return copy


def is_disk_cached(kernel) -> bool:
    """Whether a numba dispatcher keeps its compiled code on disk."""
    import numba.core.caching

    return not isinstance(getattr(kernel, "_cache", None), numba.core.caching.NullCache)
