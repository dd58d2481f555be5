"""The plain Euclidean UMAP behind ``q_knn_e``: the baseline a discriminative map should beat."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from numbers import Integral
from typing import Any

import numpy as np

from .._numba import threadsafe_parallel_kernels
from ..distance._base_distance import (
    base_unit,
    check_magnitudes,
    knn_graph,
    paired_base_distances,
)
from ..projection._umap import fit_umap, fit_umap_later

#: Largest number of samples whose Euclidean UMAP (for ``q_knn_e``) is fitted on
#: exact nearest neighbours found by brute force (``O(n²·d)`` arithmetic in bounded
#: memory); beyond, on those the DiDi distances' ranking found where it did (see
#: :attr:`FisherJSMetric.base_knn_indices_ <didi.FisherJSMetric>`), else umap-learn's
#: own approximate neighbour search is used.
EXACT_EUCLIDEAN_MAX_SAMPLES = 20_000

#: Largest magnitude of the samples at which their Euclidean distances go to UMAP
#: as they are: umap-learn reads distances in float32 (at most about 3.4e38), and
#: its placement of new points fails on distances far above 1e20.
UMAP_SAFE_MAGNITUDE = 2.0**60


def fit_euclidean_umap(
    X: np.ndarray,
    *,
    n_neighbors: int,
    min_dist: float,
    spread: float,
    n_epochs: int | None,
    random_state: Any,
    umap_kwargs: dict | None,
    layout_device: Any = None,
    neighbours: np.ndarray | None = None,
    later: bool = False,
    n_threads: int = 1,
):
    """The plain Euclidean UMAP of the samples, for ``q_knn_e``.

    ``neighbours``, each sample's exact nearest other samples (nearest first), spares
    the neighbour search where they are known. Samples with values too large for
    umap-learn's float32 distances are measured in units of a power of two
    (:func:`euclidean_units`). With ``later``, the layout's gradient descent is held
    back: returns the model and the function that runs it
    (:func:`~didi.projection._umap.fit_umap_later`). ``n_threads`` measure the
    graph's distances and solve the initial layout (the same bits for any number).
    """
    fit = fit_umap_later if later else fit_umap
    kwargs = dict(
        n_neighbors=n_neighbors,
        min_dist=min_dist,
        spread=spread,
        n_epochs=n_epochs,
        random_state=random_state,
        umap_kwargs=umap_kwargs,
        layout_device=layout_device,
        n_threads=n_threads,
    )
    k = min(n_neighbors, len(X))
    if neighbours is not None and neighbours.shape[1] >= k - 1:
        indices = np.hstack([np.arange(len(X))[:, None], neighbours[:, : k - 1]])
        return fit(neighbour_graph(X, X, indices, n_threads=n_threads), **kwargs)
    if len(X) <= EXACT_EUCLIDEAN_MAX_SAMPLES:
        return fit(euclidean_neighbour_graph(X, X, k, n_threads=n_threads), **kwargs)
    X, _ = euclidean_units(X, X)
    return fit(X.reshape(len(X), -1), metric="euclidean", **kwargs)


class EuclideanLayout:
    """The Euclidean UMAP behind ``q_knn_e``, its layout's gradient descent on a thread
    of its own beside the DiDi steps where that cannot change it.

    It does not depend on the classifier, so it can run while the DiDi steps do. With
    ``concurrent`` (see :func:`may_run_beside`), :meth:`start` builds its graph and
    initial layout on the calling thread and runs only the descent, numba code that
    neither reads nor sets what BLAS does, on another thread
    (:func:`~didi.projection._umap.fit_umap_later`): the result is the same to the bit
    as a fit in turn. Otherwise it is fitted when :meth:`result` asks for it, as it
    always was. Where the caller fails before asking, the descent finishes on its
    (daemon) thread unawaited.

    Parameters
    ----------
    fit : callable
        ``fit(neighbours, later=False)`` returns the fitted UMAP; with ``later=True``,
        the model with its initial layout and the function that runs the descent
        (``neighbours``: each sample's exact nearest others, or ``None``).
    concurrent : bool
        Whether :meth:`start` may run the descent on a thread of its own.
    known : object, default=None
        The UMAP where it is known already: nothing is fitted.
    """

    def __init__(self, fit: Callable[..., Any], *, concurrent: bool, known=None):
        self._fit, self._concurrent, self._model = fit, concurrent, known
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        #: Seconds :meth:`start` spent on the calling thread (graph, initial layout).
        self.start_seconds = 0.0

    def start(self, neighbours: np.ndarray | None = None) -> None:
        """Build the graph and initial layout here and begin the descent on another
        thread, if allowed and not begun or known."""
        if not self._concurrent or self._thread is not None or self._model is not None:
            return
        clock = time.perf_counter()
        _, finish = self._fit(neighbours, later=True)
        self.start_seconds += time.perf_counter() - clock
        # A daemon: a fit that fails on the calling thread does not wait for this one.
        self._thread = threading.Thread(
            target=self._run, args=(finish,), name="didi-euclidean-umap", daemon=True
        )
        self._thread.start()

    def _run(self, finish: Callable[[], Any]) -> None:
        try:
            self._model = finish()
        except BaseException as error:  # raised again on the calling thread
            self._error = error

    def result(self, neighbours: np.ndarray | None = None) -> Any:
        """The fitted UMAP: waited for where it was started, else fitted now."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
            if self._error is not None:
                error, self._error = self._error, None
                raise error
        if self._model is None:
            self._model = self._fit(neighbours)
        return self._model


def may_run_beside(random_state: Any, layout_device: Any) -> bool:
    """Whether a Euclidean UMAP's descent may run on a thread of its own, beside the
    rest of a fit, with the same result.

    Not with a ``RandomState`` instance: the Euclidean UMAP, started early, would draw
    from it before the DiDi steps instead of after them. Not with ``layout_device``:
    its layout runs in PyTorch, not held back. And not where numba's parallel kernels
    may not run on two threads at once.
    """
    seeded = random_state is None or (
        isinstance(random_state, Integral) and not isinstance(random_state, bool)
    )
    return seeded and layout_device is None and threadsafe_parallel_kernels()


def euclidean_units(A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``A`` and ``B`` in the base units of ``B``, the fitted samples (see
    :func:`fit_euclidean_umap`); a value of ``A`` beyond them is refused."""
    unit = base_unit(B, UMAP_SAFE_MAGNITUDE)
    check_magnitudes(
        A,
        UMAP_SAFE_MAGNITUDE * unit,
        "its distance to the fitted samples overflows on their scale",
    )
    if unit == 1.0:
        return A, B
    return A / unit, B / unit


def euclidean_neighbour_graph(A: np.ndarray, B: np.ndarray, k: int, *, n_threads: int = 1):
    """Each sample of ``A``'s ``k`` nearest samples of ``B``, as a CSR distance graph.

    scikit-learn's brute-force search finds the neighbours in bounded memory; their
    distances are then recomputed from differences, so that a sample's distance to
    itself is exactly 0 (the product formula leaves about 1e-8·‖x‖), as UMAP expects.
    Distances are in the units :func:`euclidean_units` gives ``B``.
    """
    from sklearn.neighbors import NearestNeighbors

    A, B = euclidean_units(A, B)
    # float64: float32 products misorder neighbours whose distances differ by 1e-4.
    flat_b = B.reshape(len(B), -1).astype(np.float64, copy=False)
    search = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(flat_b)
    flat_a = A.reshape(len(A), -1).astype(np.float64, copy=False)
    indices = search.kneighbors(flat_a, return_distance=False)
    return _graph_in_units(A, B, indices, n_threads)


def neighbour_graph(A: np.ndarray, B: np.ndarray, indices: np.ndarray, *, n_threads: int = 1):
    """The CSR distance graph of each sample of ``A`` to its neighbours ``indices`` among
    ``B``, with distances from differences in the units of :func:`euclidean_units`,
    sorted by distance, ties by index; the distances on up to ``n_threads`` threads."""
    return _graph_in_units(*euclidean_units(A, B), indices, n_threads)


def _graph_in_units(A: np.ndarray, B: np.ndarray, indices: np.ndarray, n_threads: int):
    """:func:`neighbour_graph` of samples already in :func:`euclidean_units`."""
    k = indices.shape[1]
    rows = np.repeat(np.arange(len(A)), k)
    dists = paired_base_distances(
        A, rows, B, indices.ravel(), "euclidean", n_threads=n_threads
    ).reshape(len(A), k)
    order = np.lexsort((indices, dists), axis=1)
    indices = np.take_along_axis(indices, order, axis=1)
    dists = np.take_along_axis(dists, order, axis=1)
    return knn_graph(indices, dists, len(B), with_self=False)
