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


def test_the_layout_epoch_releases_the_gil_and_is_cached_under_a_name_of_its_own():
    cache_umap_kernels()
    layouts = importlib.import_module("umap.layouts")
    epoch = layouts._nb_optimize_layout_euclidean_single_epoch
    assert epoch.targetoptions["nogil"] is True
    assert epoch.targetoptions.get("parallel", False) is False  # umap-learn's own option
    # A copy cached without nogil by an earlier version is never loaded in its place.
    assert epoch.py_func.__qualname__ == "_nb_optimize_layout_euclidean_single_epoch"
    assert epoch.py_func.__code__ is layouts._optimize_layout_euclidean_single_epoch.__code__


def test_two_layouts_on_two_threads_are_those_fitted_one_after_the_other():
    from concurrent.futures import ThreadPoolExecutor

    import umap

    X = np.random.default_rng(1).normal(size=(120, 5))

    def layout(seed):
        return umap.UMAP(n_neighbors=10, n_epochs=60, random_state=seed, n_jobs=1).fit(X).embedding_

    in_turn = [layout(seed) for seed in (0, 1)]
    with ThreadPoolExecutor(2) as pool:
        beside = list(pool.map(layout, (0, 1)))
    for a, b in zip(in_turn, beside, strict=True):
        np.testing.assert_array_equal(a, b)
