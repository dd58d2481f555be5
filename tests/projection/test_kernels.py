"""umap-learn's kernels, swapped for disk-cached copies of the same functions."""

import importlib

import numpy as np

from didi.projection._kernels import UMAP_KERNELS, cache_umap_kernels, is_disk_cached


def test_kernels_are_cached_copies_with_umap_learns_options():
    swapped = cache_umap_kernels()
    assert cache_umap_kernels() is swapped  # once per process
    for module_name, name in UMAP_KERNELS:
        kernel = getattr(importlib.import_module(module_name), name)
        assert is_disk_cached(kernel)
    assert not is_disk_cached(importlib.import_module("umap.umap_").fast_knn_indices)
    smooth = importlib.import_module("umap.umap_").smooth_knn_dist
    # umap-learn's own options are kept: parallel, and its float32 locals.
    assert smooth.targetoptions["parallel"] is True
    assert {"psum", "lo", "mid", "hi"} <= set(smooth.locals)


def test_a_cached_kernel_computes_what_the_python_function_does():
    cache_umap_kernels()
    umap_module = importlib.import_module("umap.umap_")
    distances = np.sort(np.random.default_rng(0).random((50, 6)), axis=1).astype(np.float32)
    distances[:, 0] = 0.0
    sigmas, rhos = umap_module.smooth_knn_dist(distances, 6.0)
    expected_sigmas, expected_rhos = umap_module.smooth_knn_dist.py_func(distances, 6.0)
    np.testing.assert_allclose(sigmas, expected_sigmas, rtol=1e-5)
    np.testing.assert_allclose(rhos, expected_rhos, rtol=1e-6)
