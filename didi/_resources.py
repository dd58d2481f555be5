"""Memory and progress: refusing work that cannot fit, reporting work that takes long."""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import contextmanager

#: Float64 matrices of ``n × n`` alive at once in a dense DiDi computation and the
#: UMAP fit that follows it (path lengths, base distances, their combination, and
#: umap-learn's working copy).
DENSE_MATRICES = 4


def available_memory() -> int | None:
    """Bytes of memory available to new allocations, or ``None`` where unknown."""
    try:
        with open("/proc/meminfo") as stream:
            for line in stream:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_dense_memory(n_samples: int, owner: str) -> None:
    """Refuse a dense ``n × n`` computation that would not fit in memory."""
    needed = DENSE_MATRICES * 8 * n_samples**2
    available = available_memory()
    if available is not None and needed > available:
        raise MemoryError(
            f"{owner}: a dense distance computation for {n_samples} samples needs about "
            f"{needed / 2**30:.1f} GiB, but only {available / 2**30:.1f} GiB is available. "
            "Compute the exact k-nearest-neighbour graph instead, whose memory grows "
            "linearly: mode='knn' (FisherUMAP, DecisionMap) or n_neighbors=k "
            "(FisherJSMetric)."
        )


#: Float64 values per cell and class alive at once for a decision map's grid: the
#: probabilities, and normalised entropy's working copy of them.
GRID_VALUES_PER_CLASS = 2


def check_grid_memory(resolution: int, n_classes: int, owner: str) -> None:
    """Refuse a ``resolution × resolution`` grid whose results would not fit in memory."""
    needed = 8 * resolution**2 * (GRID_VALUES_PER_CLASS * n_classes + 2)  # + labels, entropy
    available = available_memory()
    if available is not None and needed > available:
        raise MemoryError(
            f"{owner}: a grid of {resolution} × {resolution} cells for {n_classes} classes "
            f"needs about {needed / 2**30:.1f} GiB, but only {available / 2**30:.1f} GiB is "
            "available. Lower resolution."
        )


@contextmanager
def progress_bar(total: int, description: str, enabled: bool):
    """A tqdm bar when ``enabled``; otherwise an object whose ``update`` does nothing."""
    if not enabled:
        yield _NoBar()
        return
    from tqdm.auto import tqdm

    with tqdm(total=total, desc=description, leave=False) as bar:
        yield bar


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass


def local_threads(n_jobs: int | None) -> int:
    """Threads for work in this process: for ``None`` as many as BLAS has (every core,
    or what joblib leaves a worker of a parallel grid search), else ``n_jobs`` resolved,
    at most the cores here (a cluster backend's worker count says nothing about this
    machine)."""
    from joblib import cpu_count, effective_n_jobs
    from threadpoolctl import threadpool_info

    cores = cpu_count()
    if n_jobs is None:
        blas = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
        return max(1, min(max(blas, default=cores), cores))
    return max(1, min(effective_n_jobs(n_jobs), cores))


def map_blocks(function: Callable[[int, int], None], n: int, block: int, n_threads: int) -> None:
    """``function(start, stop)`` over ``range(0, n, block)``, on up to ``n_threads``
    threads. Each call must write only its own rows: the result is then the same to the
    bit whatever the number of threads (numpy releases the GIL in its loops). Each call
    runs in a copy of the caller's context, so that numpy's error state (``np.errstate``)
    holds there too; the first error is raised here, the blocks not begun cancelled."""
    starts = range(0, n, block)
    threads = min(n_threads, len(starts))
    if threads <= 1:
        for start in starts:
            function(start, min(start + block, n))
        return
    import contextvars
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as pool:
        futures = [
            pool.submit(contextvars.copy_context().run, function, start, min(start + block, n))
            for start in starts
        ]
        try:
            for future in futures:
                future.result()
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
