"""umap-learn's spectral initial layout, solved in less time for large graphs.

umap-learn starts a layout from the smallest eigenvectors of the graph's normalized
Laplacian (``umap.spectral._spectral_layout``): ARPACK's ``eigsh`` with ``ncv = √n``
Lanczos vectors, and each of its Laplacian products on one thread. At 1,000,000
samples that is 8 GB of Lanczos vectors, and minutes of orthogonalising against
them (``benchmarks/bench_spectral.py``). Within :func:`spectral_threads` (didi's
fits), a connected graph's start is solved here instead, with the same Laplacian,
random draws, ``eigsh`` call, tolerance and failure fallback as umap-learn's, except
that

* a large Laplacian's products run in a compiled loop, on ``n_threads`` threads in
  row blocks, each row summed in scipy's order: the same bits on any number of
  threads (where scipy's loop is not compiled into fused multiply-adds, as in its
  x86-64 wheels; a test compares the two);
* beyond :data:`MAX_LANCZOS_VECTORS` ² samples, ``eigsh`` keeps that many Lanczos
  vectors: the same eigenvectors to ARPACK's tolerance, not the same bits.

So up to that size a fit's start is umap-learn's to the bit. Graphs of several
components go through umap-learn's own layout of the components, which comes back
here for each one.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import scipy.sparse
import scipy.sparse.csgraph
import scipy.sparse.linalg

from .._resources import map_blocks
from ._layout_hooks import hooked_function, install_hook

#: Most Lanczos vectors ``eigsh`` keeps (umap-learn keeps ``√n``): past a few dozen,
#: more vectors save few Laplacian products and cost an orthogonalisation against
#: each of them per step.
MAX_LANCZOS_VECTORS = 100

#: Fewest samples whose start is solved here; below, umap-learn's own runs.
MIN_SAMPLES = 1_000

#: Fewest stored entries of the Laplacian worth its products in the compiled loop.
MIN_COMPILED_ENTRIES = 1 << 22

#: Row blocks per thread of a threaded product, so that uneven rows even out.
BLOCKS_PER_THREAD = 4

#: umap-learn's size at which its start switches from ``eigsh`` to ``lobpcg``.
UMAP_EIGSH_MAX_SAMPLES = 2_000_000

#: Threads for this thread's (this context's) spectral starts; ``None``: umap-learn's own.
_THREADS: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "didi_spectral_threads", default=None
)

#: The parameters of ``umap.spectral._spectral_layout`` the hook stands in for.
_UMAP_PARAMETERS = (
    "data", "graph", "dim", "random_state", "metric", "metric_kwds", "init", "method",
    "tol", "maxiter",
)  # fmt: skip


@contextlib.contextmanager
def spectral_threads(n_threads: int) -> Iterator[None]:
    """Within the block (and only in this thread), umap-learn's spectral starts of
    connected graphs are solved by :func:`laplacian_eigenmap` on ``n_threads``."""
    _install()
    token = _THREADS.set(max(1, int(n_threads)))
    try:
        yield
    finally:
        _THREADS.reset(token)


def _install() -> None:
    """Hook :func:`_dispatch` in place of umap-learn's ``_spectral_layout``, once per
    process; an umap-learn whose function takes other parameters is left alone."""
    import umap.spectral

    try:
        parameters = inspect.signature(hooked_function(umap.spectral._spectral_layout)).parameters
    except (TypeError, ValueError):  # not a function whose parameters can be read
        return
    if tuple(parameters) == _UMAP_PARAMETERS:
        install_hook("umap.spectral", "_spectral_layout", "didi_spectral", _dispatch)


def _dispatch(original: Callable) -> Callable:
    def spectral_layout(
        data, graph, dim, random_state, metric="euclidean", metric_kwds={},  # noqa: B006
        init="random", method=None, tol=0.0, maxiter=0,
    ):  # fmt: skip
        threads = _THREADS.get()
        if threads is None or not _solved_here(graph, init, method):
            return original(
                data, graph, dim, random_state, metric=metric, metric_kwds=metric_kwds,
                init=init, method=method, tol=tol, maxiter=maxiter,
            )  # fmt: skip
        return laplacian_eigenmap(
            graph, dim, random_state, tol=tol, maxiter=maxiter, n_threads=threads
        )

    return spectral_layout


def _solved_here(graph, init: str, method: str | None) -> bool:
    """Whether umap-learn would solve this start with ``eigsh`` from a random start,
    and the graph is large enough to gain and connected."""
    n_samples = graph.shape[0]
    return (
        init == "random"
        and method in (None, "", "eigsh")
        and MIN_SAMPLES <= n_samples
        and (method == "eigsh" or n_samples < UMAP_EIGSH_MAX_SAMPLES)
        and scipy.sparse.csgraph.connected_components(graph)[0] == 1
    )


def lanczos_vectors(n_samples: int, k: int) -> int:
    """``eigsh``'s ``ncv``: umap-learn's ``max(2k + 1, √n)``, at most
    :data:`MAX_LANCZOS_VECTORS` (but never below ``2k + 1``)."""
    return max(2 * k + 1, min(int(np.sqrt(n_samples)), MAX_LANCZOS_VECTORS))


def laplacian_eigenmap(
    graph, dim: int, random_state: Any, *, tol: float = 0.0, maxiter: int = 0, n_threads: int = 1
) -> np.ndarray:
    """The ``dim`` smallest non-trivial eigenvectors of the connected ``graph``'s
    normalized Laplacian ``I − D^-½·W·D^-½``, step for step as umap-learn's
    ``_spectral_layout`` (umap-learn 0.5) finds them, with :func:`lanczos_vectors`
    and the products on ``n_threads``. Where ``eigsh`` fails, a uniform random start
    in ``[-10, 10)`` with a warning, as there."""
    n_samples = graph.shape[0]
    sqrt_deg = np.sqrt(np.asarray(graph.sum(axis=0)).squeeze())
    identity = scipy.sparse.identity(n_samples, dtype=np.float64)
    scaling = scipy.sparse.spdiags(1.0 / sqrt_deg, 0, n_samples, n_samples)
    laplacian = (identity - scaling @ graph @ scaling).tocsr()
    k = dim + 1
    generator = (
        random_state
        if isinstance(random_state, (np.random.Generator, np.random.RandomState))
        else np.random.default_rng(seed=random_state)
    )
    try:
        # umap-learn draws a start for lobpcg before it calls eigsh, which does not
        # use it; the draw is kept so that the random state moves on as there.
        generator.normal(size=(n_samples, k))
        values, vectors = scipy.sparse.linalg.eigsh(
            laplacian_operator(laplacian, n_threads),
            k,
            which="SM",
            ncv=lanczos_vectors(n_samples, k),
            tol=tol or 1e-4,
            v0=np.ones(n_samples),
            maxiter=maxiter or n_samples * 5,
        )
    except (scipy.sparse.linalg.ArpackError, UserWarning):  # as umap-learn catches
        warnings.warn(
            "The spectral initial layout failed (ARPACK did not converge, probably too "
            "small an eigengap); falling back to a random one, as umap-learn does.",
            UserWarning,
            stacklevel=2,
        )
        return generator.uniform(low=-10.0, high=10.0, size=(n_samples, dim))
    return vectors[:, np.argsort(values)[1:k]]


def laplacian_operator(laplacian: scipy.sparse.csr_matrix, n_threads: int):
    """``x ↦ laplacian·x`` for ``eigsh``: the matrix itself (scipy's product), or
    where it has at least :data:`MIN_COMPILED_ENTRIES` entries the compiled loop on
    ``n_threads`` threads in row blocks, with the same bits."""
    if laplacian.nnz < MIN_COMPILED_ENTRIES:
        return laplacian
    from ._spectral_kernels import csr_rows_product

    n_rows = laplacian.shape[0]
    block = -(-n_rows // (BLOCKS_PER_THREAD * n_threads))
    indptr, indices, data = laplacian.indptr, laplacian.indices, laplacian.data

    def product(x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float64).ravel()
        out = np.empty(n_rows)
        map_blocks(
            lambda start, stop: csr_rows_product(indptr, indices, data, x, out, start, stop),
            n_rows, block, n_threads,
        )  # fmt: skip
        return out

    return scipy.sparse.linalg.LinearOperator(laplacian.shape, matvec=product, dtype=np.float64)
