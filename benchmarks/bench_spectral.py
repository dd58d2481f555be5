"""UMAP's spectral initial layout: umap-learn's solve against didi's, side by side.

umap-learn starts every layout from the smallest eigenvectors of the fuzzy graph's
normalized Laplacian, found by ARPACK's ``eigsh`` with ``√n`` Lanczos vectors and
one-thread products; didi's fits solve the same problem with at most
``MAX_LANCZOS_VECTORS`` Lanczos vectors and the products on every thread
(:mod:`didi.projection._spectral`). For each size the graph is built once; each solve
then runs in a fresh process (its peak memory is its own):

* ``umap-learn``: ``umap.spectral.spectral_layout`` as installed;
* ``didi, 1 thread`` and ``didi, N threads``: the same call within didi's
  ``spectral_threads``.

Reported: seconds, the process's peak RSS during the solve above its RSS before it
(sampled every 5 ms), and the agreement
of each start with umap-learn's: the smallest cosine of the principal angles between
the two 2-D subspaces (1 is the same plane; the layouts' axes may differ by sign).

The graphs: Fashion-MNIST's 70,000 images and, beyond, their shifts by up to two
pixels (as ``bench_torch.py``'s 1,000,000-image map), reduced to 32 principal
components, their 30 nearest neighbours found by NN-descent and made into umap-learn's
fuzzy graph: of the size and degree of the maps' graphs (``n_neighbors=30``), not the
same graphs. Needs Debian's ``dataset-fashion-mnist``. Run::

    python benchmarks/bench_spectral.py                          # 70,000 and 250,000
    python benchmarks/bench_spectral.py --sizes 1000000          # about half an hour
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import scipy.sparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import augmented, machine_info, markdown_table, write_results

N_NEIGHBORS = 30
PCA_COMPONENTS = 32


def augmented_pixels(n: int) -> np.ndarray:
    """``n`` Fashion-MNIST images in [0, 1]: the originals, then shifted copies."""
    from didi.datasets import load_fashion_mnist

    images, labels = load_fashion_mnist("all")
    pixels = np.asarray(images, np.float32).reshape(len(images), -1) / 255
    return augmented(pixels, labels, n)[0]


def fuzzy_graph(n: int) -> scipy.sparse.coo_matrix:
    from pynndescent import NNDescent
    from sklearn.decomposition import PCA
    from umap.umap_ import fuzzy_simplicial_set

    reduced = PCA(PCA_COMPONENTS, svd_solver="randomized", random_state=0).fit_transform(
        augmented_pixels(n)
    )
    index = NNDescent(reduced, n_neighbors=N_NEIGHBORS, random_state=0, low_memory=True)
    indices, distances = index.neighbor_graph
    graph, _, _ = fuzzy_simplicial_set(
        reduced, N_NEIGHBORS, 0, "euclidean", knn_indices=indices, knn_dists=distances
    )
    return graph.tocoo()


class PeakMemory(threading.Thread):
    """The largest resident set of this process while running, sampled every 5 ms,
    above what it was at the start."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.start_bytes = self.peak_bytes = resident_bytes()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.005):
            self.peak_bytes = max(self.peak_bytes, resident_bytes())

    def stop(self) -> float:
        self.done.set()
        self.join()
        return (max(self.peak_bytes, resident_bytes()) - self.start_bytes) / 2**30


def resident_bytes() -> int:
    with open("/proc/self/statm") as stream:
        return int(stream.read().split()[1]) * resource.getpagesize()


def solve(graph_path: str, solver: str, threads: int, out_path: str) -> tuple[float, float]:
    """One start in this (fresh) process: seconds, and GiB of peak RSS above the RSS
    before it."""
    import umap.spectral

    from didi.projection._spectral import spectral_threads

    graph = scipy.sparse.load_npz(graph_path).tocoo()
    if solver == "didi":  # compile (or load) the product's kernel outside the clock
        from didi.projection._spectral_kernels import csr_rows_product

        csr_rows_product(np.zeros(2, np.int32), np.zeros(1, np.int32), np.zeros(1), np.zeros(1),
                         np.zeros(1), 0, 1)  # fmt: skip
    memory = PeakMemory()
    memory.start()
    start = time.perf_counter()
    if solver == "didi":
        with spectral_threads(threads):
            layout = umap.spectral.spectral_layout(None, graph, 2, np.random.RandomState(0))
    else:
        layout = umap.spectral.spectral_layout(None, graph, 2, np.random.RandomState(0))
    seconds = time.perf_counter() - start
    gib = memory.stop()
    np.save(out_path, layout)
    return seconds, gib


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Smallest cosine of the principal angles between the column spaces of a and b."""
    qa, _ = np.linalg.qr(a)
    qb, _ = np.linalg.qr(b)
    return float(np.linalg.svd(qa.T @ qb, compute_uv=False).min())


def main(argv=None) -> None:
    from didi._resources import local_threads
    from didi.projection._spectral import MAX_LANCZOS_VECTORS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[70_000, 250_000])
    parser.add_argument("--name", default="bench_spectral")
    args = parser.parse_args(argv)
    threads = local_threads(None)
    solvers = [("umap-learn", "umap", 1), ("didi, 1 thread", "didi", 1)]
    solvers += [(f"didi, {threads} threads", "didi", threads)] if threads > 1 else []
    context = multiprocessing.get_context("spawn")
    rows, results = [], []
    with tempfile.TemporaryDirectory() as scratch:
        for n in args.sizes:
            clock = time.perf_counter()
            graph = fuzzy_graph(n)
            graph_path = f"{scratch}/graph_{n}.npz"
            scipy.sparse.save_npz(graph_path, graph)
            print(f"{n}: graph in {time.perf_counter() - clock:.1f} s, {graph.nnz} entries")
            layouts = {}
            for label, solver, n_threads in solvers:
                out_path = f"{scratch}/{solver}_{n_threads}_{n}.npy"
                with context.Pool(1) as pool:
                    seconds, gib = pool.apply(solve, (graph_path, solver, n_threads, out_path))
                layouts[label] = np.load(out_path)
                cosine = agreement(layouts[label], layouts["umap-learn"])
                results.append({"n": n, "solver": label, "seconds": seconds,
                                "peak_rss_gib": gib, "agreement": cosine})  # fmt: skip
                rows.append([f"{n:,}", label, f"{seconds:.1f}", f"{gib:.2f}", f"{cosine:.6f}"])
                print(" | ".join(rows[-1]), flush=True)
    data = {"machine": machine_info(), "max_lanczos_vectors": MAX_LANCZOS_VECTORS,
            "n_neighbors": N_NEIGHBORS, "results": results}  # fmt: skip
    table = markdown_table(
        ["samples", "solve", "seconds", "peak RSS added (GiB)", "agreement"], rows
    )
    write_results(args.name, data, table)


if __name__ == "__main__":
    main()
